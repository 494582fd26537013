"""Model data to scan, made from a file, bytes in memory, or a stream of bytes.

A stream (an archive member, decompressed data) is read from its start as often as a
handler asks and never held whole, except by the formats that need random access: those
get it spooled (in memory up to SPOOL_IN_MEMORY, then in an unlinked temporary file), up
to MAX_WHOLE bytes; past that the handler meets TooLarge, which becomes a finding.
"""

from __future__ import annotations

import dataclasses
import io
import tempfile
from collections.abc import Callable
from typing import IO, Any, BinaryIO, cast

from mlsecops.core.findings import Finding
from mlsecops.modelscan.formats.base import (
    HEAD_SIZE,
    Accept,
    Context,
    Data,
    Sniffed,
    TooLarge,
    Where,
)
from mlsecops.modelscan.joblib_arrays import after_build
from mlsecops.modelscan.pickle_findings import Loader
from mlsecops.modelscan.pickle_stream import Parse, read_bytes, read_stream
from mlsecops.modelscan.streams import CorruptData, Stream, read_head

MAX_WHOLE = 1 << 30  # data read whole for random access (no real archive member is larger)
SPOOL_IN_MEMORY = 32 << 20  # past this, spooled data goes to an unlinked temporary file
_CHUNK = 1 << 20


def file_data(handle: BinaryIO, size: int, where: Where, name: str) -> Data:
    """A whole open file (seekable)."""

    def fresh() -> Stream:
        handle.seek(0)
        return peekable(handle)

    def random_access() -> BinaryIO:
        handle.seek(0)
        return handle

    handle.seek(0)
    head = handle.read(HEAD_SIZE)

    def parse() -> Parse:
        if len(head) == size:  # the whole file is the head already read: not read again
            return read_bytes(head, where.budget, after_build)
        return read_stream(fresh, size, where.budget, after_build)

    return Data(where, _sniffed(head, name, parse), fresh, random_access, size, on_disk=handle)


def bytes_data(blob: bytes, where: Where, name: str = "") -> Data:
    """Bytes held in memory (nested in a pickle, or a small member already read)."""

    def fresh() -> Stream:
        return io.BufferedReader(io.BytesIO(blob))

    def random_access() -> BinaryIO:
        return io.BytesIO(blob)

    sniffed = _sniffed(blob[:HEAD_SIZE], name, lambda: read_bytes(blob, where.budget, after_build))
    return Data(where, sniffed, fresh, random_access, len(blob))


def nested_blob(
    where: Where, context: Context, loader: Loader
) -> Callable[[bytes, str], list[Finding]]:
    """Scans bytes found inside the data at `where` (a blob a loader unpickles), one level
    deeper, with `location` as the prefix of each finding's location."""

    def scan(blob: bytes, location: str) -> list[Finding]:
        inner = dataclasses.replace(where.inside(prefix=location), loader=loader)
        return context.scan(bytes_data(blob, inner), Accept.LOADABLE)

    return scan


def stream_data(fresh: Callable[[], Stream], where: Where, name: str) -> Data:
    """Bytes read through a stream, fresh from the start on each call; raises CorruptData
    when not one byte of it decodes."""
    head = read_head(fresh(), HEAD_SIZE)
    spooled: list[BinaryIO] = []

    def random_access() -> BinaryIO:
        if not spooled:
            spooled.append(spool(fresh))
        spooled[0].seek(0)
        return spooled[0]

    sniffed = _sniffed(head, name, lambda: read_stream(fresh, None, where.budget, after_build))
    return Data(where, sniffed, fresh, random_access)


def spool(fresh: Callable[[], Stream], limit: int = MAX_WHOLE) -> BinaryIO:
    """The stream's bytes in a seekable file, up to damage; TooLarge past `limit` bytes."""
    # Not a context manager: the caller reads the spooled copy after this returns.
    out = cast(IO[bytes], tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY))  # noqa: SIM115
    stream = fresh()
    total = 0
    try:
        while chunk := _next_chunk(stream):
            total += len(chunk)
            if total > limit:
                out.close()
                raise TooLarge("this data, which its format needs whole,", limit)
            out.write(chunk)
    except CorruptData:
        pass  # what decoded before the damage is the data (the damage is reported elsewhere)
    out.seek(0)
    return cast(BinaryIO, out)


def _next_chunk(stream: Stream) -> bytes:
    # peek, then take what is buffered: a plain read() would drop the bytes it gathered
    # before a decoding error interrupted it.
    available = len(stream.peek(_CHUNK))
    return stream.read(min(available, _CHUNK)) if available else b""


def _sniffed(head: bytes, name: str, parse: Callable[[], Parse]) -> Sniffed:
    return Sniffed(head, name, parse)


def peekable(handle: BinaryIO) -> Stream:
    """A peekable stream over `handle`, which stays open when the stream is dropped."""
    if hasattr(handle, "peek"):
        return cast(Stream, handle)
    return _Borrowed(cast(Any, handle))


class _Borrowed(io.BufferedReader):
    """A peekable reader over a handle it does not own: dropping it leaves the handle open."""

    def close(self) -> None:
        """Leave the borrowed handle open."""
