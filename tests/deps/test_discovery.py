"""Dependency files found by name and content (issue 14 item 4), and excluded on request."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsecops.deps.discovery import discover
from mlsecops.deps.listing import FileKind
from tests.support.scan_cli import load_report, scan_cli

CONDA = (
    "channels:\n  - conda-forge\ndependencies:\n  - python=3.11\n  - pip:\n    - jinja2==3.1.2\n"
)
# Names real ML repositories use, each with what it is (None: not a dependency file).
TREE: dict[str, tuple[str, FileKind | None]] = {
    "requirements.txt": ("requests==2.19.1\n", FileKind.REQUIREMENTS),
    "additional_requirements.txt": ("pyyaml==5.3.1\n", FileKind.REQUIREMENTS),
    "dev_requirements.txt": ("tqdm==4.66.1\n", FileKind.REQUIREMENTS),
    "test-requirements.txt": ("pillow==10.1.0\n", FileKind.REQUIREMENTS),
    "requirements/gpu.txt": ("torch==2.5.1\n", FileKind.REQUIREMENTS),
    "requirements/base.in": ("mlflow\n", None),  # compiled twin below: that one pins
    "requirements/base.txt": ("mlflow==2.2.0\n", FileKind.REQUIREMENTS),
    "tools/requirements-lint.in": ("ray\n", FileKind.REQUIREMENTS),  # no twin
    "MANIFEST.in": ("include *.txt\n", None),
    "notes.txt": ("requests==2.19.1\n", None),
    "mlflow-model/conda.yaml": (CONDA, FileKind.CONDA),
    "environment-cuda.yml": (CONDA, FileKind.CONDA),
    "envs/train.yaml": (CONDA, FileKind.CONDA),  # by content: channels + dependencies
    "chart/Chart.yaml": ("apiVersion: v2\ndependencies:\n  - name: redis\n", None),
    "svc/poetry.lock": ("", FileKind.POETRY_LOCK),
    ".venv/requirements.txt": ("requests==2.19.1\n", None),  # never entered (Trivy reads it)
    "node_modules/x/requirements.txt": ("requests==2.19.1\n", None),
}


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for name, (text, _kind) in TREE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_found_by_name_and_content(tree):
    found = {f.path.relative_to(tree).as_posix(): f.kind for f in discover(tree)}
    assert found == {name: kind for name, (_text, kind) in TREE.items() if kind is not None}


def test_excluded_paths_are_listed_as_excluded(tree):
    excluded = {
        f.path.relative_to(tree).as_posix()
        for f in discover(tree, ["requirements/", "envs/*.yaml"])
        if f.excluded
    }
    assert excluded == {"requirements/gpu.txt", "requirements/base.txt", "envs/train.yaml"}


def test_files_neither_tool_reads_are_scanned(trivy_bin, trivy_cache, tree):
    (tree / "svc" / "poetry.lock").unlink()
    out = tree.parent / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(tree), "--exclude", "envs/", "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    found = {
        (Path(f["target"]).relative_to(tree).as_posix(), f["package"]) for f in data["findings"]
    }
    assert {
        ("additional_requirements.txt", "pyyaml"),
        ("dev_requirements.txt", "tqdm"),
        ("test-requirements.txt", "pillow"),
        ("requirements/gpu.txt", "torch"),
        ("requirements/base.txt", "mlflow"),
        ("mlflow-model/conda.yaml", "jinja2"),
        ("environment-cuda.yml", "jinja2"),
    } <= found
    assert not [t for t, _p in found if t.startswith("envs/")]
    assert "notes.txt" not in {t for t, _p in found}
    excluded = [i for i in data["coverage"]["not_checked"] if i["reason"] == "excluded"]
    assert [Path(i["target"]).relative_to(tree).as_posix() for i in excluded] == ["envs/train.yaml"]
