"""`--sbom` end to end: the real CLI and Trivy, the document checked against the official
CycloneDX 1.6 schema and read back by a consumer nobody here wrote, `trivy sbom`."""

from __future__ import annotations

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.cyclonedx import bom_errors, components_by_ref, props
from tests.support.images import build_docker_archive
from tests.support.scan_cli import REPO, one_line_error
from tests.support.scan_cli import scan_cli as scan
from tests.support.trivydb import run_trivy
from tests.test_testbed import IMAGE_CONTENT

EXAMPLES = REPO / "examples"
# A pickle that names os.system (it never calls it): a finding for the model scanner.
NAMES_OS_SYSTEM = b"\x80\x02cos\nsystem\nq\x00."


def make_model(directory: Path) -> Path:
    """A model directory: a config, safetensors weights, a plain pickle and a suspect one."""
    directory.mkdir(parents=True)
    shutil.copy(REPO / "tests/modelscan/fixtures/benign/model.safetensors", directory)
    (directory / "config.json").write_text('{"architectures": ["Tiny"]}\n')
    (directory / "sub").mkdir()
    (directory / "sub" / "state.pkl").write_bytes(pickle.dumps({"step": 3}, protocol=4))
    (directory / "sub" / "hook.pkl").write_bytes(NAMES_OS_SYSTEM)
    return directory


def mlsecops(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m mlsecops ARGS` (hash and friends, which need no Trivy)."""
    return subprocess.run(
        [sys.executable, "-m", "mlsecops", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)},
        check=False,
        timeout=120,
    )


def load_bom(path: Path) -> dict[str, Any]:
    text = path.read_text(encoding="utf-8")
    assert bom_errors(text) == []
    data: dict[str, Any] = json.loads(text)
    return data


def trivy_sbom(trivy_bin: Path, cache: Path, bom: Path) -> set[tuple[str, str, str]]:
    """What Trivy finds in the document on its own: (id, package, installed version)."""
    report = run_trivy(trivy_bin, cache, "sbom", str(bom))
    return {
        (v["VulnerabilityID"], v["PkgName"].lower(), v["InstalledVersion"])
        for result in report.get("Results", [])
        for v in result.get("Vulnerabilities", [])
    }


def vulnerabilities(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {
        (f["id"], f["package"].lower(), f["installed_version"])
        for f in report["findings"]
        if f["kind"] == "vulnerability" and not f["id"].startswith("MLS-")
    }


def test_vulnerable_example_with_a_model_dir_is_a_complete_ml_bom(trivy_bin, trivy_cache, tmp_path):
    """The issue's "done when": valid, every package, every model digest, trivy agrees."""
    model = make_model(tmp_path / "model")
    hashed = mlsecops("hash", "model", "--manifest", "model.mlsecops.json", cwd=tmp_path)
    assert hashed.returncode == 0, hashed.stderr
    manifest = json.loads((tmp_path / "model.mlsecops.json").read_text())
    bom_path, json_path = tmp_path / "bom.cdx.json", tmp_path / "report.json"
    proc = scan(
        trivy_bin,
        trivy_cache,
        str(EXAMPLES / "vulnerable-ml-project"),
        "--model", str(model),
        "--model-manifest", str(tmp_path / "model.mlsecops.json"),
        "--sbom", str(bom_path),
        "--json", str(json_path),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    bom, report = load_bom(bom_path), json.loads(json_path.read_text())
    by_ref = components_by_ref(bom)
    libraries = {(c["name"].lower(), c.get("version")) for c in by_ref.values()}

    # Every package the JSON report names, and every one Trivy lists in the project.
    named = {
        (f["package"].lower(), f["installed_version"] or None)
        for f in report["findings"]
        if f["kind"] == "vulnerability"
    }
    assert named <= libraries
    listed = run_trivy(
        trivy_bin, trivy_cache, "fs", "--list-all-pkgs", str(EXAMPLES / "vulnerable-ml-project")
    )
    trivy_packages = {
        (p["Name"].lower(), p["Version"]) for r in listed["Results"] for p in r["Packages"]
    }
    assert len(trivy_packages) == 7 and trivy_packages <= libraries
    requests = by_ref["pkg:pypi/requests@2.19.1"]
    assert requests["evidence"]["occurrences"] == [
        {"location": "examples/vulnerable-ml-project/requirements.txt", "line": 6}
    ]

    # Every model file, with the digest `mlsecops hash` recorded; linked to that manifest.
    (component,) = [c for c in bom["components"] if c["type"] == "machine-learning-model"]
    files = {c["name"]: c["hashes"][0]["content"] for c in component["components"]}
    assert files == {f["path"]: f["sha256"] for f in manifest["files"]}
    assert props(component, "mlsecops:integrity:manifest-digest") == [
        hashed.stdout.splitlines()[-1]
    ]
    formats = {c["name"]: props(c, "mlsecops:model:format") for c in component["components"]}
    assert formats["model.safetensors"] == ["safetensors"]
    assert formats["sub/state.pkl"] == formats["sub/hook.pkl"] == ["pickle"]
    assert props(component, "mlsecops:model:verdict") == ["fail"]
    assert any("sub/hook.pkl" in text for text in props(component, "mlsecops:model:finding"))

    # A consumer nobody here wrote finds the same vulnerabilities in the document.
    assert vulnerabilities(report)
    assert trivy_sbom(trivy_bin, trivy_cache, bom_path) == vulnerabilities(report)
    assert {v["id"] for v in bom["vulnerabilities"]} == {v[0] for v in vulnerabilities(report)}


def test_conda_image_and_unpinned_dependencies_are_listed_and_read_back(
    trivy_bin, trivy_cache, tmp_path
):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(EXAMPLES / "conda-ml-project" / "environment.yml", project)
    (project / "requirements.txt").write_text("requests==2.19.1\nnumpy>=1.24\n")
    image = build_docker_archive(tmp_path / "image.tar", **IMAGE_CONTENT)
    bom_path, json_path = tmp_path / "bom.cdx.json", tmp_path / "report.json"
    proc = scan(
        trivy_bin, trivy_cache, str(project), "--image", str(image),
        "--sbom", str(bom_path), "--json", str(json_path),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    bom, report = load_bom(bom_path), json.loads(json_path.read_text())
    by_ref = components_by_ref(bom)
    # conda: pytorch=2.5.1 was checked as PyPI's torch, and is listed so.
    torch = by_ref["pkg:pypi/torch@2.5.1"]
    assert props(torch, "mlsecops:conda-package") == ["pytorch"]
    numpy = [
        c for ref, c in by_ref.items() if ref.startswith("unchecked:") and c["name"] == "numpy"
    ]
    assert len(numpy) == 2 and all("version" not in c for c in numpy)
    (container,) = [c for c in bom["components"] if c["type"] == "container"]
    assert container["version"].startswith("sha256:")
    # Debian's advisories are filed under source packages (glibc): Trivy still finds them.
    found = trivy_sbom(trivy_bin, trivy_cache, bom_path)
    assert ("CVE-2023-4911", "libc6", "2.36-9+deb12u1") in found
    assert found == vulnerabilities(report)


def test_a_manifest_of_another_model_is_a_usage_error_before_trivy_runs(
    trivy_bin, trivy_cache, tmp_path
):
    make_model(tmp_path / "a")
    other = tmp_path / "b"
    other.mkdir()
    (other / "x.bin").write_bytes(b"x")
    assert mlsecops("hash", "b", "--manifest", "b.json", cwd=tmp_path).returncode == 0
    proc = scan(
        trivy_bin, trivy_cache, str(EXAMPLES / "clean-ml-project"), "--model", str(tmp_path / "a"),
        "--model-manifest", str(tmp_path / "b.json"), "--sbom", str(tmp_path / "bom.json"),
    )  # fmt: skip
    assert proc.returncode == 2
    assert "describes none of the --model paths" in one_line_error(proc)
    assert not (tmp_path / "bom.json").exists()


def test_model_manifest_without_sbom_is_a_usage_error(trivy_bin, trivy_cache, tmp_path):
    proc = scan(trivy_bin, trivy_cache, ".", "--model-manifest", "m.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert "no --sbom" in one_line_error(proc)


@pytest.mark.parametrize("single_file", [False, True])
def test_hash_sbom_is_the_model_component_alone(tmp_path, single_file):
    model = make_model(tmp_path / "model")
    target = "model/sub/state.pkl" if single_file else "model"
    proc = mlsecops("hash", target, "--manifest", "m.json", "--sbom", "m.cdx.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1].startswith("sha256:")  # still the last line
    bom = load_bom(tmp_path / "m.cdx.json")
    component = bom["metadata"]["component"]
    assert "components" not in bom
    assert component["type"] == "machine-learning-model"
    assert props(component, "mlsecops:integrity:manifest-digest") == [proc.stdout.split()[-1]]
    manifest = json.loads((tmp_path / "m.json").read_text())
    if single_file:
        assert component["hashes"] == [
            {"alg": "SHA-256", "content": manifest["files"][0]["sha256"]}
        ]
    else:
        files = {c["name"]: c["hashes"][0]["content"] for c in component["components"]}
        assert files == {f["path"]: f["sha256"] for f in manifest["files"]}
        assert len(files) == len(list(model.rglob("*.*")))


def test_hash_refuses_an_sbom_inside_the_model(tmp_path):
    make_model(tmp_path / "model")
    proc = mlsecops("hash", "model", "--manifest", "m.json", "--sbom", "model/b.json", cwd=tmp_path)
    assert proc.returncode == 2
    assert "--sbom" in proc.stderr and "inside the model" in proc.stderr


def test_vulnerabilities_carry_the_dbs_cvss_vectors_cwes_and_the_policys_analysis(
    trivy_bin, trivy_cache, tmp_path
):
    """Issue 17's vulnerabilities: ratings with vectors, CWEs, the ignore entry's analysis."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLES / "vulnerable-ml-project", project)
    (project / ".mlsecops.yml").write_text(
        "version: 1\nignore:\n"
        "  - id: CVE-2018-18074\n    reason: our client never follows redirects\n"
        "    state: not_affected\n    justification: code_not_reachable\n"
        "    expires: 2099-12-31\n"
        "  - id: CVE-2020-14343\n    reason: accepted until the PyYAML upgrade\n"
    )
    bom_path = tmp_path / "bom.cdx.json"
    proc = scan(trivy_bin, trivy_cache, str(project), "--sbom", str(bom_path), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    vulns = {v["id"]: v for v in load_bom(bom_path)["vulnerabilities"]}

    requests = vulns["CVE-2018-18074"]  # tests/fixtures/advisories.yaml: ghsa's CVSS 3.1
    assert requests["ratings"] == [
        {"severity": "high", "score": 7.5},
        {
            "source": {"name": "ghsa"},
            "score": 7.5,
            "method": "CVSSv31",
            "vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
        },
    ]
    assert requests["cwes"] == [522]
    assert requests["analysis"] == {
        "state": "not_affected",
        "justification": "code_not_reachable",
        "detail": "our client never follows redirects (ignored until 2099-12-31)",
    }
    assert vulns["CVE-2020-14343"]["analysis"] == {
        "state": "in_triage",
        "detail": "accepted until the PyYAML upgrade",
    }
    assert all(
        "analysis" not in v
        for i, v in vulns.items()
        if i not in ("CVE-2018-18074", "CVE-2020-14343")
    )
