"""Which format a file is, from its first bytes (never from its name).

A pickle renamed to `.bin`, `.pt`, `.dat` or given no extension is still a pickle, so the
extension is only ever a hint for the message, never for the decision.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Callable

from mlsecops.modelscan.pickle_ops import Segment
from mlsecops.modelscan.safetensors_files import MAX_HEADER

HEAD_SIZE = 4096  # enough for an HDF5 superblock behind a user block of up to 2 KiB


class Format(enum.Enum):
    PICKLE = "pickle"
    ZIP = "zip"
    NUMPY = "numpy"
    HDF5 = "hdf5"
    SAFETENSORS = "safetensors"
    GGUF = "gguf"
    ONNX = "onnx"
    GZIP = "gzip"
    BZIP2 = "bzip2"
    XZ = "xz"
    ZLIB = "zlib"
    TEXT = "text"
    EMPTY = "empty"
    UNKNOWN = "unknown"


COMPRESSED = frozenset({Format.GZIP, Format.BZIP2, Format.XZ, Format.ZLIB})

_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# The opcodes a protocol 0 or 1 pickle can start with (these have no PROTO header).
_OLD_PICKLE_START = frozenset(b"(}])cNIJKLMSTUVXFGhgpqr\x88\x89")


def sniff(head: bytes, parse: Callable[[], Segment] | None = None) -> Format:
    """The format of data starting with `head` (up to HEAD_SIZE bytes).

    `parse` runs the pickle machine over the whole data from its start; it is called only
    for data that has no magic number and starts like an old-protocol pickle, which
    cannot be told apart from text any other way.
    """
    if not head:
        return Format.EMPTY
    if head[:1] == b"\x80" and head[1:2] and head[1] <= 5:
        return Format.PICKLE  # PROTO n: the unpickler accepts any n up to 5, even 0 and 1
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"):
        return Format.ZIP
    if head.startswith(b"\x93NUMPY"):
        return Format.NUMPY
    if any(head[offset:].startswith(_HDF5_MAGIC) for offset in (0, 512, 1024, 2048)):
        return Format.HDF5
    if head.startswith(b"GGUF"):
        return Format.GGUF
    if len(head) >= 9 and head[8:9] == b"{" and _plausible_header_length(head):
        return Format.SAFETENSORS
    compressed = _compression(head)
    if compressed is not None:
        return compressed
    if _looks_like_onnx(head):
        return Format.ONNX
    if might_be_old_pickle(head) and parse is not None and is_old_pickle(parse()):
        return Format.PICKLE
    if _is_text(head):
        return Format.TEXT
    return Format.UNKNOWN


def might_be_old_pickle(head: bytes) -> bool:
    """True when `head` starts the way a protocol 0/1 pickle can (worth parsing to be sure)."""
    return bool(head) and head[0] in _OLD_PICKLE_START


def is_old_pickle(segment: Segment) -> bool:
    """True when magic-less data, parsed from its start into `segment`, is a protocol 0/1 pickle.

    It is one when at least two opcodes parse and either the parse reaches STOP or the data
    names a global (GLOBAL, INST, STACK_GLOBAL). A clean parse to STOP is not required: the
    unpickler runs every opcode before junk or a cut-off end, so a payload followed by
    garbage, or with no STOP at all, still runs, and no payload runs without naming a
    global. Calls and instances of constants, and EXT codes (the extension registry is
    empty unless a program fills it), do not count: random bytes produce them (1.3 % of
    random data starting like an old pickle would count, against 0.3 % now, nearly all of
    them short pickles that do reach STOP).
    """
    if segment.ops < 2:
        return False
    return not segment.error or any(event.opcode in _NAMING for event in segment.events)


_NAMING = frozenset({"GLOBAL", "INST", "STACK_GLOBAL"})


def _plausible_header_length(head: bytes) -> bool:
    length = int(struct.unpack("<Q", head[:8])[0])
    # Headers are JSON of at least `{}`; beyond the safetensors limit is not a header anyone
    # writes, though a header that points past the end is still reported (it starts with `{`).
    return 2 <= length <= MAX_HEADER


def _compression(head: bytes) -> Format | None:
    if head.startswith(b"\x1f\x8b"):
        return Format.GZIP
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return Format.BZIP2
    if head.startswith(b"\xfd7zXZ\x00") or head.startswith(b"\x5d\x00\x00"):
        return Format.XZ
    if len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
        return Format.ZLIB  # joblib's default compressor writes a bare zlib stream
    return None


def _looks_like_onnx(head: bytes) -> bool:
    # ModelProto starts with field 1 (ir_version, a small varint), then another field;
    # the full parse in onnx_files.py decides for real.
    return len(head) >= 4 and head[0] == 0x08 and 1 <= head[1] <= 32 and head[2] in (
        0x12, 0x1A, 0x22, 0x28, 0x32, 0x3A, 0x42, 0x72, 0xA2, 0xCA,
    )  # fmt: skip


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the end of `head` is still text.
        return exc.start >= len(head) - 3 and exc.reason.startswith("unexpected end")
    return True
