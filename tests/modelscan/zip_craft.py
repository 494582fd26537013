"""Crafting zip archives byte by byte: the differentials loaders disagree on.

Archives are written by `zipfile`, then their central directory and end record are
patched. Offsets below are those of the zip specification (APPNOTE 4.3.12 and 4.3.16).
"""

from __future__ import annotations

import io
import struct
import zipfile

CENTRAL = b"PK\x01\x02"
END = b"PK\x05\x06"
# Field offsets inside a central directory entry.
VERSION_NEEDED, FLAGS, METHOD, COMPRESS_SIZE, FILE_SIZE, HEADER_OFFSET = 6, 8, 10, 20, 24, 42
_FORMATS = {VERSION_NEEDED: "<H", FLAGS: "<H", METHOD: "<H", COMPRESS_SIZE: "<I",
            FILE_SIZE: "<I", HEADER_OFFSET: "<I"}  # fmt: skip


def archive(members: list[tuple[str, bytes]], method: int = zipfile.ZIP_STORED) -> bytes:
    """A clean archive (duplicate names allowed: zipfile warns, and writes both)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as handle:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = method
            handle.writestr(info, data)
    return buffer.getvalue()


ZSTANDARD = 93  # zipfile's ZIP_ZSTANDARD (Python 3.14+)


def zstd_frame(data: bytes) -> bytes:
    """`data` as a Zstandard frame of one raw (uncompressed) block: what any Zstandard
    decoder reads, written without an encoder (RFC 8878, 3.1.1)."""
    assert len(data) < 256  # a one-byte content size
    descriptor = 0x20  # single segment: no window descriptor, a 1-byte content size
    block = 1 | len(data) << 3  # the last block, raw
    return b"\x28\xb5\x2f\xfd" + bytes([descriptor, len(data)]) + block.to_bytes(3, "little") + data


def zstd_archive(members: list[tuple[str, bytes]]) -> bytes:
    """An archive whose members are Zstandard frames, as Python 3.14's zipfile writes them."""
    out = archive([(name, zstd_frame(data)) for name, data in members])
    for index, (_name, data) in enumerate(members):
        out = patch_entry(out, index, method=ZSTANDARD, file_size=len(data))
        local = struct.unpack_from("<I", out, _entries(out)[index] + HEADER_OFFSET)[0]
        patched = bytearray(out)
        struct.pack_into("<H", patched, local + 8, ZSTANDARD)
        struct.pack_into("<I", patched, local + 22, len(data))
        out = bytes(patched)
    return out


def _end(data: bytes) -> int:
    return data.rindex(END)


def _entries(data: bytes) -> list[int]:
    """Offsets of the central directory entries, in order."""
    end = _end(data)
    start = struct.unpack_from("<I", data, end + 16)[0]
    offsets = []
    while data[start : start + 4] == CENTRAL:
        offsets.append(start)
        lengths = struct.unpack_from("<HHH", data, start + 28)
        start += 46 + sum(lengths)
    return offsets


def patch_entry(data: bytes, index: int, **fields: int) -> bytes:
    """Set fields (VERSION_NEEDED=..., by the names above, lower-cased) of one entry."""
    out = bytearray(data)
    at = _entries(data)[index]
    for name, value in fields.items():
        offset = globals()[name.upper()]
        struct.pack_into(_FORMATS[offset], out, at + offset, value)
    return bytes(out)


def patch_end(data: bytes, *, cd_offset_delta: int = 0) -> bytes:
    """Shift the central directory offset the end record gives."""
    out = bytearray(data)
    end = _end(data)
    offset = struct.unpack_from("<I", out, end + 16)[0]
    struct.pack_into("<I", out, end + 16, offset + cd_offset_delta)
    return bytes(out)


def many_entries_for_one_member(data: bytes, count: int) -> bytes:
    """`count` central directory entries, all pointing at the first member's data."""
    (first,) = _entries(data)[:1]
    end = _end(data)
    name_length, extra_length, comment_length = struct.unpack_from("<HHH", data, first + 28)
    entry = data[first : first + 46 + name_length + extra_length + comment_length]
    fixed = entry[:46]
    entries = [
        fixed[:28] + struct.pack("<HHH", len(n), 0, 0) + fixed[34:] + n
        for n in (f"copy{i}.pkl".encode() for i in range(count))
    ]
    directory = b"".join(entries)
    cd_start = struct.unpack_from("<I", data, end + 16)[0]
    record = bytearray(data[end : end + 22])
    struct.pack_into("<HHII", record, 8, count, count, len(directory), cd_start)
    return data[:cd_start] + directory + bytes(record)
