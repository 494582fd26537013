"""Symbolic execution of pickle opcodes: what a pickle would import, call and build.

Nothing is imported or unpickled. The opcodes are decoded with `pickletools`' argument
readers, and a small stack machine tracks just enough of each value to say which global a
REDUCE / INST / OBJ / NEWOBJ / BUILD acts on, through the memo (PUT/GET) and through
STACK_GLOBAL's string arguments. A file may hold several pickles one after another; each
is a `Segment`.
"""

from __future__ import annotations

import enum
import io
import pickletools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, cast

from mlsecops.modelscan.streams import CorruptData, Stream


class Action(enum.Enum):
    IMPORT = "import"  # GLOBAL, STACK_GLOBAL, INST, EXT*: the name is resolved
    CALL = "call"  # REDUCE, INST, OBJ: the value is called with arguments
    INSTANCE = "instance"  # NEWOBJ, NEWOBJ_EX: cls.__new__(cls), then usually BUILD
    SETATTR = "setattr"  # BUILD applied to a global itself: writes attributes of a module or class


@dataclass(frozen=True)
class Position:
    index: int  # 0-based opcode number within its pickle
    offset: int  # byte offset from the start of the stream

    def describe(self) -> str:
        return f"opcode {self.index} at byte offset {self.offset}"


class Value:
    """Base of the symbolic values on the stack."""


@dataclass(eq=False)
class Global(Value):
    module: str
    name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"


@dataclass(eq=False)
class Const(Value):
    value: object


@dataclass(eq=False)
class Items(Value):
    kind: str  # tuple, list, set, frozenset
    items: list[Value] = field(default_factory=list)


@dataclass(eq=False)
class DictValue(Value):
    pairs: list[tuple[Value, Value]] = field(default_factory=list)


@dataclass(eq=False)
class Result(Value):
    """What a call or an instance creation produced."""

    action: Action
    target: Value
    args: Value


@dataclass(eq=False)
class Opaque(Value):
    what: str


class _Mark(Value):
    pass


MARK = _Mark()


@dataclass(frozen=True)
class Event:
    action: Action
    target: Value
    position: Position
    opcode: str
    args: Value | None = None


@dataclass
class Segment:
    """One pickle (PROTO ... STOP) in a stream, and what it would do."""

    start: int
    events: list[Event] = field(default_factory=list)
    blobs: list[tuple[Position, bytes]] = field(default_factory=list)  # maybe nested models
    inner: list[Segment] = field(default_factory=list)  # pickles embedded in the stream
    ops: int = 0
    error: str = ""  # why reading stopped before STOP; "" when it reached STOP
    corrupt: bool = False  # stopped by compressed data that could not be decoded
    end: int = 0
    result: Value | None = None


class StreamDesync(Exception):
    """Raised by a BUILD hook that cannot find where the pickle continues."""


# Called after BUILD with (object, state, stream); may read raw bytes that a library
# (joblib) interleaves with the opcodes, and returns pickles found inside them.
BuildHook = Callable[[Value, Value, Stream], list[Segment]]

_OPS = {op.code.encode("latin-1"): op for op in pickletools.opcodes}
_LINE = pickletools.UP_TO_NEWLINE
_PICKLE_MAGIC = tuple(bytes([0x80, proto]) for proto in range(6))
_BLOB_MAGIC = (*_PICKLE_MAGIC, b"PK\x03\x04", b"\x93NUMPY")
_UNPARSED = Opaque("unparsed constant")


class _Underflow(Exception):
    pass


def analyze(stream: Stream, build_hook: BuildHook | None = None) -> Segment:
    """Run one pickle's opcodes symbolically, from the stream's position up to STOP."""
    machine = _Machine(stream, build_hook)
    machine.run()
    return machine.segment


# The first pickle of PyTorch's legacy (pre-zip) format holds this number; four more
# pickles follow it, then raw storage bytes that are not opcodes.
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_TORCH_PICKLES = 5


def analyze_all(stream: Stream, build_hook: BuildHook | None = None) -> list[Segment]:
    """Every pickle in the stream, one after another, as repeated `pickle.load` calls see them.

    Stops at the end of the data, at a pickle that is malformed, or at bytes that are not
    a pickle at all (a segment with no opcodes, kept so the caller can report them).
    """
    segments: list[Segment] = []
    limit: int | None = None
    while True:
        try:
            if not stream.peek(1)[:1]:
                break
        except CorruptData as exc:
            segments.append(Segment(stream.tell(), error=str(exc), corrupt=True))
            break
        if limit is not None and len(segments) >= limit:
            break
        segment = analyze(stream, build_hook)
        segments.append(segment)
        if segment.error:
            break
        if len(segments) == 1 and is_legacy_torch(segment):
            limit = LEGACY_TORCH_PICKLES
    return segments


def is_legacy_torch(segment: Segment) -> bool:
    """True for the first pickle of a legacy `torch.save` file."""
    result = segment.result
    return isinstance(result, Const) and result.value == LEGACY_TORCH_MAGIC


def analyze_bytes(data: bytes) -> Segment:
    """`analyze` over bytes held in memory."""
    return analyze(io.BufferedReader(io.BytesIO(data)))


class _Machine:
    def __init__(self, stream: Stream, build_hook: BuildHook | None) -> None:
        self.stream = stream
        self.hook = build_hook
        self.stack: list[Value] = []
        self.memo: dict[int, Value] = {}
        self.segment = Segment(start=stream.tell())

    def run(self) -> None:
        try:
            self._run()
        except CorruptData as exc:
            # What ran before the damage was recorded; the rest cannot be read by anyone.
            self.segment.error = str(exc)
            self.segment.corrupt = True
        self.segment.end = self.stream.tell()

    def _run(self) -> None:
        index = 0
        while True:
            offset = self.stream.tell()
            code = self.stream.read(1)
            op = _OPS.get(code)
            if op is None:
                self.segment.error = (
                    "the data ended before STOP"
                    if not code
                    else f"byte {code!r} at offset {offset} is not a pickle opcode"
                )
                break
            position = Position(index, offset)
            try:
                arg = self._read_arg(op)
            except CorruptData:
                raise
            except (ValueError, EOFError, UnicodeDecodeError, OverflowError) as exc:
                self.segment.error = f"{op.name} at byte offset {offset} is malformed: {exc}"
                break
            index += 1
            self.segment.ops = index
            try:
                if self._step(op.name, arg, position):
                    break
            except _Underflow:
                self.segment.error = f"{op.name} at byte offset {offset} underflows the stack"
                break
            except KeyError as exc:
                self.segment.error = f"{op.name} at byte offset {offset}: no memo entry {exc}"
                break
            except StreamDesync as exc:
                self.segment.error = f"after {op.name} at byte offset {offset}: {exc}"
                break

    def _read_arg(self, op: pickletools.OpcodeInfo) -> object:
        if op.arg is None:
            return None
        if op.arg.n != _LINE:
            return op.arg.reader(cast(IO[bytes], _BoundedReads(self.stream)))
        # Line-based arguments are read the way the unpickler reads them, not the way
        # pickletools does: where the two disagree, a scanner must see what would run.
        count = 2 if op.name in ("GLOBAL", "INST") else 1
        lines = [self.stream.readline() for _ in range(count)]
        if not all(line.endswith(b"\n") for line in lines):
            raise ValueError("no newline at the end of the argument")
        if count == 2:
            return tuple(line[:-1].decode("utf-8") for line in lines)
        if op.name in ("PUT", "GET"):
            return int(lines[0])
        try:
            return op.arg.reader(io.BytesIO(lines[0]))
        except ValueError:
            return _UNPARSED  # a value we cannot decode; its content does not matter here

    # -- the stack machine ------------------------------------------------------------

    def _pop(self) -> Value:
        if not self.stack or self.stack[-1] is MARK:
            raise _Underflow
        return self.stack.pop()

    def _top(self) -> Value:
        if not self.stack or self.stack[-1] is MARK:
            raise _Underflow
        return self.stack[-1]

    def _pop_mark(self) -> list[Value]:
        for depth in range(len(self.stack) - 1, -1, -1):
            if self.stack[depth] is MARK:
                items = self.stack[depth + 1 :]
                del self.stack[depth:]
                return items
        raise _Underflow

    def _event(self, action: Action, target: Value, position: Position, opcode: str,
               args: Value | None = None) -> None:  # fmt: skip
        self.segment.events.append(Event(action, target, position, opcode, args))

    def _push_const(self, value: object, position: Position) -> None:
        if isinstance(value, bytes | bytearray) and bytes(value[:6]).startswith(_BLOB_MAGIC):
            self.segment.blobs.append((position, bytes(value)))
        self.stack.append(value if isinstance(value, Value) else Const(value))

    def _step(self, name: str, arg: object, position: Position) -> bool:
        """Apply one opcode; True at STOP."""
        stack = self.stack
        if name in _CONSTANTS:
            self._push_const(_CONSTANTS[name] if arg is None else arg, position)
        elif name in _IGNORED:
            pass
        elif name == "MARK":
            stack.append(MARK)
        elif name == "STOP":
            self.segment.result = self._pop() if stack else None
            return True
        elif name == "POP":
            if not stack:
                raise _Underflow
            stack.pop()
        elif name == "POP_MARK":
            self._pop_mark()
        elif name == "DUP":
            stack.append(self._top())
        elif name in ("EMPTY_TUPLE", "EMPTY_LIST", "EMPTY_SET"):
            stack.append(Items(name[6:].lower()))
        elif name == "EMPTY_DICT":
            stack.append(DictValue())
        elif name in ("TUPLE", "LIST", "FROZENSET"):
            stack.append(Items(name.lower(), self._pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            items = [self._pop() for _ in range(int(name[-1]))]
            stack.append(Items("tuple", items[::-1]))
        elif name == "DICT":
            items = self._pop_mark()
            stack.append(DictValue(list(zip(items[::2], items[1::2], strict=False))))
        elif name == "APPEND":
            value = self._pop()
            _extend(self._top(), [value])
        elif name in ("APPENDS", "ADDITEMS"):
            items = self._pop_mark()
            _extend(self._top(), items)
        elif name == "SETITEM":
            value, key = self._pop(), self._pop()
            _set_items(self._top(), [key, value])
        elif name == "SETITEMS":
            items = self._pop_mark()
            _set_items(self._top(), items)
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            assert isinstance(arg, int)
            self.memo[arg] = self._top()
        elif name == "MEMOIZE":
            self.memo[len(self.memo)] = self._top()
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            assert isinstance(arg, int)
            stack.append(self.memo[arg])
        elif name == "PERSID":
            stack.append(Opaque("persistent id"))
        elif name == "BINPERSID":
            self._pop()
            stack.append(Opaque("persistent id"))
        elif name == "NEXT_BUFFER":
            stack.append(Opaque("out-of-band buffer"))
        elif name == "READONLY_BUFFER":
            self._top()
        elif name in ("GLOBAL", "INST"):
            assert isinstance(arg, tuple)
            module, attr = str(arg[0]), str(arg[1])
            target = Global(module, attr)
            self._event(Action.IMPORT, target, position, name)
            if name == "GLOBAL":
                stack.append(target)
            else:
                self._call(target, Items("tuple", self._pop_mark()), position, name)
        elif name == "STACK_GLOBAL":
            attr_value, module_value = self._pop(), self._pop()
            if not (_is_str(attr_value) and _is_str(module_value)):
                raise StreamDesync("STACK_GLOBAL needs two strings")
            assert isinstance(module_value, Const) and isinstance(attr_value, Const)
            target = Global(str(module_value.value), str(attr_value.value))
            self._event(Action.IMPORT, target, position, name)
            stack.append(target)
        elif name in ("EXT1", "EXT2", "EXT4"):
            # The copyreg extension registry maps the code to a global at load time;
            # the file does not say which, so it is judged as an unknown global.
            target = Global("copyreg._extension_registry", f"code {arg}")
            self._event(Action.IMPORT, target, position, name)
            stack.append(target)
        elif name == "REDUCE":
            arguments = self._pop()
            self._call(self._pop(), arguments, position, name)
        elif name == "OBJ":
            items = self._pop_mark()
            if not items:
                raise _Underflow
            self._call(items[0], Items("tuple", items[1:]), position, name)
        elif name in ("NEWOBJ", "NEWOBJ_EX"):
            if name == "NEWOBJ_EX":
                self._pop()  # keyword arguments
            arguments = self._pop()
            cls = self._pop()
            self._event(Action.INSTANCE, cls, position, name, arguments)
            stack.append(Result(Action.INSTANCE, cls, arguments))
        elif name == "BUILD":
            state = self._pop()
            obj = self._top()
            if isinstance(obj, Global):
                self._event(Action.SETATTR, obj, position, name, state)
            if self.hook is not None:
                self.segment.inner.extend(self.hook(obj, state, self.stream))
        else:  # pragma: no cover - every opcode of protocols 0-5 is handled above
            raise StreamDesync(f"unhandled opcode {name}")
        return False

    def _call(self, callee: Value, args: Value, position: Position, opcode: str) -> None:
        self._event(Action.CALL, callee, position, opcode, args)
        for item in _flat(args):
            if isinstance(item, Const) and isinstance(item.value, str | bytes):
                self._maybe_nested(item.value, position)
        encoded = _codecs_encode(callee, args)
        if encoded is not None:
            # Protocol 0-2 pickles written by Python 3 spell bytes as _codecs.encode(str).
            self._push_const(encoded, position)
        else:
            self.stack.append(Result(Action.CALL, callee, args))

    def _maybe_nested(self, value: str | bytes, position: Position) -> None:
        # Protocol 0/1 pickles have no magic; one passed as an argument to a call is
        # worth a look (the scanner keeps it only if it parses as a whole pickle).
        data = value.encode("latin-1", "replace") if isinstance(value, str) else value
        if len(data) > 4 and data.rstrip(b"\n").endswith(b".") and not data.startswith(_BLOB_MAGIC):
            self.segment.blobs.append((position, data))


class _BoundedReads:
    """The stream for pickletools' argument readers, read in steps of at most 1 MiB.

    A reader asks for as many bytes as a length field says; asked for 2**62 at once, a
    buffered stream allocates that much before reading (MemoryError). In steps, only the
    bytes that exist are ever held, and a short read is the malformed pickle it is.
    """

    _STEP = 1 << 20

    def __init__(self, stream: Stream) -> None:
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        if size <= self._STEP:
            return self._stream.read(size)
        parts = []
        while size > 0 and (part := self._stream.read(min(size, self._STEP))):
            parts.append(part)
            size -= len(part)
        return b"".join(parts)


_CONSTANTS: dict[str, object] = {"NONE": None, "NEWTRUE": True, "NEWFALSE": False}
for _op in pickletools.opcodes:
    if _op.name in (
        "INT", "BININT", "BININT1", "BININT2", "LONG", "LONG1", "LONG4", "STRING", "BINSTRING",
        "SHORT_BINSTRING", "BINBYTES", "SHORT_BINBYTES", "BINBYTES8", "BYTEARRAY8", "UNICODE",
        "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "FLOAT", "BINFLOAT",
    ):  # fmt: skip
        _CONSTANTS[_op.name] = None  # the argument is the value
_IGNORED = frozenset({"PROTO", "FRAME"})


def _is_str(value: Value) -> bool:
    return isinstance(value, Const) and isinstance(value.value, str)


def _extend(target: Value, values: list[Value]) -> None:
    if isinstance(target, Items):
        target.items.extend(values)


def _set_items(target: Value, flat: list[Value]) -> None:
    if isinstance(target, DictValue):
        target.pairs.extend(zip(flat[::2], flat[1::2], strict=False))


def _flat(value: Value) -> list[Value]:
    if isinstance(value, Items):
        return list(value.items)
    return [value]


def _codecs_encode(callee: Value, args: Value) -> bytes | None:
    if not (isinstance(callee, Global) and (callee.module, callee.name) == ("_codecs", "encode")):
        return None
    items = _flat(args)
    if items and isinstance(items[0], Const) and isinstance(items[0].value, str):
        try:
            return items[0].value.encode("latin-1")
        except UnicodeEncodeError:
            return None
    return None
