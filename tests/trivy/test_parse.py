"""Trivy's JSON -> typed results, on what the real Trivy writes for the fixture projects."""

from __future__ import annotations

from pathlib import Path

from mlsecops.core.findings import TargetType
from mlsecops.trivy.results import ResultClass
from mlsecops.trivy.run import Trivy, TrivyOptions
from tests.support.images import build_docker_archive, build_oci_layout
from tests.test_testbed import IMAGE_CONTENT

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


def trivy(trivy_bin: Path, cache: Path) -> Trivy:
    return Trivy(TrivyOptions(trivy_bin, cache, offline=True))


def test_a_requirements_file_lists_every_pin_with_its_line(trivy_bin, trivy_cache):
    run = trivy(trivy_bin, trivy_cache).fs(FIXTURES / "requirements")
    [result] = run.results
    assert (result.target, result.result_class, result.type) == (
        "requirements.txt",
        ResultClass.LANGUAGE_PACKAGES,
        "pip",
    )
    pyyaml = next(p for p in result.packages if p.name == "PyYAML")
    assert (pyyaml.version, pyyaml.lines, pyyaml.dev) == ("5.3.1", (3, 3), False)
    assert pyyaml.uid  # what a vulnerability cites
    # The findings are named by Trivy's target and carry the package's line.
    finding = next(f for f in result.findings if f.id == "CVE-2020-14343")
    assert (finding.target, finding.package, finding.line) == ("requirements.txt", "PyYAML", 3)


def test_findings_are_renamed_for_the_report_and_kept_once(trivy_bin, trivy_cache):
    run = trivy(trivy_bin, trivy_cache).fs(FIXTURES / "requirements")
    findings = run.findings(lambda target: f"svc/{target}", TargetType.IMAGE)
    assert {f.target for f in findings} == {"svc/requirements.txt"}
    assert {f.target_type for f in findings} == {TargetType.IMAGE}
    # Trivy's own name for the target is kept as the location when the report's differs.
    assert {f.location for f in findings} == {"requirements.txt"}
    keys = [(f.id, f.package, f.installed_version) for f in findings]
    assert len(keys) == len(set(keys)) == 9


def test_an_empty_project_has_no_results(trivy_bin, trivy_cache, tmp_path):
    run = trivy(trivy_bin, trivy_cache).fs(tmp_path)
    assert run.results == ()
    assert run.findings(str) == []


def test_an_os_package_is_placed_in_its_os_not_in_the_path_trivy_read(
    trivy_bin, trivy_cache, tmp_path
):
    layout = build_oci_layout(tmp_path / "mlsecops-oci-x", dpkg=[("libc6", "glibc", "2.36-9")])
    run = trivy(trivy_bin, trivy_cache).image_input(layout, tmp_path)
    findings = run.findings(lambda _target: "app.tar", TargetType.IMAGE)
    assert findings
    # Trivy names the result `<layout dir> (debian 12)`: a temp dir for an OCI tarball.
    assert {f.location for f in findings} == {"debian 12"}


def test_an_image_run_carries_its_digests_and_each_os_packages_full_version_and_source(
    trivy_bin, trivy_cache, tmp_path
):
    image = build_docker_archive(tmp_path / "image.tar", **IMAGE_CONTENT)
    run = trivy(trivy_bin, trivy_cache).image_input(image, tmp_path)
    assert run.metadata.image_id.startswith("sha256:")
    assert run.metadata.repo_tags == ("example/ml:1.0",)
    assert run.metadata.os == "debian 12"
    assert len(run.metadata.diff_ids) == 1
    packages = {p.name: p for _, p in run.packages()}
    zlib = packages["zlib1g"]
    # Trivy's Version is the upstream part only; findings give epoch:version-release.
    assert (zlib.version, zlib.full_version) == ("1.2.13.dfsg", "1:1.2.13.dfsg-1")
    assert zlib.source == ("zlib", "1.2.13.dfsg", "1", 1)
    assert packages["libc6"].purl.startswith("pkg:deb/debian/libc6@2.36-9%2Bdeb12u1")
    assert packages["torch"].full_version == "2.5.1" and packages["torch"].source is None
