"""Whether a project has anything for Trivy's secret and misconfiguration scanners."""

from __future__ import annotations

from pathlib import Path

from mlsecops.core.scanners import ALL_SCANNERS, Scanner
from mlsecops.filescan.candidates import scanners_with_work

BOTH = frozenset({Scanner.SECRET, Scanner.MISCONFIG})


def test_an_empty_project_or_one_of_binaries_has_nothing(tmp_path: Path) -> None:
    assert scanners_with_work(tmp_path, ALL_SCANNERS) == frozenset()
    (tmp_path / "weights.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "tiny.txt").write_text("hi\n")  # under 10 bytes: Trivy skips it too
    assert scanners_with_work(tmp_path, ALL_SCANNERS) == frozenset()


def test_a_text_file_is_for_secrets_and_a_manifest_for_both(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("import torch\nprint('training')\n")
    assert scanners_with_work(tmp_path, ALL_SCANNERS) == {Scanner.SECRET}
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "Dockerfile.gpu").write_text("FROM python:3.11\n")
    assert scanners_with_work(tmp_path, ALL_SCANNERS) == BOTH
    assert scanners_with_work(tmp_path, frozenset({Scanner.VULN})) == frozenset()


def test_model_paths_and_git_are_left_to_others(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "config.json").write_text('{"architectures": ["BertModel"]}\n')
    (tmp_path / "model.pkl").write_text("looks like text but is a --model\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("[core]\n\tbare = false\n")

    assert scanners_with_work(tmp_path, ALL_SCANNERS, [models, tmp_path / "model.pkl"]) == set()
    assert scanners_with_work(tmp_path, ALL_SCANNERS, [models]) == {Scanner.SECRET}


def test_a_project_that_is_a_model_path_leaves_every_file_to_the_model_scanner(
    tmp_path: Path,
) -> None:
    # `mlsecops scan --model .` in a model directory: README and config are the model's.
    (tmp_path / "README.md").write_text("# a model card, long enough to be read\n")
    (tmp_path / "config.json").write_text('{"architectures": ["BertModel"]}\n')
    assert scanners_with_work(tmp_path, ALL_SCANNERS, [tmp_path]) == set()
    assert scanners_with_work(tmp_path / ".", ALL_SCANNERS, [tmp_path.parent]) == set()
    assert scanners_with_work(tmp_path, ALL_SCANNERS, [tmp_path / "README.md"]) == BOTH
