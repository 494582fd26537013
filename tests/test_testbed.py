"""The test bed itself, proven against the real Trivy: our DB, fixture projects and images.

Expected findings are written out in full: they are the table in tests/support/README.md,
and other tests may rely on them.
"""

from __future__ import annotations

import json
import struct
import tarfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.support.bolt import PAGE_SIZE, Bucket, fnv1a64, write_bolt
from tests.support.images import (
    build_docker_archive,
    build_oci_layout,
    build_oci_tarball,
)
from tests.support.trivydb import (
    Advisory,
    TrivyFailed,
    build_trivy_db,
    build_trivy_db_from,
    load_advisories,
    run_trivy,
    synthetic_advisories,
)

PROJECTS = Path(__file__).parent / "fixtures" / "projects"

# (id, package, installed, fixed, severity) as Trivy reports them.
Finding = tuple[str, str, str, str, str]

REQUIREMENTS: set[Finding] = {
    ("CVE-2020-14343", "PyYAML", "5.3.1", "5.4", "CRITICAL"),
    ("CVE-2023-1177", "mlflow", "2.1.1", "2.2.1", "CRITICAL"),
    ("CVE-2023-48022", "ray", "2.9.0", "", "CRITICAL"),
    ("CVE-2018-18074", "requests", "2.19.1", "2.20.0", "HIGH"),
    ("CVE-2023-32681", "requests", "2.19.1", "2.31.0", "MEDIUM"),
    ("CVE-2021-41228", "tensorflow", "2.5.1", "2.4.4, 2.5.2, 2.6.1", "HIGH"),
    ("CVE-2025-32434", "torch", "2.5.1", "2.6.0", "CRITICAL"),
    ("CVE-2024-34062", "tqdm", "4.66.1", "4.66.3", "LOW"),
    ("CVE-2024-3568", "transformers", "4.37.2", "4.38.0", "LOW"),
}
POETRY: set[Finding] = {
    ("CVE-2023-50447", "pillow", "10.1.0", "10.2.0", "HIGH"),
    ("CVE-2023-43804", "urllib3", "2.0.5", "1.26.17, 2.0.6", "MEDIUM"),
}
POETRY_DEV: set[Finding] = {
    ("CVE-2024-22195", "jinja2", "3.1.2", "3.1.3", "MEDIUM"),
    ("CVE-2024-34064", "jinja2", "3.1.2", "3.1.4", "MEDIUM"),
}
UV: set[Finding] = {
    ("CVE-2024-5206", "scikit-learn", "1.4.2", "1.5.0", "MEDIUM"),
    ("CVE-2024-34062", "tqdm", "4.66.1", "4.66.3", "LOW"),
}
UV_DEV: set[Finding] = {("CVE-2020-14343", "pyyaml", "5.3.1", "5.4", "CRITICAL")}
PIPFILE: set[Finding] = {
    ("CVE-2020-14343", "pyyaml", "5.3.1", "5.4", "CRITICAL"),
    ("CVE-2023-32681", "requests", "2.25.1", "2.31.0", "MEDIUM"),
}

# The image used for every image format: Debian 12 with an old glibc and zlib, plus pip packages.
IMAGE_CONTENT: dict[str, Any] = {
    "dpkg": [
        ("libc6", "glibc", "2.36-9+deb12u1"),
        ("libc-bin", "glibc", "2.36-9+deb12u1"),
        ("zlib1g", "zlib", "1:1.2.13.dfsg-1"),
        ("bash", "bash", "5.2.15-2+b2"),
    ],
    "python_packages": [("requests", "2.19.1"), ("torch", "2.5.1"), ("PyYAML", "6.0.2")],
}
IMAGE_OS: set[Finding] = {
    ("CVE-2023-4911", "libc6", "2.36-9+deb12u1", "2.36-9+deb12u3", "HIGH"),
    ("CVE-2023-4911", "libc-bin", "2.36-9+deb12u1", "2.36-9+deb12u3", "HIGH"),
    ("CVE-2010-4756", "libc6", "2.36-9+deb12u1", "", "LOW"),
    ("CVE-2010-4756", "libc-bin", "2.36-9+deb12u1", "", "LOW"),
    ("CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", "", "CRITICAL"),
}
IMAGE_PYTHON: set[Finding] = {
    ("CVE-2018-18074", "requests", "2.19.1", "2.20.0", "HIGH"),
    ("CVE-2023-32681", "requests", "2.19.1", "2.31.0", "MEDIUM"),
    ("CVE-2025-32434", "torch", "2.5.1", "2.6.0", "CRITICAL"),
}


def findings(result: Mapping[str, Any]) -> set[Finding]:
    return {
        (
            v["VulnerabilityID"],
            v["PkgName"],
            v["InstalledVersion"],
            v.get("FixedVersion", ""),
            v["Severity"],
        )
        for v in result.get("Vulnerabilities", [])
    }


def results_by_target(report: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {result["Target"]: result for result in report.get("Results", [])}


# --------------------------------------------------------------------------- the DB files


def test_db_files_have_trivys_layout(tmp_path: Path) -> None:
    db_dir = build_trivy_db(tmp_path)

    assert db_dir == tmp_path / "db"
    metadata = json.loads((db_dir / "metadata.json").read_text())
    assert metadata["Version"] == 2
    assert metadata["NextUpdate"] > metadata["UpdatedAt"] == metadata["DownloadedAt"]
    data = (db_dir / "trivy.db").read_bytes()
    assert len(data) % PAGE_SIZE == 0
    magic, version, page_size = struct.unpack_from("<III", data, 16)
    assert (magic, version, page_size) == (0xED0CDAED, 2, PAGE_SIZE)


def test_fixture_advisories_cover_what_the_tests_need() -> None:
    advisories = {a.id: a for a in load_advisories()}

    assert len(advisories) >= 14
    assert advisories["CVE-2018-18074"].vulnerable == ("< 2.20.0",)
    assert advisories["CVE-2018-18074"].patched == ("2.20.0",)
    assert len(advisories["CVE-2021-41228"].vulnerable) == 3
    assert advisories["CVE-2023-48022"].patched == ()
    assert advisories["CVE-2023-45853"].status == "will_not_fix"
    assert advisories["CVE-2010-4756"].status == "affected"
    levels = {level for a in advisories.values() for level in a.severity.values()}
    assert {"LOW", "MEDIUM", "HIGH", "CRITICAL"} <= levels


def test_advisory_rejects_a_pip_entry_without_ranges() -> None:
    with pytest.raises(ValueError, match="vulnerable ranges"):
        Advisory(id="CVE-0000-0001", ecosystem="pip", packages=("x",))


# --------------------------------------------------------------------------- projects


@pytest.mark.parametrize(
    ("project", "target", "kind", "expected"),
    [
        ("requirements", "requirements.txt", "pip", REQUIREMENTS),
        ("poetry", "poetry.lock", "poetry", POETRY),
        ("uv", "uv.lock", "uv", UV),
        ("pipfile", "Pipfile.lock", "pipenv", PIPFILE),
    ],
)
def test_trivy_finds_the_expected_vulnerabilities_in_each_project(
    trivy_bin: Path,
    trivy_cache: Path,
    project: str,
    target: str,
    kind: str,
    expected: set[Finding],
) -> None:
    report = run_trivy(trivy_bin, trivy_cache, "fs", str(PROJECTS / project))

    assert report["ArtifactType"] == "filesystem"
    [result] = report["Results"]
    assert (result["Target"], result["Class"], result["Type"]) == (target, "lang-pkgs", kind)
    assert findings(result) == expected


def test_severity_comes_from_the_data_source_and_is_labelled_so(
    trivy_bin: Path, trivy_cache: Path
) -> None:
    report = run_trivy(trivy_bin, trivy_cache, "fs", str(PROJECTS / "requirements"))

    [result] = report["Results"]
    by_id = {v["VulnerabilityID"]: v for v in result["Vulnerabilities"]}
    requests_leak = by_id["CVE-2018-18074"]
    assert requests_leak["SeveritySource"] == "ghsa"
    assert requests_leak["DataSource"]["ID"] == "ghsa"
    assert requests_leak["VendorIDs"] == ["GHSA-x84v-xcm2-53pg"]
    assert requests_leak["CVSS"]["ghsa"]["V3Score"] == 7.5
    assert by_id["CVE-2025-32434"]["CVSS"]["ghsa"]["V40Score"] == 9.3
    assert by_id["CVE-2023-48022"]["Status"] == "affected"  # no patched version
    assert by_id["CVE-2020-14343"]["Status"] == "fixed"


def test_dev_dependencies_are_only_scanned_on_request(trivy_bin: Path, trivy_cache: Path) -> None:
    poetry = run_trivy(trivy_bin, trivy_cache, "fs", "--include-dev-deps", str(PROJECTS / "poetry"))
    uv = run_trivy(trivy_bin, trivy_cache, "fs", "--include-dev-deps", str(PROJECTS / "uv"))
    pipfile = run_trivy(
        trivy_bin, trivy_cache, "fs", "--include-dev-deps", str(PROJECTS / "pipfile")
    )

    assert findings(poetry["Results"][0]) == POETRY | POETRY_DEV
    assert findings(uv["Results"][0]) == UV | UV_DEV
    assert findings(pipfile["Results"][0]) == PIPFILE  # Trivy never reads Pipfile.lock "develop"


def test_clean_project_has_a_result_without_vulnerabilities(
    trivy_bin: Path, trivy_cache: Path
) -> None:
    report = run_trivy(trivy_bin, trivy_cache, "fs", str(PROJECTS / "clean"))

    [result] = report["Results"]
    assert result["Target"] == "requirements.txt"
    assert len(result["Packages"]) == 7
    assert "Vulnerabilities" not in result  # absent, not an empty list


def test_nothing_to_scan_gives_a_report_without_results(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["torch"]\n')

    report = run_trivy(trivy_bin, trivy_cache, "fs", str(tmp_path))

    assert "Results" not in report  # absent, not an empty list


def test_a_malformed_poetry_lock_is_skipped_silently(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    (tmp_path / "poetry.lock").write_text('[[package]\nname = "torch"\n')

    report = run_trivy(trivy_bin, trivy_cache, "fs", str(tmp_path))

    assert "Results" not in report  # exit 0; the parse error is only logged at --debug


# --------------------------------------------------------------------------- images


def assert_image_findings(report: Mapping[str, Any], target: str) -> None:
    results = results_by_target(report)
    assert report["ArtifactType"] == "container_image"
    assert report["Metadata"]["OS"] == {"Family": "debian", "Name": "12"}
    os_result = results[f"{target} (debian 12)"]
    assert (os_result["Class"], os_result["Type"]) == ("os-pkgs", "debian")
    assert findings(os_result) == IMAGE_OS
    python_result = results["Python"]
    assert (python_result["Class"], python_result["Type"]) == ("lang-pkgs", "python-pkg")
    assert findings(python_result) == IMAGE_PYTHON


@pytest.mark.parametrize("gzip", [False, True], ids=["tar", "tar.gz"])
def test_trivy_scans_the_docker_archive(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path, gzip: bool
) -> None:
    archive = build_docker_archive(
        tmp_path / ("image.tar.gz" if gzip else "image.tar"), gzip=gzip, **IMAGE_CONTENT
    )

    report = run_trivy(trivy_bin, trivy_cache, "image", "--input", str(archive))

    assert report["Metadata"]["RepoTags"] == ["example/ml:1.0"]
    assert_image_findings(report, str(archive))


def test_trivy_scans_the_oci_layout_directory(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    layout = build_oci_layout(tmp_path / "layout", **IMAGE_CONTENT)

    report = run_trivy(trivy_bin, trivy_cache, "image", "--input", str(layout))

    assert_image_findings(report, str(layout))


def test_an_oci_tarball_must_be_extracted_before_trivy_reads_it(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    tarball = build_oci_tarball(tmp_path / "image-oci.tar", **IMAGE_CONTENT)

    with pytest.raises(TrivyFailed, match=r"manifest\.json not found"):
        run_trivy(trivy_bin, trivy_cache, "image", "--input", str(tarball))
    with tarfile.open(tarball) as tar:
        tar.extractall(tmp_path / "extracted", filter="data")
    report = run_trivy(trivy_bin, trivy_cache, "image", "--input", str(tmp_path / "extracted"))

    assert_image_findings(report, str(tmp_path / "extracted"))


def test_images_are_byte_for_byte_reproducible(tmp_path: Path) -> None:
    first = build_docker_archive(tmp_path / "a.tar", gzip=True, **IMAGE_CONTENT)
    second = build_docker_archive(tmp_path / "b.tar", gzip=True, **IMAGE_CONTENT)
    third = build_oci_tarball(tmp_path / "c.tar", **IMAGE_CONTENT)
    fourth = build_oci_tarball(tmp_path / "d.tar", **IMAGE_CONTENT)

    assert first.read_bytes() == second.read_bytes()
    assert third.read_bytes() == fourth.read_bytes()


# --------------------------------------------------------------------------- scale and format


def test_a_db_with_20000_packages_builds_and_trivy_uses_it(trivy_bin: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    build_trivy_db_from(cache, [*synthetic_advisories(20_000), *load_advisories()])
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(
        "mlpkg-00000==0.9.0\nmlpkg-19999==0.1.0\nmlpkg-10000==1.0.0\nrequests==2.19.1\n"
    )

    report = run_trivy(trivy_bin, cache, "fs", str(project))

    assert {(v[0], v[1]) for v in findings(report["Results"][0])} == {
        ("GHSA-fake-00000", "mlpkg-00000"),
        ("GHSA-fake-19999", "mlpkg-19999"),
        ("CVE-2018-18074", "requests"),
        ("CVE-2023-32681", "requests"),
    }


def test_a_value_larger_than_a_page_reaches_trivy_intact(trivy_bin: Path, tmp_path: Path) -> None:
    description = "".join(f"line {i}: the description spans several pages.\n" for i in range(900))
    assert len(description) > 8 * PAGE_SIZE
    advisory = Advisory(
        id="CVE-2099-0001",
        ecosystem="pip",
        packages=("bigdesc",),
        vulnerable=("< 2.0",),
        patched=("2.0",),
        severity={"ghsa": "HIGH"},
        description=description,
    )
    build_trivy_db_from(tmp_path / "cache", [advisory])
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "requirements.txt").write_text("bigdesc==1.0\n")

    report = run_trivy(trivy_bin, tmp_path / "cache", "fs", str(tmp_path / "project"))

    [vulnerability] = report["Results"][0]["Vulnerabilities"]
    assert vulnerability["Description"] == description


def read_bolt(path: Path) -> dict[bytes, Any]:
    """A minimal bbolt reader, to check the writer's structure independently of Trivy."""
    data = path.read_bytes()

    def page(page_id: int) -> tuple[int, int, int]:
        _, flags, count, _ = struct.unpack_from("<QHHI", data, page_id * PAGE_SIZE)
        return page_id * PAGE_SIZE, flags, count

    def bucket(page_id: int) -> dict[bytes, Any]:
        offset, flags, count = page(page_id)
        items: dict[bytes, Any] = {}
        for i in range(count):
            element = offset + 16 + 16 * i
            if flags == 0x01:  # branch
                pos, ksize, child = struct.unpack_from("<IIQ", data, element)
                items.update(bucket(child))
                continue
            assert flags == 0x02
            eflags, pos, ksize, vsize = struct.unpack_from("<IIII", data, element)
            key = data[element + pos : element + pos + ksize]
            value = data[element + pos + ksize : element + pos + ksize + vsize]
            items[key] = bucket(struct.unpack_from("<Q", value)[0]) if eflags & 1 else value
        return items

    meta = data[PAGE_SIZE + 16 : PAGE_SIZE + 16 + 56]
    assert struct.unpack_from("<Q", data, PAGE_SIZE + 16 + 56)[0] == fnv1a64(meta)
    root = struct.unpack_from("<IIIIQ", meta)[4]
    return bucket(root)


def test_bolt_round_trips_nested_spilled_and_oversized_buckets(tmp_path: Path) -> None:
    many: dict[bytes, bytes] = {f"key-{i:05d}".encode(): b"v" * (i % 50) for i in range(5000)}
    buckets: dict[bytes, Bucket] = {
        b"flat": many,
        b"nested": {b"a": {b"b": {b"c": b"deep", b"empty": {}}}, b"plain": b"x"},
        b"big": {b"huge": bytes(range(256)) * 100},  # 25 KiB: one page plus overflow pages
    }
    write_bolt(tmp_path / "test.db", buckets)

    assert read_bolt(tmp_path / "test.db") == buckets
