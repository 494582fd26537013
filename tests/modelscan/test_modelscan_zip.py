"""The one zip reader reads what any loader reads, and says where an archive is not clean."""

from __future__ import annotations

import io
import struct
import sys
import tracemalloc
import zipfile
from pathlib import Path

import zip_craft
from format_corpus import EVIL, _torch_members, keras_config_bomb

from mlsecops.core.findings import Severity
from mlsecops.modelscan import scan_models


def _scan(tmp_path: Path, name: str, data: bytes) -> list[tuple[str, str, tuple[str, ...]]]:
    (tmp_path / name).write_bytes(data)
    return sorted((f.id, f.severity.name, f.member) for f in scan_models([tmp_path / name]))


def test_an_offset_zipfile_would_seek_before_the_file_is_a_note(tmp_path: Path) -> None:
    # The end record places the central directory 100 bytes later than it is: zipfile's
    # adjustment for prepended data then puts every member at a negative offset.
    data = zip_craft.patch_end(zip_craft.archive(_torch_members(EVIL)), cd_offset_delta=100)
    found = _scan(tmp_path, "negative.pt", data)
    assert ("MLS-PICKLE-DENY", "CRITICAL", ("archive/data.pkl",)) in found
    assert ("MLS-ARCHIVE-DAMAGED", "UNKNOWN", ()) in found


def test_entries_sharing_one_member_are_read_once_and_said(tmp_path: Path) -> None:
    one = zip_craft.archive([("model.pkl", EVIL)], zipfile.ZIP_DEFLATED)
    (tmp_path / "shared.zip").write_bytes(zip_craft.many_entries_for_one_member(one, 1500))
    findings = scan_models([tmp_path / "shared.zip"])
    assert [(f.id, f.member) for f in findings if f.severity is Severity.CRITICAL] == [
        ("MLS-PICKLE-DENY", ("copy0.pkl",))
    ]
    (note,) = [f for f in findings if f.id == "MLS-ARCHIVE-DAMAGED"]
    assert "1499 more entries share the data" in note.description


def test_an_empty_member_name_is_a_name(tmp_path: Path) -> None:
    found = _scan(tmp_path, "empty.zip", zip_craft.archive([("", EVIL)]))
    assert found == [("MLS-PICKLE-DENY", "CRITICAL", ("",))]


def test_a_compression_method_no_loader_reads_is_said(tmp_path: Path) -> None:
    data = zip_craft.patch_entry(zip_craft.archive([("model.pkl", EVIL)]), 0, method=99)
    found = _scan(tmp_path, "aes.zip", data)
    assert found == [("MLS-MODEL-UNREADABLE", "UNKNOWN", ("model.pkl",))]


def test_a_keras_config_bomb_is_skipped_in_bounded_memory(tmp_path: Path) -> None:
    (tmp_path / "bomb.keras").write_bytes(keras_config_bomb(45 << 20))
    assert (tmp_path / "bomb.keras").stat().st_size < 100_000
    tracemalloc.start()
    try:
        findings = scan_models([tmp_path / "bomb.keras"])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [(f.id, f.member) for f in findings] == [("MLS-MODEL-TOO-LARGE", ("config.json",))]
    assert "Keras config" in findings[0].description
    assert peak < 32 << 20


def test_an_lzma_member_declaring_a_huge_dictionary_is_not_decoded(tmp_path: Path) -> None:
    # liblzma allocates the whole dictionary up front: 4 GiB declared is 4 GiB asked for.
    data = bytearray(zip_craft.archive([("a.pkl", EVIL), ("b.pkl", EVIL)], zipfile.ZIP_LZMA))
    first = data.index(b"a.pkl") + len(b"a.pkl")  # the member's data follows its name
    data[first + 5 : first + 9] = (0xFFFFFFFF).to_bytes(4, "little")
    tracemalloc.start()
    try:
        found = _scan(tmp_path, "dictionary.zip", bytes(data))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert found == [
        ("MLS-MODEL-TOO-LARGE", "MEDIUM", ("a.pkl",)),
        ("MLS-PICKLE-DENY", "CRITICAL", ("b.pkl",)),
    ]
    assert peak < 64 << 20


def test_a_zstandard_member_is_decoded_or_said_not_checked(tmp_path: Path) -> None:
    # Python 3.14's zipfile (so numpy.load and Keras) reads Zstandard members.
    data = zip_craft.zstd_archive([("model.pkl", EVIL)])
    found = _scan(tmp_path, "zstd.zip", data)
    if sys.version_info >= (3, 14):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            assert archive.read("model.pkl") == EVIL  # the crafted frame is what zipfile reads
        assert found == [("MLS-PICKLE-DENY", "CRITICAL", ("model.pkl",))]
    else:
        assert found == [("MLS-ARCHIVE-UNDECODED", "MEDIUM", ("model.pkl",))]


def test_an_undecoded_member_is_in_the_coverage_ledger(tmp_path: Path) -> None:
    from mlsecops.core.coverage import Unchecked
    from mlsecops.modelscan.source import ModelScan

    path = tmp_path / "zstd.npz"
    path.write_bytes(zip_craft.zstd_archive([("a.npy", EVIL)]))
    result = ModelScan((path,)).scan()
    if sys.version_info < (3, 14):
        (item,) = result.coverage.not_checked
        assert item.reason is Unchecked.NEEDS_EXTRA
    assert result.coverage.discrepancies() == []


def test_a_zip64_locator_past_any_file_size_is_no_internal_error(tmp_path: Path) -> None:
    # Found by the fuzzer: the locator's 64-bit offset of the zip64 end record is 2**64 - 16.
    data = zip_craft.archive([("model.pkl", EVIL)])
    end = data.rindex(b"PK\x05\x06")
    locator = b"PK\x06\x07" + struct.pack("<IQI", 0, (1 << 64) - 16, 1)
    found = _scan(tmp_path, "locator.zip", data[:end] + locator + data[end:])
    assert found == [
        ("MLS-ARCHIVE-DAMAGED", "UNKNOWN", ()),  # the locator moved the end record
        ("MLS-PICKLE-DENY", "CRITICAL", ("model.pkl",)),
    ]
