"""Byte streams over part of a file, and decompressors, for formats that nest data.

Everything the scanner reads goes through a peekable, tell-able stream so that pickles can
be read straight from a zip member or a compressed joblib file without loading it whole.

Compressed data that is corrupt or cut off raises one exception, `CorruptData`, whatever
the codec says (zlib.error, LZMAError, EOFError, OSError), and only once every byte that
decodes before the damage has been handed out: a payload ahead of the damage is still read.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zlib
from collections.abc import Callable
from typing import BinaryIO, Protocol


class Stream(Protocol):
    """What the pickle machine reads; open files, BufferedReader and the gzip/bz2/lzma fit."""

    def read(self, size: int = ..., /) -> bytes:
        """Up to `size` bytes (all that is left by default); b"" at the end."""

    def readline(self, size: int = ..., /) -> bytes:
        """Bytes up to and including the next newline, at most `size`."""

    def tell(self) -> int:
        """How many bytes were read so far."""

    def peek(self, size: int, /) -> bytes:
        """The bytes ahead without consuming them (at least one, unless at the end)."""


class Readable(Protocol):
    """Anything with read(): the source a decompressor pulls its compressed bytes from."""

    def read(self, size: int = ..., /) -> bytes:
        """Up to `size` bytes (all that is left by default); b"" at the end."""


class CorruptData(ValueError):
    """Compressed data that cannot be decoded any further: corrupt, or cut off early."""


_MAX_OUTPUT = 1 << 20  # decompressed bytes produced per step: a bomb is never held whole


class SliceReader(io.RawIOBase):
    """A read-only window [start, start + length) of a seekable binary file."""

    def __init__(self, handle: BinaryIO, start: int, length: int) -> None:
        super().__init__()
        self._handle = handle
        self._start = start
        self._length = length
        self._pos = 0

    def readable(self) -> bool:
        """Always: this stream is for reading only."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` from the window; 0 at its end."""
        count = min(len(buffer), self._length - self._pos)
        if count <= 0:
            return 0
        self._handle.seek(self._start + self._pos)
        data = self._handle.read(count)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        """The position in the data this stream yields."""
        return self._pos


class InflateReader(io.RawIOBase):
    """Decompresses a zlib or raw-deflate stream on the fly (never the whole thing at once)."""

    def __init__(self, source: Readable, wbits: int) -> None:
        super().__init__()
        self._source: Readable = source
        self._inflater = zlib.decompressobj(wbits)
        self._pending = b""
        self._pos = 0
        self._error: CorruptData | None = None  # raised once the bytes before it are read

    def readable(self) -> bool:
        """Always: this stream is for reading only."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Fill `buffer` with inflated bytes; 0 at the stream's end, CorruptData on bad data."""
        while not self._pending:
            if self._error is not None:
                raise self._error
            if self._inflater.eof:
                return 0
            chunk = self._source.read(1 << 16)
            if not chunk:
                self._pending = self._inflater.flush()
                self._error = CorruptData("the compressed data ends before its end marker")
                continue
            self._pending = self._inflate(chunk)
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._pos += count
        return count

    def tell(self) -> int:
        """The position in the data this stream yields."""
        return self._pos

    def _inflate(self, chunk: bytes) -> bytes:
        before = self._inflater.copy()
        try:
            out = self._inflater.decompress(chunk, _MAX_OUTPUT)
        except zlib.error as exc:
            # zlib drops the output of a failing call: replay the chunk a byte at a time
            # from the state before it, to keep everything that precedes the damage.
            self._inflater = before
            out = b""
            for index in range(len(chunk)):
                try:
                    out += self._inflater.decompress(chunk[index : index + 1])
                except zlib.error:
                    break
                if len(out) >= _MAX_OUTPUT:
                    self._keep(chunk[index + 1 :])  # the damage is met again next round
                    return out
            self._error = CorruptData(f"the compressed data is corrupt ({exc})")
            return out
        # Keep the input that did not fit the output cap for the next round.
        self._keep(self._inflater.unconsumed_tail)
        return out

    def _keep(self, unread: bytes) -> None:
        if unread:
            self._source = _Prefixed(unread, self._source)


_CodecReader = gzip.GzipFile | bz2.BZ2File | lzma.LZMAFile
_CODEC_ERRORS = (zlib.error, lzma.LZMAError, EOFError, OSError)


class _Guarded(io.RawIOBase):
    """A gzip, bz2 or xz reader whose errors all become one CorruptData, raised for good."""

    def __init__(self, open_reader: Callable[[], _CodecReader]) -> None:
        super().__init__()
        self._open = open_reader
        self._reader = open_reader()
        self._pending = b""
        self._error: CorruptData | None = None
        self._pos = 0

    def readable(self) -> bool:
        """Always: this stream is for reading only."""
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            if self._error is not None:
                raise self._error
            try:
                self._pending = self._reader.read1(len(buffer))  # one decoding step
            except _CODEC_ERRORS as exc:
                self._error = CorruptData(f"the compressed data is corrupt or cut off ({exc})")
                self._pending = self._salvage(len(buffer))
                if not self._pending:
                    raise self._error from exc
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._pos += count
        return count

    def tell(self) -> int:
        """The position in the data this stream yields."""
        return self._pos

    def _salvage(self, step: int) -> bytes:
        """What the failed step decoded before the damage (the codecs drop all of it).

        The data is decoded again from its start up to where the failed step began, then
        the step is redone a byte at a time: slow, but only ever once, for damaged data.
        """
        reader = self._open()
        out = b""
        try:
            skip = self._pos
            while skip:
                chunk = reader.read1(min(skip, 1 << 16))
                if not chunk:
                    return b""
                skip -= len(chunk)
            while len(out) < step and (byte := reader.read1(1)):
                out += byte
        except _CODEC_ERRORS:
            pass
        return out


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
    """A peekable reader over `raw`, reading it 64 KiB at a time."""
    return io.BufferedReader(raw, buffer_size=1 << 16)


def file_slice(handle: BinaryIO, start: int, length: int) -> io.BufferedReader:
    """A peekable stream over part of an open file."""
    return buffered(SliceReader(handle, start, length))


def inflate(source: Readable, *, raw_deflate: bool) -> io.BufferedReader:
    """A peekable stream of the decompressed bytes of a zlib (or raw deflate) stream."""
    return buffered(InflateReader(source, -15 if raw_deflate else 15))


def decompress(kind: str, handle: BinaryIO) -> Stream:
    """A peekable stream of a gzip, bz2, xz/lzma or zlib compressed file's content."""
    if kind == "zlib":
        return inflate(handle, raw_deflate=False)
    start = handle.tell()

    def open_reader() -> _CodecReader:
        handle.seek(start)
        if kind == "gzip":
            return gzip.GzipFile(fileobj=handle, mode="rb")
        if kind == "bzip2":
            return bz2.BZ2File(handle, mode="rb")
        return lzma.LZMAFile(handle, mode="rb")

    return buffered(_Guarded(open_reader))


def read_head(stream: Stream, size: int) -> bytes:
    """Up to `size` bytes from the start; of corrupt data, the bytes before the damage.

    Raises CorruptData only when not one byte decodes. (`read` would lose the bytes it had
    gathered when the damage interrupts it; buffered bytes are taken as they come instead.)
    """
    head = b""
    try:
        while len(head) < size:
            available = len(stream.peek(size - len(head)))
            if not available:
                break
            head += stream.read(min(available, size - len(head)))
    except CorruptData:
        if not head:
            raise
    return head
