"""Every technique in the generated malicious corpus is caught, with its rule and global."""

from __future__ import annotations

from pathlib import Path

import pytest
from format_corpus import format_cases
from modelscan_corpus import Case, all_cases

from mlsecops.core.findings import Kind, Severity
from mlsecops.modelscan import scan_models

CASES = all_cases() + format_cases()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("corpus")
    for item in CASES:
        item.build(root)
    return root


@pytest.mark.parametrize("item", CASES, ids=[c.name for c in CASES])
def test_case_is_reported(item: Case, corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(corpus)
    findings = scan_models([Path(item.name)])
    assert findings, f"nothing reported for {item.technique}"
    assert max(f.severity for f in findings) >= Severity[item.expect]
    assert set(item.packages) <= {f.package for f in findings}
    assert set(item.rules) <= {f.id for f in findings}
    for finding in findings:
        assert finding.kind is Kind.MODEL
        assert finding.target.startswith(item.name)
        assert finding.title and finding.description and finding.fix


def test_the_whole_corpus_as_one_directory(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(corpus.parent)
    findings = scan_models([Path(corpus.name)])
    reported = {f.target.removeprefix(corpus.name + "/") for f in findings}
    expected = {c.name for c in CASES} - {"onnx_symlink"}
    expected |= {"onnx_symlink/model.onnx", "onnx_symlink/weights.bin"}
    assert reported == expected


def test_pickle_finding_names_global_opcode_and_fix(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    by_name = {c.name: c for c in CASES}
    by_name["global_reduce.pkl"].build(tmp_path)
    (finding,) = scan_models([Path("global_reduce.pkl")])
    assert finding.id == "MLS-PICKLE-DENY"
    assert finding.severity is Severity.CRITICAL
    assert finding.package == "os.system"
    assert finding.target == "global_reduce.pkl"
    # PROTO, GLOBAL (byte 2), SHORT_BINUNICODE (13), TUPLE1 (19), REDUCE (20): the call is named
    assert finding.location == "opcode 4 at byte offset 20"
    assert "os.system('true')" in finding.description
    assert "safetensors" in finding.fix
    assert finding.properties["opcode"] == "REDUCE"


def test_torch_member_target_and_torch_advice(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    next(c for c in CASES if c.name == "bad_crc.ckpt").build(tmp_path)
    (finding,) = scan_models([Path("bad_crc.ckpt")])
    assert (finding.target, finding.member) == ("bad_crc.ckpt", ("archive/data.pkl",))
    assert "weights_only=True" in finding.fix


def test_nested_pickle_location_says_where_the_bytes_are(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    next(c for c in CASES if c.name == "nested_as_data.pkl").build(tmp_path)
    (finding,) = scan_models([Path("nested_as_data.pkl")])
    # PROTO, EMPTY_DICT, SHORT_BINUNICODE, then the BINBYTES at byte 9 holding the pickle
    assert finding.location.startswith("bytes at opcode 3 at byte offset 9: ")
    assert ": opcode " in finding.location
