"""--resolve: pip resolves requirements against a local index, the real Trivy scans the tree.

The index is real (PEP 503 pages over real wheels, served on 127.0.0.1 by pytest-httpserver):
`mlserve` is our own top-level package, unpinned in requirements.txt, that depends on
requests 2.19.1, which depends on urllib3 2.0.5. Trivy alone sees only the pinned tqdm.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from mlsecops.deps.requirements_txt import read_requirements
from mlsecops.deps.resolve import Resolved, reached_from
from tests.support.cyclonedx import bom_errors
from tests.support.scan_cli import findings_by_id, load_report, one_line_error, scan_cli
from tests.support.wheels import SimpleIndex, build_wheel

REQUIREMENTS = """\
# the model server, and a progress bar
mlserve>=1.0
tqdm==4.66.1
"""


@pytest.fixture
def index_url(httpserver, tmp_path: Path) -> str:
    wheels = tmp_path / "wheels"
    index = SimpleIndex.of(
        [
            build_wheel(wheels, "mlserve", "0.9"),
            build_wheel(wheels, "mlserve", "1.0", ["requests==2.19.1"]),
            build_wheel(wheels, "requests", "2.19.1", ["urllib3<2.1,>=2.0"]),
            build_wheel(wheels, "urllib3", "2.0.5"),
            build_wheel(wheels, "tqdm", "4.66.1"),
        ]
    )
    for path, (content_type, body) in index.pages.items():
        httpserver.expect_request(path).respond_with_data(body, content_type=content_type)
    return httpserver.url_for("/simple/")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "service"
    root.mkdir()
    (root / "requirements.txt").write_text(REQUIREMENTS)
    return root


def test_without_resolve_the_unpinned_requirement_is_reported_not_checked(
    trivy_bin, trivy_cache, project, tmp_path
):
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    # Only tqdm (LOW) is visible to Trivy: the gate passes, and the gap is on record.
    assert proc.returncode == 0, proc.stderr
    found = findings_by_id(load_report(out))
    assert set(found) == {("CVE-2024-34062", "tqdm"), ("MLS-UNPINNED", "mlserve")}
    unpinned = found[("MLS-UNPINNED", "mlserve")]
    assert unpinned["severity"] == "UNKNOWN"
    assert unpinned["kind"] == "vulnerability"
    assert unpinned["line"] == 2
    assert unpinned["fails_gate"] is False
    assert "not pinned" in unpinned["title"]
    assert "--resolve" in unpinned["fix"]
    assert unpinned["properties"]["spec"] == ">=1.0"


def test_resolve_reveals_the_transitive_vulnerabilities(
    trivy_bin, trivy_cache, project, tmp_path, index_url
):
    out = tmp_path / "r.json"
    summary = tmp_path / "summary.md"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url,
        "--json", str(out), "--summary", str(summary),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    found = findings_by_id(data)
    assert set(found) == {
        ("CVE-2018-18074", "requests"),
        ("CVE-2023-32681", "requests"),
        ("CVE-2023-43804", "urllib3"),
        ("CVE-2024-34062", "tqdm"),
    }
    target = f"{project}/requirements.txt"
    assert {f["target"] for f in data["findings"]} == {target}
    high = found[("CVE-2018-18074", "requests")]
    assert (high["severity"], high["installed_version"], high["fixed_version"]) == (
        "HIGH",
        "2.19.1",
        "2.20.0",
    )
    # Attributed to the requirement that pulls it in, on that requirement's line.
    assert high["line"] == 2
    assert high["title"].endswith("(via mlserve)")
    assert high["properties"] == {
        "resolved_by": "pip",
        "dependency": "transitive",
        "via": "mlserve",
    }
    assert high["fails_gate"] is True
    # Two levels down (mlserve -> requests -> urllib3) is still mlserve's doing.
    urllib3 = found[("CVE-2023-43804", "urllib3")]
    assert urllib3["properties"]["via"] == "mlserve"
    assert urllib3["installed_version"] == "2.0.5"
    assert urllib3["line"] == 2
    tqdm = found[("CVE-2024-34062", "tqdm")]
    assert tqdm["properties"]["dependency"] == "direct"
    assert tqdm["line"] == 3
    assert "(via" not in tqdm["title"]
    # Resolved, so nothing is left unchecked, and the report says how it was resolved.
    assert not any(f["id"] == "MLS-UNPINNED" for f in data["findings"])
    assert any("resolved with pip for Python 3." in note for note in data["notes"])
    assert "(via mlserve)" in summary.read_text()


def test_resolve_still_checks_a_pin_pip_skips_for_this_python(
    trivy_bin, trivy_cache, project, tmp_path, index_url
):
    # pip skips a requirement whose environment marker does not match this interpreter; the
    # pin is still what gets installed elsewhere, so its advisories must not vanish.
    (project / "requirements.txt").write_text(
        'mlserve>=1.0\ntqdm==4.66.1 ; sys_platform == "win32"\n'
    )
    out = tmp_path / "r.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url,
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    found = findings_by_id(data)
    assert ("CVE-2018-18074", "requests") in found  # the resolution is still scanned
    tqdm = found[("CVE-2024-34062", "tqdm")]
    assert (tqdm["line"], tqdm["installed_version"]) == (2, "4.66.1")
    assert tqdm["properties"]["dependency"] == "direct"
    assert tqdm["properties"]["resolved_by"] == "pin"
    notes = [n for n in data["notes"] if "pip does not install" in n]
    assert len(notes) == 1, data["notes"]
    assert "tqdm==4.66.1" in notes[0]
    assert "checked at the pinned version" in notes[0]


def test_resolve_also_reads_requirements_dev(trivy_bin, trivy_cache, project, tmp_path, index_url):
    # Trivy itself reads only requirements.txt; requirements-dev.txt is resolved as well.
    (project / "requirements-dev.txt").write_text("urllib3==2.0.5\n")
    out = tmp_path / "r.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url,
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    dev = [f for f in data["findings"] if f["target"].endswith("/requirements-dev.txt")]
    assert [(f["id"], f["line"], f["properties"]["resolved_by"]) for f in dev] == [
        ("CVE-2023-43804", 1, "pip")
    ]
    assert any("requirements-dev.txt: resolved with pip for Python" in n for n in data["notes"])


def test_a_file_pip_cannot_resolve_falls_back_to_its_pins(
    trivy_bin, trivy_cache, project, tmp_path, index_url
):
    # One unresolvable file no longer ends the scan: its pins are checked as without
    # --resolve, what pip would have added is "unresolved", and the other files resolve.
    (project / "requirements-gpu.txt").write_text("no-such-package==1.0\nrequests==2.19.1\n")
    (project / "requirements-extra.txt").write_text("mlserve\nno-such-package\n")
    # What ended whole scans before (issue 14 item 2): `-e .` with no setup.py, an SSH VCS
    # link. Neither reaches pip; the rest of the file resolves.
    (project / "requirements-vcs.txt").write_text(
        "-e .\n-e git+git@github.com:org/lib.git#egg=lib\nmlserve\n"
    )
    out = tmp_path / "r.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url,
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    gpu = f"{project}/requirements-gpu.txt"
    found = {(f["id"], f["target"]) for f in data["findings"]}
    assert ("CVE-2018-18074", gpu) in found  # the pin, checked all the same
    assert ("CVE-2023-43804", f"{project}/requirements.txt") in found  # resolved: urllib3
    assert ("CVE-2023-43804", f"{project}/requirements-vcs.txt") in found
    notes = [n for n in data["notes"] if "pip could not resolve" in n]
    assert [n.split(":")[0].rsplit("/", 1)[-1] for n in notes] == [
        "requirements-extra.txt",
        "requirements-gpu.txt",
    ]
    assert all("no-such-package" in n for n in notes)
    vcs = [i["name"] for i in data["coverage"]["not_checked"] if i["target"].endswith("vcs.txt")]
    assert vcs == ["-e .", "-e git+git@github.com:org/lib.git#egg=lib"]
    unresolved = [i for i in data["coverage"]["not_checked"] if i["reason"] == "unresolved"]
    assert [(i["name"], i["line"]) for i in unresolved] == [("mlserve", 1), ("no-such-package", 2)]
    assert all(i["detail"].startswith("pip: ") for i in unresolved)


def test_resolve_offline_needs_an_index(trivy_bin, trivy_cache, project):
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--resolve")
    assert proc.returncode == 2
    assert "--index-url" in one_line_error(proc)


def test_index_url_defaults_to_mlsecops_index_url(trivy_bin, trivy_cache, project, index_url):
    # The action hands the URL over in the environment: it may carry a token, argv is public.
    env = {"MLSECOPS_INDEX_URL": index_url}
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--resolve", "--fail-on", "NONE", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "CVE-2023-43804" in proc.stdout  # urllib3, only reachable through the resolution


def test_attribution_walks_the_tree_in_requirement_order():
    packages = [
        Resolved("web", "1", True, ("requests",)),
        Resolved("ml", "1", True, ("numpy", "requests")),
        Resolved("requests", "2", False, ("urllib3", "idna")),
        Resolved("urllib3", "2", False),
        Resolved("idna", "3", False),
        Resolved("numpy", "1", False),
        Resolved("orphan", "1", False),
    ]
    reached = reached_from(packages, order=["ml", "web"])
    assert reached == {
        "numpy": ["ml"],
        "requests": ["ml", "web"],
        "urllib3": ["ml", "web"],
        "idna": ["ml", "web"],
    }


def test_requirements_reader_pins_like_trivy(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(
        "-r base.txt\n"
        "requests==2.19.1,<3\n"
        "PyYAML == 5.3.1 ; python_version > '3'\n"
        "tqdm==4.66.1 \\\n    --hash=sha256:abc\n"
        "torch==2.5.*\n"
        "torchvision===0.20.1\n"
        "flask>=2.0  # web\n"
        "ray[default]\n"
        "mlserve @ https://example.com/mlserve-1.0.whl\n"
        "-e .\n"
        "https://example.com/pkg.whl\n"
        "https://example.com/llama_cpp_python-0.2.43-cp311-cp311-linux_x86_64.whl\n"
        "vllm @ https://example.com/vllm-0.4.0.tar.gz\n"
    )
    parsed = read_requirements(path)
    assert [(r.name, r.line, r.pinned) for r in parsed.requirements] == [
        ("requests", 2, "2.19.1"),
        ("PyYAML", 3, "5.3.1"),
        ("tqdm", 4, "4.66.1"),
        ("torch", 6, ""),
        ("torchvision", 7, ""),
        ("flask", 8, ""),
        ("ray", 9, ""),
        # A wheel's or sdist's file name states project and version (PEP 427 / sdist).
        ("llama_cpp_python", 13, "0.2.43"),
        ("vllm", 14, "0.4.0"),
    ]
    assert parsed.includes == (("base.txt", 1),)
    assert parsed.line_of("pyyaml") == 3
    # `mlserve-1.0.whl` is no valid wheel name: no version to check.
    assert parsed.unchecked == (
        ("mlserve @ https://example.com/mlserve-1.0.whl", 10),
        ("-e .", 11),
        ("https://example.com/pkg.whl", 12),
    )


def test_requirements_naming_no_package_are_in_the_ledger_and_wheel_urls_are_checked(
    trivy_bin, trivy_cache, tmp_path
):
    project = tmp_path / "svc"
    project.mkdir()
    (project / "requirements.txt").write_text(
        "--index-url https://pypi.example.com/simple\n"
        "-e git+https://example.com/mlserve.git#egg=mlserve\n"
        "https://example.com/wheels/tqdm-4.66.1-py3-none-any.whl\n"
        "./vendored\n"
        "requests==2.19.1\n"
        "pyyaml @ https://example.com/sdists/PyYAML-5.3.1.tar.gz\n"
    )
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    target = f"{project}/requirements.txt"
    # The wheel URL and the sdist URL name project and version: checked at that version.
    found = {(f["id"], f["package"], f["line"]) for f in data["findings"]}
    assert ("CVE-2024-34062", "tqdm", 3) in found
    assert ("CVE-2020-14343", "pyyaml", 6) in found
    ledger = [(i["reason"], i["name"], i["line"]) for i in data["coverage"]["not_checked"]]
    assert ledger == [
        ("not-a-package", "-e git+https://example.com/mlserve.git#egg=mlserve", 2),
        ("not-a-package", "./vendored", 4),
    ]
    files = data["coverage"]["files"]
    assert [(f["path"], f["packages"], f["checked"]) for f in files] == [(target, 5, 3)]


SETUP_PY = """\
from pathlib import Path
Path({marker!r}).write_text("ran")
from setuptools import setup
setup(name="{name}", version="1.0")
"""


def test_resolve_never_runs_a_local_requirements_setup_py(
    trivy_bin, trivy_cache, project, tmp_path, index_url
):
    # Issue 11: a requirement naming a local directory would make pip run its setup.py
    # (project code, in the scan step). It is never handed to pip, even with source builds
    # allowed, nor through a `-r` file; the ledger names it.
    marker = tmp_path / "setup-py-ran"
    (project / "pkg").mkdir()
    (project / "pkg" / "setup.py").write_text(SETUP_PY.format(marker=str(marker), name="pkg"))
    # Absolute too: pip runs from an empty directory, where `./pkg` would name nothing, but
    # an absolute path or file: URL still reaches the checkout.
    absolute = project / "pkg"
    (project / "requirements.txt").write_text(
        f"./pkg\n-e ./pkg\nmlserve>=1.0\n-r more.txt\n{absolute}\n"
    )
    (project / "more.txt").write_text(f"pkg @ file:./pkg\npkg @ {absolute.as_uri()}\n")
    out = tmp_path / "r.json"
    env = {"PIP_NO_BUILD_ISOLATION": "off"}  # so setup.py WOULD run if pip were handed it
    for extra in ((), ("--allow-source-builds",)):
        proc = scan_cli(
            trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url,
            "--json", str(out), *extra, env=env,
        )  # fmt: skip
        assert not marker.exists()
        assert proc.returncode == 1, proc.stderr
        data = load_report(out)
        assert ("CVE-2018-18074", "requests") in findings_by_id(data)  # mlserve still resolved
        ledger = {(i["reason"], i["name"]) for i in data["coverage"]["not_checked"]}
        assert ("not-a-package", "./pkg") in ledger
        assert ("not-a-package", "-e ./pkg") in ledger
        assert ("not-a-package", "pkg @ file:./pkg") in ledger
        assert ("not-a-package", str(absolute)) in ledger
        assert ("not-a-package", f"pkg @ {absolute.as_uri()}") in ledger
        details = {i["detail"] for i in data["coverage"]["not_checked"] if "pkg" in i["name"]}
        assert details == {"local, VCS or URL requirement"}


def test_pip_builds_no_sdist_unless_allowed(trivy_bin, trivy_cache, tmp_path, httpserver):
    # An sdist's setup.py is code from the index: by default pip may use wheels only, so a
    # project published as an sdist alone cannot be resolved (the file falls back to pins).
    marker = tmp_path / "sdist-setup-py-ran"
    sdist = tmp_path / "evil-1.0.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        for name, text in (
            ("evil-1.0/setup.py", SETUP_PY.format(marker=str(marker), name="evil")),
            ("evil-1.0/PKG-INFO", "Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    digest = hashlib.sha256(sdist.read_bytes()).hexdigest()
    link = f'<a href="/files/evil-1.0.tar.gz#sha256={digest}">evil-1.0.tar.gz</a>'
    httpserver.expect_request("/simple/evil/").respond_with_data(
        f"<html><body>{link}</body></html>", content_type="text/html"
    )
    httpserver.expect_request("/files/evil-1.0.tar.gz").respond_with_data(sdist.read_bytes())
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("evil>=1.0\n")
    out = tmp_path / "r.json"
    url = httpserver.url_for("/simple/")
    # pip's build would need setuptools from the index; without build isolation it uses
    # this venv's, so that the sdist's setup.py would really run if pip were let build it.
    env = {"PIP_NO_BUILD_ISOLATION": "off"}
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", url, "--json", str(out),
        env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    data = load_report(out)
    assert any("pip could not resolve it" in n for n in data["notes"])
    assert [i["reason"] for i in data["coverage"]["not_checked"]] == ["unresolved"]


def test_the_ml_bom_lists_the_resolved_tree(trivy_bin, trivy_cache, project, tmp_path, index_url):
    """Issue 17: the resolved packages are components, marked as resolved and through what."""
    bom_file = tmp_path / "bom.cdx.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url,
        "--sbom", str(bom_file), "--fail-on", "NONE",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = bom_file.read_text(encoding="utf-8")
    assert bom_errors(text) == []
    bom = json.loads(text)
    by_name = {c["name"].lower(): c for c in bom["components"] if c["type"] == "library"}
    assert {n: by_name[n].get("version") for n in ("mlserve", "requests", "urllib3", "tqdm")} == {
        "mlserve": "1.0",
        "requests": "2.19.1",
        "urllib3": "2.0.5",
        "tqdm": "4.66.1",
    }
    assert by_name["urllib3"]["purl"] == "pkg:pypi/urllib3@2.0.5"
    marks = {(p["name"], p["value"]) for p in by_name["urllib3"]["properties"]}
    assert {
        ("mlsecops:resolved-by", "pip"),
        ("mlsecops:dependency", "transitive"),
        ("mlsecops:via", "mlserve"),
    } <= marks, marks
    assert {v["id"] for v in bom["vulnerabilities"]} == {
        "CVE-2018-18074",
        "CVE-2023-32681",
        "CVE-2023-43804",
        "CVE-2024-34062",
    }
