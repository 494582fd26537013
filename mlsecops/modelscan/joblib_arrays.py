"""joblib's interleaved array bytes: skip them so the opcodes after them are still read.

`joblib.dump` pickles a `NumpyArrayWrapper` for each array, then writes the array's raw
bytes straight into the stream (an object array is written as a pickle of its own). A
plain opcode reader would lose its place there; this BUILD hook reads past the bytes
exactly as joblib's unpickler does, and hands back any embedded pickle to be judged.
"""

from __future__ import annotations

import math
import re

from mlsecops.modelscan.pickle_ops import (
    Action,
    Const,
    DictValue,
    Global,
    Items,
    Result,
    Segment,
    StreamDesync,
    Value,
    analyze,
)
from mlsecops.modelscan.streams import Stream

_WRAPPERS = frozenset(
    {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)
_TYPESTR = re.compile(r"[<>|=]?([?bBiufcmMOSUV])(\d*)")
_CHUNK = 1 << 20
_MAX_NESTING = 8
_nesting = 0  # object arrays inside object arrays: each is a pickle inside the pickle


def after_build(obj: Value, state: Value, stream: Stream) -> list[Segment]:
    """The BUILD hook: past a joblib array wrapper, consume the array it announces."""
    if not _is_wrapper(obj):
        return []
    fields = _fields(state)
    shape = fields.get("shape")
    dims = [_const(item) for item in shape.items] if isinstance(shape, Items) else None
    if dims is None or not all(isinstance(dim, int) for dim in dims):
        raise StreamDesync("a joblib array wrapper without a readable shape")
    count = math.prod(dim for dim in dims if isinstance(dim, int))
    code, size = _typestr(fields.get("dtype"))
    if code == "O":
        global _nesting
        if _nesting >= _MAX_NESTING:
            raise StreamDesync("joblib object arrays nested deeper than any real dump")
        _nesting += 1
        try:
            return [analyze(stream, after_build)]
        finally:
            _nesting -= 1
    if _const(fields.get("numpy_array_alignment_bytes")) is not None:
        # joblib >= 1.2 aligns the array: one length byte, then that many pad bytes.
        padding = stream.read(1)
        if len(padding) != 1:
            raise StreamDesync("the joblib array padding is missing")
        _skip(stream, padding[0])
    _skip(stream, count * size)
    return []


def _is_wrapper(obj: Value) -> bool:
    if not (isinstance(obj, Result) and obj.action is Action.INSTANCE):
        return False
    target = obj.target
    return isinstance(target, Global) and (target.module, target.name) in _WRAPPERS


def _fields(state: Value) -> dict[str, Value]:
    if not isinstance(state, DictValue):
        return {}
    return {
        str(key.value): value
        for key, value in state.pairs
        if isinstance(key, Const) and isinstance(key.value, str)
    }


def _const(value: Value | None) -> object:
    return value.value if isinstance(value, Const) else None


def _typestr(dtype: Value | None) -> tuple[str, int]:
    """(kind code, item size) from the pickled `numpy.dtype('<f8', ...)` call."""
    if isinstance(dtype, Result) and isinstance(dtype.args, Items) and dtype.args.items:
        text = _const(dtype.args.items[0])
        match = _TYPESTR.fullmatch(text) if isinstance(text, str) else None
        if match:
            code, digits = match.group(1), match.group(2)
            if code == "O":
                return code, 8
            count = int(digits) if digits else 1
            return code, count * 4 if code == "U" else count
    raise StreamDesync("a joblib array with a dtype this scanner cannot size")


def _skip(stream: Stream, count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, _CHUNK))
        if not chunk:
            raise StreamDesync("the data ended inside a joblib array")
        count -= len(chunk)
