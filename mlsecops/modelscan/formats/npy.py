"""NumPy `.npy` files: only object arrays carry a pickle, right after the header.

`.npz` files are zips of `.npy` members: the zip handler reads them.
"""

from __future__ import annotations

import ast
import dataclasses
import struct

from mlsecops.core.findings import Finding
from mlsecops.modelscan import notes
from mlsecops.modelscan.formats.base import Context, Data, Handler, TooLarge
from mlsecops.modelscan.formats.pickles import scan_stream
from mlsecops.modelscan.pickle_findings import Loader
from mlsecops.modelscan.streams import CorruptData, Stream

MAGIC = b"\x93NUMPY"
MAX_HEADER = 16 << 20  # numpy writes a few dozen bytes (it refuses 10 kB without allow_pickle)


class NpyError(Exception):
    """The header cannot be read: numpy would refuse the file too."""


def holds_objects(stream: Stream) -> bool:
    """Read the header from the start of `stream`, leaving it at the array data; True when
    the array holds Python objects (its data is then a pickle).

    The header is a Python literal; `ast.literal_eval` reads it without running anything.
    """
    prefix = stream.read(8)
    if len(prefix) != 8 or not prefix.startswith(MAGIC):
        raise NpyError("no .npy magic")
    major = prefix[6]
    if major == 1:
        size_bytes = stream.read(2)
        (length,) = struct.unpack("<H", size_bytes) if len(size_bytes) == 2 else (-1,)
    elif major in (2, 3):
        size_bytes = stream.read(4)
        (length,) = struct.unpack("<I", size_bytes) if len(size_bytes) == 4 else (-1,)
    else:
        raise NpyError(f"unknown .npy format version {major}")
    if length > MAX_HEADER:
        raise TooLarge(f"the .npy header of {length} bytes", MAX_HEADER)
    header = stream.read(length) if length >= 0 else b""
    if length < 0 or len(header) != length:
        raise NpyError("the header is truncated")
    try:
        fields = ast.literal_eval(header.decode("latin-1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise NpyError(f"the header is not a Python literal: {exc}") from exc
    if not isinstance(fields, dict) or "descr" not in fields:
        raise NpyError("the header has no 'descr'")
    return _has_objects(fields["descr"])


def _has_objects(descr: object) -> bool:
    if isinstance(descr, str):
        return descr.lstrip("<>|=").startswith("O")
    if isinstance(descr, tuple) and len(descr) >= 2:  # (field name, type[, shape])
        return _has_objects(descr[1])
    if isinstance(descr, list):
        return any(_has_objects(part) for part in descr)
    return False


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for the pickle of an object array; none for numeric arrays."""
    try:
        if not holds_objects(data.open()):
            return []
    except (NpyError, CorruptData) as exc:
        return [notes.numpy_malformed(data.where.target, str(exc))]

    def after_header() -> Stream:
        stream = data.open()
        holds_objects(stream)
        return stream

    return scan_stream(after_header, dataclasses.replace(data.where, loader=Loader.NUMPY), context)


HANDLER = Handler("numpy", lambda data: data.head.startswith(MAGIC), scan, loadable=True)
