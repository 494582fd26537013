"""Symbolic execution of pickle opcodes: what a pickle would import, call and build.

Nothing is imported or unpickled. A small stack machine runs the opcodes the way CPython's
C unpickler reads them (pickle_reader.py: bytes, lines and frames), and tracks just enough
of each value to say which global a REDUCE / INST / OBJ / NEWOBJ / BUILD acts on, through
the memo (PUT/GET) and STACK_GLOBAL's strings. A file may hold several pickles one after
another; each is a `Segment`. Repeats of the same event are counted on its first
occurrence, so memory follows what a pickle names, not how many opcodes it has.

Every opcode is bounded (budget.py): a pickle that would make the machine run or hold too
much stops with the budget it hit, and says so.
"""

from __future__ import annotations

import codecs
import math
import pickletools
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from mlsecops.modelscan import encoded
from mlsecops.modelscan.budget import Budget, BudgetExceeded, Limit, Skipped
from mlsecops.modelscan.pickle_reader import LineTooLong, Reader, Truncated
from mlsecops.modelscan.pickle_values import (
    KEEP,
    MARK,
    Action,
    DictValue,
    Global,
    Items,
    LargeData,
    Opaque,
    Result,
    is_text,
)
from mlsecops.modelscan.signatures import BLOB_MAGIC, OLD_PICKLE_START
from mlsecops.modelscan.streams import CorruptData
from mlsecops.secretscan.matching import might_hold_secret


@dataclass(frozen=True, slots=True)
class Position:
    """Where an opcode is."""

    index: int  # 0-based opcode number within its pickle
    offset: int  # byte offset from the start of the stream

    def describe(self) -> str:
        """For a finding's location."""
        return f"opcode {self.index} at byte offset {self.offset}"


@dataclass(slots=True)
class Event:
    """What the pickle does, at its first occurrence; `count` says how often in all."""

    action: Action
    target: object
    position: Position
    opcode: str
    args: object = None
    count: int = 1  # the one mutable field: repeats are counted here, not stored


@dataclass(frozen=True, slots=True)
class Blob:
    """Data inside the pickle that is itself a pickle, zip or .npy (to be scanned)."""

    position: Position
    data: bytes
    encoding: str = ""  # "" for raw bytes; "base64" or "hex" for data hidden as text


@dataclass(slots=True)
class Segment:
    """One pickle (PROTO ... STOP) in a stream, and what it would do."""

    start: int
    events: list[Event] = field(default_factory=list)
    blobs: list[Blob] = field(default_factory=list)
    inner: list[Segment] = field(default_factory=list)  # pickles embedded in the stream
    skipped: list[Skipped] = field(default_factory=list)  # not checked: a budget ran out
    ops: int = 0
    error: str = ""  # why reading stopped before STOP; "" when it reached STOP
    corrupt: bool = False  # stopped by compressed data that could not be decoded
    budget: Skipped | None = None  # the budget that stopped it
    end: int = 0
    result: object = None
    names_global: bool = False  # a GLOBAL, INST or STACK_GLOBAL was read
    # Strings that may hold a secret, for the secrets collector: (offset, the str pushed
    # just before it, e.g. its dict key, or "", the string).
    texts: list[tuple[int, str, str]] = field(default_factory=list)
    # Files a loader unpickles because this pickle names them (old joblib array wrappers).
    external: list[tuple[Position, str]] = field(default_factory=list)


class StreamDesync(Exception):
    """Raised when the machine cannot tell where the pickle continues."""


class _Underflow(Exception):
    pass


class _Stop(Exception):
    pass


# Called after BUILD with (object, state, the machine); may read raw bytes that a library
# (joblib) interleaves with the opcodes, and returns the pickles found inside them.
BuildHook = Callable[["Machine", object, object], list[Segment]]

CONST_CAP = 64 << 20  # bytes and text up to this size are read whole and checked
MIN_SECRET_TEXT = 20  # the shortest credential a rule knows (an AWS key ID) is this long
MAX_SECRET_TEXT = 1 << 20  # longer strings are not kept for the secret rules
MAX_SECRET_TEXTS = 256  # strings kept for the secret rules, per pickle
MAX_BARE_VALUE = 512  # a value kept for its key's sake is a credential, so short
SMALL_BYTES = 4096  # bytes longer than this are kept as LargeData once checked
SMALL_TEXT = 64 << 10  # text longer than this is kept as LargeData once checked
_CHECKPOINT = 1 << 16  # opcodes between budget checks


def analyze(
    reader: Reader, budget: Budget, hook: BuildHook | None = None, depth: int = 0
) -> Segment:
    """Run one pickle's opcodes symbolically, from the reader's position up to STOP."""
    machine = Machine(reader, budget, hook, depth)
    machine.run()
    return machine.segment


def analyze_bytes(data: bytes, budget: Budget | None = None) -> Segment:
    """`analyze` of the first pickle in bytes held in memory."""
    return analyze(Reader(data), budget or Budget.for_file(len(data)))


def names_a_global(segment: Segment) -> bool:
    """True when magic-less data, parsed from its start into `segment`, is a protocol 0/1 pickle.

    It is one when it parses to STOP with at least two opcodes, or when it names a global
    (GLOBAL, INST, STACK_GLOBAL): the unpickler imports the name before it meets whatever
    breaks the data later, so a payload followed by junk, or with no STOP, still runs.
    """
    if segment.names_global:
        return True
    return segment.ops >= 2 and not segment.error


def looks_like_old_pickle(data: bytes, budget: Budget) -> bool:
    """True when bytes with no pickle magic parse as a protocol 0/1 pickle (see above)."""
    if not data or data[0] not in OLD_PICKLE_START:
        return False
    machine = Machine(Reader(data), budget, None, 0, look_inside=False)
    machine.run()
    return names_a_global(machine.segment)


class Machine:
    """The stack machine; one per pickle. Opcode handlers are the `_op_*` methods."""

    def __init__(
        self,
        reader: Reader,
        budget: Budget,
        hook: BuildHook | None,
        depth: int,
        *,
        look_inside: bool = True,
    ) -> None:
        self.reader = reader
        self.budget = budget
        self.hook = hook
        self.depth = depth  # pickles read inline inside this one (joblib object arrays)
        self.look_inside = look_inside  # check constants for hidden pickles
        self.stack: list[object] = []
        self.memo: list[object] = []  # dense memo; holes and far-away keys: see _memo_put
        self.memo_far: dict[int, object] = {}
        self.memo_len = 0  # filled entries (MEMOIZE's next key, as in the unpickler)
        self.index = self.offset = self.charged = 0
        self.counts: dict[tuple[object, ...], Event] = {}
        self.checked: dict[int, object] = {}  # constants already checked (kept alive here)
        self.segment = Segment(reader.offset, [], [], [], [], external=[])

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        """Read opcodes up to STOP, an error, or a budget."""
        try:
            self._loop()
        finally:
            self._charge(self.segment.ops)
        self.segment.end = self.reader.offset

    def _loop(self) -> None:
        reader = self.reader
        handlers = _HANDLERS
        index = code = 0
        try:
            checkpoint = self._checkpoint(0)
            while True:
                pos = reader.pos
                self.offset = reader.base + pos
                if pos < reader.limit:
                    code = reader.data[pos]
                    reader.pos = pos + 1
                else:
                    code = reader.opcode()
                handler = handlers[code]
                if handler is None:
                    self.segment.error = self._bad_opcode(code)
                    return
                self.index = index
                handler(self)
                index += 1
                if index >= checkpoint:
                    checkpoint = self._checkpoint(index)
        except _Stop:
            index += 1
        except Exception as exc:
            self._stopped(exc, _NAMES.get(code, "opcode"))
        finally:
            self.segment.ops = index  # opcodes run to completion

    def _stopped(self, exc: Exception, name: str) -> None:
        """Record why reading stopped before STOP; re-raise what is not about the data."""
        segment = self.segment
        where = f"{name} at byte offset {self.offset}"
        if isinstance(exc, BudgetExceeded):
            segment.budget = Skipped(exc.limit, exc.detail)
            segment.error = f"stopped at {where}: {exc}"
        elif isinstance(exc, CorruptData):
            segment.corrupt = True  # what ran before the damage was recorded
            segment.error = str(exc)
        elif isinstance(exc, _Underflow):
            segment.error = f"{where} underflows the stack"
        elif isinstance(exc, KeyError):
            segment.error = f"{where}: no memo entry {exc}"
        elif isinstance(exc, StreamDesync):
            segment.error = f"after {where}: {exc}"
        elif isinstance(exc, Truncated | LineTooLong | ValueError | OverflowError):
            segment.error = f"{where} is malformed: {exc}"
        elif isinstance(exc, MemoryError | RecursionError):
            segment.error = f"{where}: {type(exc).__name__}"
        else:
            raise exc

    def _checkpoint(self, index: int) -> int:
        """Charge the opcodes read so far; the index of the next check."""
        self._charge(index)
        if self.budget.opcodes_left <= 0:
            raise BudgetExceeded(
                Limit.OPCODES, f"{index} opcodes read in this pickle, and the file's budget "
                f"of {self.budget.limits.opcodes} opcodes plus one per byte is spent",
            )  # fmt: skip
        if len(self.stack) > self.budget.limits.stack:
            raise BudgetExceeded(Limit.STACK, f"{len(self.stack)} items on the stack")
        return index + min(_CHECKPOINT, self.budget.opcodes_left)

    def _charge(self, done: int) -> None:
        self.budget.opcodes_left -= done - self.charged
        self.charged = done

    def _bad_opcode(self, code: int) -> str:
        if code < 0:
            return "the data ended before STOP"
        return f"byte {bytes([code])!r} at offset {self.offset} is not a pickle opcode"

    def reader_byte(self) -> int:
        """The opcode being run (its byte, while it is still in the reader's window)."""
        at = self.offset - self.reader.base
        data = self.reader.data
        return data[at] if 0 <= at < len(data) else -1

    def position(self) -> Position:
        """The position of the opcode being run."""
        return Position(self.index, self.offset)

    # -- stack -----------------------------------------------------------------------------

    def pop(self) -> object:
        """The top value (never a MARK)."""
        stack = self.stack
        if not stack or stack[-1] is MARK:
            raise _Underflow
        return stack.pop()

    def top(self) -> object:
        """The top value, left in place."""
        stack = self.stack
        if not stack or stack[-1] is MARK:
            raise _Underflow
        return stack[-1]

    def pop_mark(self) -> list[object]:
        """The values above the topmost MARK, which is removed with them."""
        stack = self.stack
        for depth in range(len(stack) - 1, -1, -1):
            if stack[depth] is MARK:
                items = stack[depth + 1 :]
                del stack[depth:]
                return items
        raise _Underflow

    # -- events and nested data ----------------------------------------------------------

    def event(self, action: Action, target: object, args: object = None) -> None:
        """Record what the pickle does (its first occurrence, and a count)."""
        key = (action, _key(target), *_role_keys(args))
        known = self.counts.get(key)
        if known is not None:
            known.count += 1
            return
        opcode = _NAMES.get(self.reader_byte(), "")
        event = Event(action, target, self.position(), opcode, args)
        self.counts[key] = event
        self.segment.events.append(event)

    def push_bytes(self, value: bytes) -> None:
        """Push bytes, after looking inside them for a pickle, zip or .npy."""
        if encoded.MIN_LENGTH <= len(value) <= SMALL_BYTES:
            self._keep_for_secrets(value.decode("latin-1"))  # a token pickled as bytes
        if self.look_inside and len(value) > 2:
            self._inspect(value)
        self.stack.append(value if len(value) <= SMALL_BYTES else _summary("bytes", value))

    def push_text(self, value: str) -> None:
        """Push text, after looking inside it for a pickle hidden as base64 or hex."""
        self._keep_for_secrets(value)
        if self.look_inside and len(value) >= encoded.MIN_LENGTH:
            self._inspect_text(value)
        if len(value) <= SMALL_TEXT:
            self.stack.append(value)
            return
        if self.look_inside:
            # Too long to keep for the check of call arguments: checked here instead.
            self.check_call_arguments(value)
        self.stack.append(_summary("str", value.encode("utf-8", "surrogatepass")))

    def _keep_for_secrets(self, value: str) -> None:
        """Keep a string a secret rule would look at, with the string before it: in a dict
        (`{"WANDB_API_KEY": "..."}`) that is its key, which some rules need to see."""
        texts = self.segment.texts
        size = len(value)
        if size < MIN_SECRET_TEXT or size > MAX_SECRET_TEXT or len(texts) >= MAX_SECRET_TEXTS:
            return
        if might_hold_secret(value):
            texts.append((self.offset, "", value))
            return
        # A bare value (40 hex digits) needs its key's name for the rule to see it.
        stack = self.stack
        if len(value) <= MAX_BARE_VALUE and stack and type(stack[-1]) is str:
            key = stack[-1]
            if might_hold_secret(key):
                texts.append((self.offset, key, value))

    def push_large(self, kind: str, size: int) -> None:
        """Bytes or text past CONST_CAP: skipped, with a note when they might hide a pickle."""
        head = self.reader.peek(256)
        self.reader.skip(size, drops=kind != "bytes")
        suspicious = head.startswith(BLOB_MAGIC) or encoded.decode_head(head) is not None
        if suspicious and self.look_inside:
            detail = f"{size} bytes of {kind} data at byte offset {self.offset} are larger than "
            detail += f"{CONST_CAP >> 20} MiB and start like hidden model data"
            self.segment.skipped.append(Skipped(Limit.NESTED, detail))
        self.stack.append(LargeData(kind, size, head[:64], checked=False))

    def _inspect(self, value: bytes) -> None:
        if value.startswith(BLOB_MAGIC) or looks_like_old_pickle(value, self.budget):
            self._blob(value, "")
        elif value[:1].isascii():
            self._inspect_text(value)

    def _inspect_text(self, value: str | bytes) -> None:
        found = encoded.decode(value)
        if found is None:
            return
        encoding, data = found
        if data.startswith(BLOB_MAGIC) or looks_like_old_pickle(data, self.budget):
            self._blob(data, encoding)

    def _blob(self, data: bytes, encoding: str) -> None:
        admitted = self.budget.admit_nested(data)
        if isinstance(admitted, Skipped):
            self.segment.skipped.append(admitted)
        elif admitted:
            self.segment.blobs.append(Blob(self.position(), data, encoding))

    def check_call_arguments(self, args: object) -> None:
        """Strings passed to a call may be protocol 0 pickles for `loads` (no magic)."""
        items = args.items if isinstance(args, Items) else [args]
        for item in items:
            if not isinstance(item, str) or id(item) in self.checked:
                continue
            self.checked[id(item)] = item
            data = item.encode("latin-1", "replace")
            ends_like_one = len(data) > 4 and data.rstrip(b"\n").endswith(b".")
            if ends_like_one and looks_like_old_pickle(data, self.budget):
                self._blob(data, "")

    # -- memo ---------------------------------------------------------------------------

    def memo_put(self, key: int) -> None:
        """memo[key] = top of the stack."""
        stack = self.stack
        if not stack or stack[-1] is MARK:
            raise _Underflow
        value = stack[-1]
        memo = self.memo
        if key == len(memo):  # the usual case: keys in order
            memo.append(value)
            self.memo_len += 1
        elif key < len(memo):
            if memo[key] is _HOLE:
                self.memo_len += 1
            memo[key] = value
        elif key < len(memo) + _MEMO_GAP:
            memo.extend([_HOLE] * (key - len(memo)))
            memo.append(value)
            self.memo_len += 1
        else:
            self.memo_len += key not in self.memo_far
            self.memo_far[key] = value

    def memo_get(self, key: int) -> object:
        """memo[key] (KeyError when there is none)."""
        if 0 <= key < len(self.memo):
            value = self.memo[key]
            if value is not _HOLE:
                return value
            raise KeyError(key)
        return self.memo_far[key]

    # -- opcodes: constants ---------------------------------------------------------------

    def _op_none(self) -> None:
        self.stack.append(None)

    def _op_newtrue(self) -> None:
        self.stack.append(True)

    def _op_newfalse(self) -> None:
        self.stack.append(False)

    def _op_binint1(self) -> None:
        self.stack.append(self._byte())

    def _byte(self) -> int:
        """One argument byte (in place when it is in the window: the usual case)."""
        reader = self.reader
        pos = reader.pos
        if pos < reader.limit:
            reader.pos = pos + 1
            return reader.data[pos]
        return reader.read(1)[0]

    def _op_binint2(self) -> None:
        self.stack.append(int.from_bytes(self.reader.read(2), "little"))

    def _op_binint(self) -> None:
        self.stack.append(int.from_bytes(self.reader.read(4), "little", signed=True))

    def _op_long1(self) -> None:
        self._counted_long(self.reader.read(1)[0])

    def _op_long4(self) -> None:
        size = int.from_bytes(self.reader.read(4), "little", signed=True)
        if size < 0:
            raise ValueError("LONG pickle has negative byte count")
        self._counted_long(size)

    def _counted_long(self, size: int) -> None:
        if size > CONST_CAP:
            self.push_large("int", size)
            return
        self.stack.append(int.from_bytes(self.reader.read(size), "little", signed=True))

    def _op_binfloat(self) -> None:
        self.stack.append(struct.unpack(">d", self.reader.read(8))[0])

    def _op_int(self) -> None:
        text = self._text_line()
        self.stack.append(False if text == "00" else True if text == "01" else _int(text))

    def _op_long(self) -> None:
        text = self._text_line()
        self.stack.append(_int(text[:-1] if text.endswith("L") else text))

    def _op_float(self) -> None:
        text = self._text_line()
        try:
            self.stack.append(float(text))
        except ValueError:
            self.stack.append(math.nan)  # the unpickler refuses it; its value matters not

    def _text_line(self) -> str:
        line = self.reader.readline()
        if len(line) < 2:
            raise ValueError("an empty argument line")
        return line[:-1].decode("latin-1")

    def _op_string(self) -> None:
        try:
            line = self.reader.readline()[:-1]
        except LineTooLong as exc:
            self.stack.append(LargeData("str", exc.length, exc.head[:64], checked=False))
            return
        if len(line) >= 2 and line[:1] == line[-1:] and line[:1] in (b"'", b'"'):
            line = line[1:-1]
        try:
            self.push_text(_escape_decode(line).decode("latin-1"))
        except ValueError:
            self.stack.append(Opaque("malformed STRING"))

    def _op_unicode(self) -> None:
        try:
            line = self.reader.readline()[:-1]
        except LineTooLong as exc:
            self.stack.append(LargeData("str", exc.length, exc.head[:64], checked=False))
            return
        try:
            self.push_text(line.decode("raw-unicode-escape"))
        except UnicodeDecodeError:
            self.stack.append(Opaque("malformed UNICODE"))

    def _op_short_binstring(self) -> None:
        self._counted_text(self.reader.read(1)[0], "latin-1")

    def _op_binstring(self) -> None:
        size = int.from_bytes(self.reader.read(4), "little", signed=True)
        if size < 0:
            raise ValueError("BINSTRING pickle has negative byte count")
        self._counted_text(size, "latin-1")

    def _op_short_binunicode(self) -> None:
        # The most frequent opcode of protocol 4 pickles: read in place when it can be.
        reader = self.reader
        pos = reader.pos
        if pos < reader.limit:
            end = pos + 1 + reader.data[pos]
            if end <= reader.limit:
                reader.pos = end
                try:
                    text = reader.data[pos + 1 : end].decode("utf-8", "surrogatepass")
                except UnicodeDecodeError:
                    self.stack.append(Opaque("text that is not UTF-8"))
                    return
                if len(text) < encoded.MIN_LENGTH:
                    self.stack.append(text)
                else:
                    self.push_text(text)
                return
        self._counted_text(reader.read(1)[0], "utf-8")

    def _op_binunicode(self) -> None:
        size = int.from_bytes(self.reader.read(4), "little")
        reader = self.reader
        pos = reader.pos
        end = pos + size
        if end <= reader.limit and size < encoded.MIN_LENGTH:
            reader.pos = end  # a short name or key, in place: the usual case
            try:
                self.stack.append(reader.data[pos:end].decode("utf-8", "surrogatepass"))
                return
            except UnicodeDecodeError:
                reader.pos = pos
        self._counted_text(size, "utf-8")

    def _op_binunicode8(self) -> None:
        self._counted_text(_size8(self.reader.read(8)), "utf-8")

    def _counted_text(self, size: int, encoding: str) -> None:
        if size > CONST_CAP:
            self.push_large("str", size)
            return
        data = self.reader.read(size)
        try:
            self.push_text(data.decode(encoding, "surrogatepass"))
        except UnicodeDecodeError:
            self.stack.append(Opaque("text that is not UTF-8"))

    def _op_short_binbytes(self) -> None:
        self._counted_bytes(self.reader.read(1)[0])

    def _op_binbytes(self) -> None:
        self._counted_bytes(int.from_bytes(self.reader.read(4), "little"))

    def _op_binbytes8(self) -> None:
        self._counted_bytes(_size8(self.reader.read(8)))

    def _op_bytearray8(self) -> None:
        self._counted_bytes(_size8(self.reader.read(8)))

    def _counted_bytes(self, size: int) -> None:
        if size > CONST_CAP:
            self.push_large("bytes", size)
        else:
            self.push_bytes(self.reader.read_data(size))

    # -- opcodes: containers --------------------------------------------------------------

    def _op_mark(self) -> None:
        self.stack.append(MARK)

    def _op_empty_tuple(self) -> None:
        self.stack.append(Items("tuple"))

    def _op_empty_list(self) -> None:
        self.stack.append(Items("list"))

    def _op_empty_set(self) -> None:
        self.stack.append(Items("set"))

    def _op_empty_dict(self) -> None:
        self.stack.append(DictValue())

    def _op_tuple(self) -> None:
        self.stack.append(_items("tuple", self.pop_mark()))

    def _op_list(self) -> None:
        self.stack.append(_items("list", self.pop_mark()))

    def _op_frozenset(self) -> None:
        self.stack.append(_items("frozenset", self.pop_mark()))

    def _op_tuple1(self) -> None:
        self.stack.append(_items("tuple", [self.pop()]))

    def _op_tuple2(self) -> None:
        second = self.pop()
        self.stack.append(_items("tuple", [self.pop(), second]))

    def _op_tuple3(self) -> None:
        third, second = self.pop(), self.pop()
        self.stack.append(_items("tuple", [self.pop(), second, third]))

    def _op_dict(self) -> None:
        value = DictValue()
        value.update(self.pop_mark())
        self.stack.append(value)

    def _op_append(self) -> None:
        value = self.pop()
        target = self.top()
        if isinstance(target, Items):
            target.extend([value])

    def _op_appends(self) -> None:
        items = self.pop_mark()
        target = self.top()
        if isinstance(target, Items):
            target.extend(items)

    _op_additems = _op_appends

    def _op_setitem(self) -> None:
        value, key = self.pop(), self.pop()
        target = self.top()
        if isinstance(target, DictValue):
            target.update([key, value])

    def _op_setitems(self) -> None:
        items = self.pop_mark()
        target = self.top()
        if isinstance(target, DictValue):
            target.update(items)

    # -- opcodes: stack and memo ----------------------------------------------------------

    def _op_pop(self) -> None:
        if not self.stack:
            raise _Underflow
        self.stack.pop()  # a MARK on top is popped too, as the unpickler does

    def _op_pop_mark(self) -> None:
        self.pop_mark()

    def _op_dup(self) -> None:
        self.stack.append(self.top())

    def _op_put(self) -> None:
        key = int(self._text_line())
        if key < 0:
            raise ValueError("negative PUT argument")
        self.memo_put(key)

    def _op_binput(self) -> None:
        self.memo_put(self._byte())

    def _op_long_binput(self) -> None:
        self.memo_put(int.from_bytes(self.reader.read(4), "little"))

    def _op_memoize(self) -> None:
        memo = self.memo
        if self.memo_len == len(memo) and self.stack and self.stack[-1] is not MARK:
            memo.append(self.stack[-1])  # the usual case, inline: keys in order
            self.memo_len += 1
        else:
            self.memo_put(self.memo_len)

    def _op_get(self) -> None:
        self.stack.append(self.memo_get(int(self._text_line())))

    def _op_binget(self) -> None:
        key = self._byte()
        memo = self.memo
        value = memo[key] if key < len(memo) else _HOLE
        self.stack.append(value if value is not _HOLE else self.memo_get(key))

    def _op_long_binget(self) -> None:
        self.stack.append(self.memo_get(int.from_bytes(self.reader.read(4), "little")))

    # -- opcodes: globals, calls, objects ----------------------------------------------------

    def _op_global(self) -> None:
        target = self._named("utf-8")
        self.stack.append(target)

    def _op_inst(self) -> None:
        # pickle's Python unpickler (joblib's) imports the name before it looks for the
        # MARK, the C one after: read the name first, so an INST without a MARK names it.
        target = self._named("ascii")
        items = self.pop_mark()
        self._call(target, _items("tuple", items))

    def _named(self, encoding: str) -> Global:
        lines = (self.reader.readline(), self.reader.readline())
        if any(len(line) < 2 for line in lines):
            raise ValueError("an empty module or name line")
        module, name = (line[:-1].decode(encoding) for line in lines)
        return self._import(module, name)

    def _import(self, module: str, name: str) -> Global:
        target = Global(module, name)
        # Text that happens to start like GLOBAL does not count as naming one (data with no
        # magic is a pickle only when it names an importable-looking global).
        if _dotted_identifier(module) and _dotted_identifier(name):
            self.segment.names_global = True
        self.event(Action.IMPORT, target)
        return target

    def _op_stack_global(self) -> None:
        name, module = self.pop(), self.pop()
        if not (is_text(module) and is_text(name)):
            raise StreamDesync("STACK_GLOBAL needs two strings")
        assert isinstance(module, str) and isinstance(name, str)
        self.stack.append(self._import(module, name))

    def _op_ext1(self) -> None:
        self._extension(self.reader.read(1)[0])

    def _op_ext2(self) -> None:
        self._extension(int.from_bytes(self.reader.read(2), "little"))

    def _op_ext4(self) -> None:
        self._extension(int.from_bytes(self.reader.read(4), "little", signed=True))

    def _extension(self, code: int) -> None:
        if code <= 0:
            raise ValueError("EXT specifies code <= 0")
        # The copyreg extension registry maps the code to a global at load time; the file
        # does not say which, so it is judged as an unknown global.
        target = Global("copyreg._extension_registry", f"code {code}")
        self.event(Action.IMPORT, target)
        self.stack.append(target)

    def _op_reduce(self) -> None:
        args = self.pop()
        self._call(self.pop(), args)

    def _op_obj(self) -> None:
        items = self.pop_mark()
        if not items:
            raise _Underflow
        self._call(items[0], _items("tuple", items[1:]))

    def _call(self, callee: object, args: object) -> None:
        self.event(Action.CALL, callee, args)
        if self.look_inside:
            self.check_call_arguments(args)
        encoded_bytes = _codecs_encode(callee, args)
        if encoded_bytes is not None:
            # Protocol 0-2 pickles written by Python 3 spell bytes as _codecs.encode(str).
            self.push_bytes(encoded_bytes)
        else:
            self.stack.append(Result(Action.CALL, callee, args))

    def _op_newobj(self) -> None:
        args = self.pop()
        cls = self.pop()
        self.event(Action.INSTANCE, cls, args)
        self.stack.append(Result(Action.INSTANCE, cls, args))

    def _op_newobj_ex(self) -> None:
        self.pop()  # keyword arguments
        self._op_newobj()

    def _op_build(self) -> None:
        state = self.pop()
        obj = self.top()
        if isinstance(obj, Global):
            self.event(Action.SETATTR, obj, state)
        if self.hook is not None:
            self.segment.inner.extend(self.hook(self, obj, state))

    def _op_persid(self) -> None:
        self.reader.readline()
        self.stack.append(Opaque("persistent id"))

    def _op_binpersid(self) -> None:
        self.pop()
        self.stack.append(Opaque("persistent id"))

    def _op_next_buffer(self) -> None:
        self.stack.append(Opaque("out-of-band buffer"))

    def _op_readonly_buffer(self) -> None:
        self.top()

    # -- opcodes: framing ---------------------------------------------------------------

    def _op_proto(self) -> None:
        self.reader.read(1)  # any version: an unknown one only stops the real unpickler

    def _op_frame(self) -> None:
        self.reader.begin_frame(_size8(self.reader.read(8)))

    def _op_stop(self) -> None:
        self.segment.result = self.pop() if self.stack else None
        self.reader.end_pickle()
        raise _Stop


_HOLE = object()  # a memo key never set
_MEMO_GAP = 1 << 20  # keys further than this past the dense memo go to a dict


def _dotted_identifier(text: str) -> bool:
    return all(part.isidentifier() for part in text.split("."))


def _size8(data: bytes) -> int:
    size = int.from_bytes(data, "little")
    if size >= 1 << 63:
        raise OverflowError("a length beyond any file")
    return size


def _int(text: str) -> object:
    try:
        return int(text, 10)
    except ValueError:
        pass
    try:
        return int(text, 0)
    except ValueError:
        # More than 4,300 digits (the unpickler refuses it too) or not a number at all.
        return Opaque("an integer this scanner did not convert")


def _escape_decode(data: bytes) -> bytes:
    return codecs.escape_decode(data)[0]


def _items(kind: str, values: list[object]) -> Items:
    return Items(kind, values[:KEEP], len(values))


def _summary(kind: str, data: bytes) -> LargeData:
    return LargeData(kind, len(data), data[:64], checked=True)


def _key(value: object) -> object:
    if isinstance(value, Global):
        return (value.module, value.name)
    if isinstance(value, Result):
        return (
            "result",
            value.action,
            _key(value.target) if isinstance(value.target, Global) else "",
        )
    if isinstance(value, Opaque):
        return ("opaque", value.what)
    return ("value", type(value).__name__)


def _role_keys(args: object) -> tuple[object, ...]:
    """What the first arguments are, when a trusted callable may call or build them."""
    if not isinstance(args, Items):
        return ()
    return tuple(
        _key(item) if isinstance(item, Global | Result | Opaque | LargeData) else None
        for item in args.items[:2]
    )


def _codecs_encode(callee: object, args: object) -> bytes | None:
    if not (isinstance(callee, Global) and callee.module == "_codecs" and callee.name == "encode"):
        return None
    items = args.items if isinstance(args, Items) else []
    if items and isinstance(items[0], str):
        try:
            return items[0].encode("latin-1")
        except UnicodeEncodeError:
            return None
    return None


def _opcode_names() -> dict[int, str]:
    return {op.code.encode("latin-1")[0]: op.name for op in pickletools.opcodes}


_NAMES = _opcode_names()
_HANDLERS: list[Callable[[Machine], None] | None] = [None] * 257  # [-1]: end of data
for _code, _name in _NAMES.items():
    _HANDLERS[_code] = getattr(Machine, f"_op_{_name.lower()}")
