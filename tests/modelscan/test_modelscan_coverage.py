"""Every model file is accounted for, and every model rule is produced by the corpus."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from format_corpus import format_cases, informational_cases
from modelscan_corpus import all_cases, write_generated_benign

from mlsecops.core.coverage import Unchecked
from mlsecops.core.findings import Kind
from mlsecops.core.rules import RULES
from mlsecops.modelscan import scan_files
from mlsecops.modelscan.formats.base import ScanOptions
from mlsecops.modelscan.source import ModelScan

BENIGN = Path(__file__).parent / "fixtures" / "benign"
CASES = all_cases() + format_cases() + informational_cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("everything")
    for item in CASES:
        item.build(root)
    write_generated_benign(root / "benign")
    return root


def _files_under(root: Path) -> set[str]:
    found = set()
    for dirpath, _dirs, files in os.walk(root):
        found.update(os.path.relpath(Path(dirpath) / name, root.parent) for name in files)
    return found


def test_the_ledger_lists_every_file_and_adds_up(corpus: Path, monkeypatch) -> None:
    monkeypatch.chdir(corpus.parent)
    coverage = ModelScan((Path(corpus.name),)).scan().coverage
    assert coverage.discrepancies() == []
    assert {f.path for f in coverage.files} == _files_under(corpus)
    assert {f.kind for f in coverage.files} == {"model"}
    assert all(f.packages == 1 for f in coverage.files)


def test_the_ledger_says_why_each_file_was_not_checked(corpus: Path, monkeypatch) -> None:
    monkeypatch.chdir(corpus.parent)
    coverage = ModelScan((Path(corpus.name),)).scan().coverage
    reasons = {
        item.target.removeprefix(corpus.name + "/"): item.reason for item in coverage.not_checked
    }
    assert reasons["unknown.bin"] is Unchecked.FORMAT_UNKNOWN
    assert reasons["pipe.bin"] is Unchecked.UNREADABLE
    assert reasons["outside.bin"] is Unchecked.LINK_OUTSIDE
    assert reasons["nested_too_deep.pkl"] is Unchecked.TOO_DEEP
    assert reasons["broken.onnx"] is Unchecked.UNREADABLE
    assert reasons["frame_readings_bomb.pkl"] is Unchecked.TOO_LARGE  # a pickle budget ran out
    assert reasons["config_bomb.keras"] is Unchecked.TOO_LARGE
    checked = {f.path.removeprefix(corpus.name + "/") for f in coverage.files if f.checked}
    # Files with findings were still checked; so were the benign ones.
    assert {"protocol0.pkl", "model.pt", "lambda.keras", "benign/dense.keras"} <= checked
    assert not checked & set(reasons)


def test_onnx_external_data_is_checked_not_unknown(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    write_generated_benign(tmp_path)
    coverage = ModelScan((Path(),)).scan().coverage
    assert coverage.not_checked == ()
    assert "local_external.onnx.data" in {f.path for f in coverage.files}


def test_every_model_rule_is_produced_by_the_corpus(corpus: Path, tmp_path: Path) -> None:
    produced = {f.id for file in scan_files([corpus]) for f in file.findings}
    # Without h5py, .h5 files are byte-searched and say they were skipped.
    produced |= {
        f.id
        for file in scan_files([corpus / "broken.h5"], ScanOptions(use_h5py=False))
        for f in file.findings
    }
    model_rules = {rule.id for rule in RULES if rule.kind is Kind.MODEL}
    assert sorted(model_rules - produced) == []


def test_each_file_says_which_format_read_it(tmp_path: Path) -> None:
    # For the bill of materials: the format comes from the content, never the name.
    names = write_generated_benign(tmp_path)
    (tmp_path / "weights.bin").write_bytes(bytes(range(256)))
    formats = {Path(f.target).name: f.format for f in scan_files([tmp_path])}
    assert len(names) == len(formats) - 1
    assert formats["dense.keras"] == "zip"
    assert formats["plain.safetensors"] == "safetensors"
    assert formats["local_external.onnx"] == "onnx"
    assert formats["plain_dict_protocol0.pkl"] == "pickle (protocol 0/1)"
    assert formats["odict_protocol5.pkl"] == "pickle"
    assert formats["weights.bin"] == ""
