"""Byte streams over part of a file, and decompressors, for formats that nest data.

Everything the scanner reads goes through a peekable, tell-able stream so that pickles can
be read straight from a zip member or a compressed joblib file without loading it whole.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from typing import BinaryIO, Protocol

from mlsecops.modelscan.pickle_ops import Stream


class Readable(Protocol):
    def read(self, size: int = ..., /) -> bytes: ...


class SliceReader(io.RawIOBase):
    """A read-only window [start, start + length) of a seekable binary file."""

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._handle = handle
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        count = min(len(buffer), self._length - self._pos)
        if count <= 0:
            return 0
        self._handle.seek(self._start + self._pos)
        data = self._handle.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos


class InflateReader(io.RawIOBase):
    """Decompresses a zlib or raw-deflate stream on the fly (never the whole thing at once)."""

    def __init__(self, source: Readable, wbits: int) -> None:
        super().__init__()
        self._source: Readable = source
        self._inflater = zlib.decompressobj(wbits)
        self._pending = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            if self._inflater.eof:
                return 0
            chunk = self._source.read(1 << 16)
            if not chunk:
                self._pending = self._inflater.flush()
                if not self._pending:
                    return 0
                break
            self._pending = self._inflater.decompress(chunk, 1 << 20)
            if self._inflater.unconsumed_tail:
                # Keep the input that did not fit the output cap for the next round.
                self._source = _Prefixed(self._inflater.unconsumed_tail, self._source)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._pos += count
        return count

    def tell(self) -> int:
        return self._pos


class _Prefixed:
    """A stream that yields `prefix` before the rest of `source`."""

    def __init__(self, prefix: bytes, source: Readable) -> None:
        self._prefix = prefix
        self._source = source

    def read(self, size: int = -1, /) -> bytes:
        if self._prefix:
            head, self._prefix = self._prefix[:size], self._prefix[size:]
            return head
        return self._source.read(size)


def buffered(raw: io.RawIOBase) -> io.BufferedReader:
    return io.BufferedReader(raw, buffer_size=1 << 16)


def file_slice(handle: BinaryIO, start: int, length: int) -> io.BufferedReader:
    """A peekable stream over part of an open file."""
    return buffered(SliceReader(handle, start, length))


def inflate(source: Readable, *, raw_deflate: bool) -> io.BufferedReader:
    """A peekable stream of the decompressed bytes of a zlib (or raw deflate) stream."""
    return buffered(InflateReader(source, -15 if raw_deflate else 15))


def decompress(kind: str, handle: BinaryIO) -> Stream:
    """A peekable stream of a gzip, bz2, xz/lzma or zlib compressed file's content."""
    if kind == "gzip":
        return gzip.GzipFile(fileobj=handle, mode="rb")
    if kind == "bzip2":
        return bz2.BZ2File(handle, mode="rb")
    if kind == "xz":
        return lzma.LZMAFile(handle, mode="rb")
    return inflate(handle, raw_deflate=False)
