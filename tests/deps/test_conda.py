"""conda environment.yml: vulnerable conda and pip: packages found and put on their lines."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsecops.deps.conda import conda_version, read_environment
from mlsecops.deps.conda_names import pypi_name
from mlsecops.errors import UsageError
from tests.support.scan_cli import findings_by_id, load_report, one_line_error, scan_cli

ENVIRONMENT = """\
name: vision-service
channels:
  - pytorch
  - conda-forge
dependencies:
  - python=3.11
  - pytorch=2.5.1=py3.11_cuda12.1_cudnn8.9.2_0
  - conda-forge::pyyaml=5.3.1
  - numpy=1.26
  - scikit-learn>=1.4
  - pillow==10.1.0
  - cudatoolkit=11.8
  - pip
  - pip:
      - requests==2.19.1
      - transformers>=4.30
      - -r requirements-extra.txt
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "vision"
    root.mkdir()
    (root / "environment.yml").write_text(ENVIRONMENT)
    return root


def test_conda_and_pip_packages_are_scanned_on_their_lines(
    trivy_bin, trivy_cache, project, tmp_path
):
    out = tmp_path / "r.json"
    summary = tmp_path / "summary.md"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--json", str(out), "--summary", str(summary)
    )
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    found = findings_by_id(data)
    lines = ENVIRONMENT.splitlines()
    expected = {
        # id, package: (severity, installed, fixed, line, ecosystem)
        ("CVE-2025-32434", "torch"): ("CRITICAL", "2.5.1", "2.6.0", 7, "conda"),
        ("CVE-2020-14343", "pyyaml"): ("CRITICAL", "5.3.1", "5.4", 8, "conda"),
        ("CVE-2023-50447", "pillow"): ("HIGH", "10.1.0", "10.2.0", 11, "conda"),
        ("CVE-2018-18074", "requests"): ("HIGH", "2.19.1", "2.20.0", 15, "pip"),
        ("CVE-2023-32681", "requests"): ("MEDIUM", "2.19.1", "2.31.0", 15, "pip"),
    }
    vulnerabilities = {k: v for k, v in found.items() if k[0] != "MLS-UNPINNED"}
    assert set(vulnerabilities) == set(expected)
    for key, (severity, installed, fixed, line, ecosystem) in expected.items():
        finding = found[key]
        got = (finding["severity"], finding["installed_version"], finding["fixed_version"])
        assert got == (severity, installed, fixed), key
        assert finding["target"] == f"{project}/environment.yml"
        assert finding["line"] == line, key
        assert finding["ecosystem"] == ecosystem
        assert finding["package"].lower().replace("torch", "pytorch") in lines[line - 1], key
    # pytorch is torch on PyPI: the fix says both names.
    torch = found[("CVE-2025-32434", "torch")]
    assert torch["properties"]["conda_package"] == "pytorch"
    assert torch["fix"] == "upgrade pytorch (PyPI: torch) to 2.6.0"
    # Not exact: `=1.26` means every 1.26.* release; ranges too.
    unpinned = {f["package"]: f["line"] for f in data["findings"] if f["id"] == "MLS-UNPINNED"}
    assert unpinned == {"numpy": 9, "scikit-learn": 10, "pip": 13, "transformers": 16}
    # Conda-only packages are named in the ledger, never dropped; and so is the pip: line
    # we cannot read, and each spec with no exact version.
    ledger = {(i["reason"], i["name"], i["line"]) for i in data["coverage"]["not_checked"]}
    assert ledger == {
        ("no-pypi-twin", "python", 6),
        ("no-pypi-twin", "cudatoolkit", 12),
        ("unpinned", "pip", 13),  # pip is a PyPI project (conda-forge's mapping says so)
        ("unpinned", "numpy", 9),
        ("unpinned", "scikit-learn", 10),
        ("unpinned", "transformers", 16),
        ("not-a-package", "-r requirements-extra.txt", 17),
    }
    [read] = data["coverage"]["files"]
    assert (read["kind"], read["packages"], read["checked"]) == ("conda", 11, 4)
    # Trivy's own "conda is not supported for vulnerability scanning" would be misleading.
    assert not any("Conda package is supported" in n for n in data["notes"])
    text = summary.read_text()
    assert "2 not checked" in text and "conda package with no PyPI project" in text
    assert "environment.yml:7`" in text


def test_environment_yaml_spelling_and_a_project_with_both(trivy_bin, trivy_cache, tmp_path):
    root = tmp_path / "p"
    (root / "envs").mkdir(parents=True)
    (root / "envs" / "environment.yaml").write_text("dependencies:\n  - tqdm=4.66.1\n")
    (root / "requirements.txt").write_text("requests==2.19.1\n")
    out = tmp_path / "r.json"
    scan_cli(trivy_bin, trivy_cache, str(root), "--json", str(out))
    got = {(f["id"], f["target"].rsplit("/", 1)[-1]) for f in load_report(out)["findings"]}
    assert got == {
        ("CVE-2024-34062", "environment.yaml"),
        ("CVE-2018-18074", "requirements.txt"),
        ("CVE-2023-32681", "requirements.txt"),
    }


def test_a_broken_environment_file_is_a_usage_error(trivy_bin, trivy_cache, tmp_path):
    root = tmp_path / "p"
    root.mkdir()
    (root / "environment.yml").write_text(
        "name: x\ndependencies:\n  - numpy=1.26.4\n  - {a: 1, b: 2}\n"
    )
    proc = scan_cli(trivy_bin, trivy_cache, str(root))
    assert proc.returncode == 2, proc.stderr
    line = one_line_error(proc)
    assert "environment.yml:4" in line
    assert "pip:" in line


@pytest.mark.parametrize(
    ("rest", "version"),
    [
        ("==1.26.4", "1.26.4"),
        ("=1.26.4", "1.26.4"),
        ("=1.26.4=py311h64a7726_0", "1.26.4"),
        ("=1.26=py311_0", "1.26"),
        ("1.26.4", "1.26.4"),
        ("1.26.4 py311_0", "1.26.4"),
        ("[version='1.26.4']", "1.26.4"),
        ("=1.26", ""),
        ("=1", ""),
        (">=1.24", ""),
        (">=1.24,<2", ""),
        ("=1.26.*", ""),
        ("1.26*", ""),
        ("[version='>=1.24']", ""),
        ("", ""),
    ],
)
def test_conda_version_pins(rest, version):
    assert conda_version(rest) == version


def test_mapping_table():
    assert pypi_name("pytorch") == "torch"
    assert pypi_name("py-opencv") == "opencv-python"
    assert pypi_name("PyYAML") == "pyyaml"
    assert pypi_name("huggingface_hub") == "huggingface-hub"
    assert pypi_name("cudatoolkit") is None
    assert pypi_name("python") is None


def test_reader_keeps_lines_and_channels(tmp_path):
    path = tmp_path / "environment.yml"
    path.write_text(ENVIRONMENT)
    env = read_environment(path)
    got = [(d.name, d.line, d.version, d.source) for d in env.dependencies]
    assert got[:3] == [
        ("python", 6, "", "conda"),
        ("pytorch", 7, "2.5.1", "conda"),
        ("pyyaml", 8, "5.3.1", "conda"),
    ]
    assert ("requests", 15, "2.19.1", "pip") in got
    assert env.unchecked_pip == (("-r requirements-extra.txt", 17),)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("- just\n- a list\n", 1),
        ("dependencies: numpy\n", 1),
        ("dependencies:\n  - pip: numpy\n", 2),
        ("dependencies:\n  - [numpy]\n", 2),
        ("dependencies:\n  - numpy\n bad: [\n", 3),
    ],
)
def test_reader_errors_name_the_line(tmp_path, text, line):
    path = tmp_path / "environment.yml"
    path.write_text(text)
    with pytest.raises(UsageError) as error:
        read_environment(path)
    assert f"{path}:{line}" in error.value.one_line()
