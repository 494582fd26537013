"""The bytes under the pickle machine: in memory, or a window over a stream.

Positions are plain Python integers (no `tell()` per opcode, no reader object per
argument): a small file is read whole, a large one or a decompressed stream through a
window that refills in steps of 1 MiB. Array payloads are skipped with `seek` where the
stream can seek, so a plain file's weights are never read.

Frames are read the way CPython's C unpickler (`pickle.load`) reads them, which is not the
way the pickle format describes them. FRAME makes it read the frame's bytes into its
buffer; `pickle.loads`, and a file whose frame fits what `peek()` returns, then read on
across the frame's end as if it were not there (transparent). But a frame fetched with
`read(n)` (a file object without `peek`, such as the BytesIO that torch.load unpickles
from, or a frame larger than the file's buffer) is a buffer of its own: a read that
crosses its end drops the rest of the frame and starts again after it, and so does the
next pickle after a STOP inside the frame. A pickle that no pickler writes can therefore
mean different opcodes to different loaders. Each place where the readings part is a
*decision*; a Reader follows the list of decisions it is given (True: drop the frame's
tail, False: read on), so the machine can read the pickle once for every combination.
Other disagreements (a frame longer than the data, bytes that cross a frame end where both
readings agree) are only recorded, in `anomalies`.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from typing import Protocol

from mlsecops.modelscan.budget import BudgetExceeded, Limit
from mlsecops.modelscan.streams import CorruptData

CHUNK = 1 << 20  # largest refill step of a window over a stream
FIRST_STEP = 64 << 10  # first step, and again after a seek (joblib: opcodes between arrays)
WHOLE_FILE = 1 << 20  # files up to this size are read into memory at once
LINE_CAP = 1 << 20  # a text argument longer than this is skipped, not held
MAX_ANOMALIES = 100  # frame disagreements described (one is enough to report the file)


class Readable(Protocol):
    """What a Reader reads from: a file, a zip member, a decompressor."""

    def read(self, size: int = ..., /) -> bytes:
        """Up to `size` bytes (all that is left by default); b"" at the end."""


class Truncated(Exception):
    """The data ended inside an opcode's argument."""


class LineTooLong(Exception):
    """A text argument longer than LINE_CAP; it was consumed, only its head is kept."""

    def __init__(self, head: bytes, length: int) -> None:
        super().__init__(f"a line of {length} bytes")
        self.head = head
        self.length = length


class Reader:
    """Bytes with a position; see the module docstring for frames and decisions."""

    __slots__ = (
        "_decisions",
        "_eof",
        "_error",
        "_frame_end",
        "_max_bytes",
        "_origin",
        "_seekable",
        "_size",
        "_step",
        "_stream",
        "_streamed",
        "anomalies",
        "base",
        "data",
        "decision_count",
        "limit",
        "pos",
    )

    def __init__(
        self,
        data: bytes = b"",
        stream: Readable | None = None,
        *,
        size: int | None = None,
        max_bytes: int | None = None,
        decisions: Sequence[bool] = (),
    ) -> None:
        self.data = data  # the window: bytes [base, base + len(data)) of the stream
        self.pos = 0  # the next byte, as an index into data
        self.base = 0
        self.limit = len(data)  # reads up to here need no check (window end or frame end)
        self._stream = stream
        self._seekable = stream is not None and size is not None and _seekable(stream)
        # Where base 0 is in a seekable stream (seeks are absolute).
        self._origin = stream.tell() if self._seekable else 0  # type: ignore[union-attr]
        self._size = size
        self._streamed = len(data)  # bytes taken from the stream so far
        self._step = FIRST_STEP  # the next refill's size: grows while reads run on
        self._eof = stream is None
        self._error: CorruptData | None = None  # raised once the bytes before it are used
        self._max_bytes = max_bytes
        self._frame_end: int | None = None
        self._decisions = decisions
        self.decision_count = 0
        self.anomalies: list[str] = []

    @classmethod
    def over(
        cls,
        handle: Readable,
        size: int | None,
        *,
        max_bytes: int | None = None,
        decisions: Sequence[bool] = (),
    ) -> Reader:
        """A reader from the handle's position: `size` bytes read whole when that is small
        (`size` None: a stream of unknown length), else a window that refills."""
        if size is not None and size <= WHOLE_FILE:
            return cls(handle.read(size), decisions=decisions)
        return cls(b"", handle, size=size, max_bytes=max_bytes, decisions=decisions)

    @property
    def offset(self) -> int:
        """The absolute position of the next byte."""
        return self.base + self.pos

    # -- reads, as the C unpickler makes them ------------------------------------------

    def read(self, n: int) -> bytes:
        """`n` bytes (the unpickler's buffered read: a frame's tail may be dropped)."""
        pos = self.pos
        end = pos + n
        if end <= self.limit:
            self.pos = end
            return self.data[pos:end]
        self._cross(n, drops=True)
        return self._take(n)

    def read_data(self, n: int) -> bytes:
        """`n` bytes of BINBYTES or BYTEARRAY8 data (read straight through any frame end)."""
        pos = self.pos
        end = pos + n
        if end <= self.limit:
            self.pos = end
            return self.data[pos:end]
        self._cross(n, drops=False)
        return self._take(n)

    def skip(self, n: int, *, drops: bool) -> None:
        """Pass over `n` bytes without holding them (seek where the stream can)."""
        if self.pos + n > self.limit:
            self._cross(n, drops=drops)
        available = len(self.data) - self.pos
        if n <= available:
            self.pos += n
            self._set_limit()
            return
        self._drop_window()
        self._pass_stream(n - available)

    def peek(self, n: int) -> bytes:
        """Up to `n` bytes ahead, without moving (fewer at the end of the data)."""
        if len(self.data) - self.pos < n:
            self._fill(n)
        return self.data[self.pos : self.pos + n]

    def readline(self) -> bytes:
        """A line including its newline (the unpickler's readline, frames included)."""
        end = self.data.find(b"\n", self.pos, self.limit)
        if end >= 0:
            line = self.data[self.pos : end + 1]
            self.pos = end + 1
            return line
        return self._readline_slow()

    def opcode(self) -> int:
        """The next opcode byte, -1 at the end of the data (the slow path of the machine)."""
        if self._frame_end is not None and self.offset >= self._frame_end:
            self._frame_end = None  # the frame was read exactly to its end
        if self.pos >= len(self.data):
            self._fill(1)
        self._set_limit()
        if self.pos >= len(self.data):
            if self._frame_end is not None:
                missing = self._frame_end - self.offset
                self._note(f"a frame runs {missing} bytes past the end of the data")
                self._frame_end = None
            return -1
        code = self.data[self.pos]
        self.pos += 1
        return code

    def at_end(self) -> bool:
        """True when no byte is left."""
        return not self.peek(1)

    # -- frames ------------------------------------------------------------------------

    def begin_frame(self, length: int) -> None:
        """A FRAME of `length` bytes starts here (its opcode and length were just read)."""
        here = self.offset
        end = self._frame_end
        if end is not None and here < end:
            if here + length <= end:
                # Inside the buffer the unpickler already holds: it changes nothing there.
                self._note(f"a FRAME at byte offset {here} inside another frame")
                return
            if self._decide(f"a FRAME at byte offset {here} runs past the frame it is in"):
                self._skip_to(end)
                here = end
        self._frame_end = here + length
        self._set_limit()

    def end_pickle(self) -> None:
        """After STOP: where the next `pickle.load` of the same file starts."""
        end = self._frame_end
        self._frame_end = None
        if end is not None and self.offset < end:
            where = f"STOP at byte offset {self.offset - 1}, {end - self.offset} bytes before"
            if self._decide(f"{where} the end of its frame"):
                self._skip_to(end)
        self._set_limit()

    def _cross(self, n: int, *, drops: bool) -> None:
        end = self._frame_end
        if end is None or self.offset + n <= end:
            return
        self._frame_end = None
        if self.offset >= end:  # the frame was read exactly to its end: no crossing
            self._set_limit()
            return
        what = f"a read of {n} bytes at byte offset {self.offset} crosses the frame end at {end}"
        if not drops:
            self._note(what)
        elif self._decide(what):
            self._skip_to(end)
        self._set_limit()

    def _note(self, what: str) -> None:
        if len(self.anomalies) < MAX_ANOMALIES:
            self.anomalies.append(what)

    def _decide(self, what: str) -> bool:
        self._note(what)
        index = self.decision_count
        self.decision_count += 1
        return index < len(self._decisions) and self._decisions[index]

    def _skip_to(self, target: int) -> None:
        self._frame_end = None
        gap = target - self.offset
        if gap > 0:
            # A frame that claims more than the data holds: this reading ends at the end.
            with contextlib.suppress(Truncated):
                self.skip(gap, drops=False)

    def _set_limit(self) -> None:
        end = self._frame_end
        size = len(self.data)
        self.limit = size if end is None else max(self.pos, min(size, end - self.base))

    # -- the window --------------------------------------------------------------------

    def _take(self, n: int) -> bytes:
        if len(self.data) - self.pos < n:
            self._fill(n)
            if len(self.data) - self.pos < n:
                raise Truncated(f"{n} bytes announced, {len(self.data) - self.pos} left")
        pos = self.pos
        self.pos = pos + n
        self._set_limit()
        return self.data[pos : pos + n]

    def _readline_slow(self) -> bytes:
        end = self._frame_end
        if end is not None and self.offset >= end:
            self._frame_end = end = None
        if end is not None:
            self._frame_end = None
            what = f"a line at byte offset {self.offset} crosses the frame end at {end}"
            if self._decide(what):
                self._skip_to(end)
        start = self.pos
        while (found := self.data.find(b"\n", start)) < 0:
            start = len(self.data)
            if start - self.pos > LINE_CAP:
                return self._skip_long_line()
            if not self._fill(start - self.pos + 1):
                raise Truncated("no newline before the end of the data")
        line = self.data[self.pos : found + 1]
        self.pos = found + 1
        self._set_limit()
        return line

    def _skip_long_line(self) -> bytes:
        head = self.data[self.pos : self.pos + 256]
        length = 0
        while (found := self.data.find(b"\n", self.pos)) < 0:
            length += len(self.data) - self.pos
            self.pos = len(self.data)
            if not self._fill(1):
                raise Truncated("no newline before the end of the data")
        length += found + 1 - self.pos
        self.pos = found + 1
        self._set_limit()
        raise LineTooLong(head, length)

    def _fill(self, need: int) -> bool:
        """Make `need` bytes available from pos if the stream has them; False at its end.

        Compressed data that is corrupt raises CorruptData, but only once every byte that
        decoded before the damage has been read.
        """
        if self._eof or len(self.data) - self.pos >= need:
            if self._error is not None and len(self.data) - self.pos < need:
                raise self._error
            return len(self.data) - self.pos >= need
        parts = [self.data[self.pos :]]
        have = len(parts[0])
        self.base += self.pos
        self.pos = 0
        try:
            while have < need:
                chunk = self._pull(max(self._step, need - have))
                self._step = min(2 * self._step, CHUNK)
                if not chunk:
                    self._eof = True
                    break
                parts.append(chunk)
                have += len(chunk)
        except CorruptData as exc:
            self._error = exc
            self._eof = True
        self.data = b"".join(parts)
        self._set_limit()
        if self._error is not None and have < need:
            raise self._error
        return have >= need

    def _pull(self, size: int) -> bytes:
        assert self._stream is not None
        if self._max_bytes is not None and self._streamed + size > self._max_bytes:
            size = self._max_bytes - self._streamed
            if size <= 0:
                raise BudgetExceeded(
                    Limit.DECOMPRESSED,
                    f"stopped after {self._streamed} bytes of decompressed data",
                )
        # One decoding step at a time (read1): a read() that meets damage would drop the
        # bytes it had already gathered.
        read1 = getattr(self._stream, "read1", None)
        chunk: bytes = read1(size) if read1 is not None else self._stream.read(size)
        self._streamed += len(chunk)
        return chunk

    def _drop_window(self) -> None:
        self.base += len(self.data)
        self.data = b""
        self.pos = 0
        self.limit = 0

    def _pass_stream(self, count: int) -> None:
        """Move `count` bytes on in the stream (the window is empty)."""
        if self._stream is None:
            raise Truncated(f"{count} bytes past the end of the data")
        if self._seekable and self._size is not None:
            target = self.base + count
            if target > self._size:
                self.base = self._size
                self._eof = True
                raise Truncated(f"{target - self._size} bytes past the end of the file")
            self._stream.seek(self._origin + target)  # type: ignore[attr-defined]
            self.base = target
            self._streamed = target
            self._step = FIRST_STEP
            return
        while count > 0:
            chunk = self._pull(min(count, CHUNK))
            if not chunk:
                self._eof = True
                raise Truncated(f"the data ended {count} bytes short")
            count -= len(chunk)
            self.base += len(chunk)


def _seekable(stream: Readable) -> bool:
    try:
        return isinstance(stream, io.IOBase) and stream.seekable()
    except (OSError, ValueError):
        return False
