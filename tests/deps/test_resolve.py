"""--resolve: pip resolves requirements against a local index, the real Trivy scans the tree.

The index is real (PEP 503 pages over real wheels, served on 127.0.0.1 by pytest-httpserver):
`mlserve` is our own top-level package, unpinned in requirements.txt, that depends on
requests 2.19.1, which depends on urllib3 2.0.5. Trivy alone sees only the pinned tqdm.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsecops.deps.requirements_txt import read_requirements
from mlsecops.deps.resolve import Resolved, reached_from
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


def test_a_requirement_pip_cannot_find_is_a_tool_error(
    trivy_bin, trivy_cache, project, tmp_path, index_url
):
    (project / "requirements.txt").write_text("no-such-package==1.0\n")
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--resolve", "--index-url", index_url)
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc)
    assert "pip could not resolve" in line
    assert "no-such-package" in line
    assert "--index-url" in line


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
        ("mlserve", 10, ""),
    ]
    assert parsed.includes == (("base.txt", 1),)
    assert parsed.line_of("pyyaml") == 3
    assert parsed.unchecked == (("-e .", 11), ("https://example.com/pkg.whl", 12))


def test_requirements_naming_no_package_are_noted_not_dropped(trivy_bin, trivy_cache, tmp_path):
    project = tmp_path / "svc"
    project.mkdir()
    (project / "requirements.txt").write_text(
        "--index-url https://pypi.example.com/simple\n"
        "-e git+https://example.com/mlserve.git#egg=mlserve\n"
        "https://example.com/wheels/tqdm-4.66.1-py3-none-any.whl\n"
        "./vendored\n"
        "requests==2.19.1\n"
    )
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    notes = [n for n in load_report(out)["notes"] if "not checked" in n]
    target = f"{project}/requirements.txt"
    assert notes == [
        f"{target}:2: pip entry '-e git+https://example.com/mlserve.git#egg=mlserve' names no "
        "package and version; it is not checked",
        f"{target}:3: pip entry 'https://example.com/wheels/tqdm-4.66.1-py3-none-any.whl' names "
        "no package and version; it is not checked",
        f"{target}:4: pip entry './vendored' names no package and version; it is not checked",
    ]
