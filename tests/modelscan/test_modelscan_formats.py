"""Format details: where ONNX paths resolve, what safetensors headers must hold, GGUF damage."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from format_corpus import EVIL_TEMPLATE, gguf_then_damage
from modelscan_corpus import gguf, onnx_model, safetensors

from mlsecops.modelscan import scan_files, scan_models


def ids(findings: list) -> list[tuple[str, str]]:
    return sorted((f.id, f.severity.name) for f in findings)


def test_onnx_external_data_is_judged_by_where_it_resolves(tmp_path: Path) -> None:
    (tmp_path / "subdir").mkdir()
    (tmp_path / "weights.bin").write_bytes(bytes(8))
    (tmp_path / "model.onnx").write_bytes(onnx_model(["subdir/../weights.bin"]))
    # Inside the model directory after resolving `..`: no finding, and weights.bin is known.
    assert scan_models([tmp_path]) == []
    # The same path through a symlinked directory leaves it.
    (tmp_path / "subdir").rmdir()
    (tmp_path / "subdir").symlink_to("/usr/share")
    (finding,) = scan_models([tmp_path / "model.onnx"])
    assert finding.id == "MLS-ONNX-EXTERNAL-PATH"
    assert "resolves" in finding.description


def test_an_onnx_location_with_a_nul_byte_is_a_finding_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(onnx_model(["weights.bin\x00.txt"]))
    (finding,) = scan_models([tmp_path / "model.onnx"])
    assert (finding.id, finding.severity.name) == ("MLS-ONNX-EXTERNAL-PATH", "HIGH")
    assert "NUL byte" in finding.description


def test_a_file_named_onnx_that_is_not_a_model_is_malformed(tmp_path: Path) -> None:
    (tmp_path / "model.onnx").write_bytes(b"\x08\x08\xff\xff\xff")
    (tmp_path / "other.bin").write_bytes(b"\x08\x08\xff\xff\xff")
    found = sorted((f.id, Path(f.target).name) for f in scan_models([tmp_path]))
    assert found == [
        ("MLS-MODEL-UNKNOWN-FORMAT", "other.bin"),
        ("MLS-ONNX-MALFORMED", "model.onnx"),
    ]


def test_honest_safetensors_layouts_pass(tmp_path: Path) -> None:
    header = {
        "__metadata__": {"format": "pt"},
        "empty": {"dtype": "F16", "shape": [0, 3], "data_offsets": [0, 0]},
        "bias": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
        "mask": {"dtype": "BOOL", "shape": [3], "data_offsets": [8, 11]},
        "packed": {"dtype": "F4", "shape": [2, 3], "data_offsets": [11, 14]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)  # the library pads the header to 8 bytes
    (tmp_path / "ok.safetensors").write_bytes(struct.pack("<Q", len(raw)) + raw + bytes(14))
    assert scan_models([tmp_path / "ok.safetensors"]) == []


def test_safetensors_lies_are_high_and_numbers_are_never_converted(tmp_path: Path) -> None:
    cases = {
        "odd.safetensors": {"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 2]}},
        "dtype.safetensors": {"a": {"dtype": "PICKLE", "shape": [1], "data_offsets": [0, 2]}},
        "negative.safetensors": {"a": {"dtype": "U8", "shape": [-2], "data_offsets": [0, 2]}},
        "metadata.safetensors": {"__metadata__": {"a": 1}},
    }
    for name, header in cases.items():
        (tmp_path / name).write_bytes(safetensors(header, bytes(2)))
    findings = scan_models([tmp_path])
    assert sorted(Path(f.target).name for f in findings) == sorted(cases)
    assert {(f.id, f.severity.name) for f in findings} == {("MLS-SAFETENSORS-HEADER", "HIGH")}


def test_many_safetensors_problems_make_a_bounded_number_of_findings(tmp_path: Path) -> None:
    header = {f"t{i}": {"dtype": "F32", "shape": [1], "data_offsets": [0, 9]} for i in range(500)}
    (tmp_path / "many.safetensors").write_bytes(safetensors(header, bytes(4)))
    findings = scan_models([tmp_path / "many.safetensors"])
    assert len(findings) == 10
    assert "and 490 more problems" in findings[-1].description


def test_gguf_keeps_the_template_found_before_the_damage(tmp_path: Path) -> None:
    (tmp_path / "a.gguf").write_bytes(gguf_then_damage())
    assert ids(scan_models([tmp_path / "a.gguf"])) == [
        ("MLS-GGUF-MALFORMED", "UNKNOWN"),
        ("MLS-GGUF-TEMPLATE", "HIGH"),
    ]


def test_a_huge_gguf_template_is_too_large_and_never_read_whole(tmp_path: Path) -> None:
    huge = "{{ x }}" * (3 << 20)  # 21 MiB: over the 16 MiB a template may have
    (tmp_path / "huge.gguf").write_bytes(gguf(huge))
    assert ids(scan_models([tmp_path / "huge.gguf"])) == [("MLS-MODEL-TOO-LARGE", "MEDIUM")]
    # A length past the end of the file is damage, not size.
    data = bytearray(gguf(EVIL_TEMPLATE))
    struct.pack_into("<Q", data, data.index(EVIL_TEMPLATE.encode()) - 8, 1 << 40)
    (tmp_path / "cut.gguf").write_bytes(bytes(data))
    assert ids(scan_models([tmp_path / "cut.gguf"])) == [("MLS-GGUF-MALFORMED", "UNKNOWN")]


@pytest.mark.parametrize("header_length", [128, 384, 1408])
def test_a_safetensors_header_length_that_starts_like_proto_is_safetensors(
    header_length: int, tmp_path: Path
) -> None:
    # 128 = 80 00, 384 = 80 01, ...: the first bytes read as PROTO 0-5.
    raw = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "model-00002-of-00002.safetensors"
    path.write_bytes(struct.pack("<Q", header_length) + raw.ljust(header_length) + bytes(8))
    assert path.read_bytes()[0] == 0x80
    (file,) = scan_files([path])
    assert (file.format, file.findings) == ("safetensors", ())
