"""joblib's interleaved array bytes: skip them so the opcodes after them are still read.

`joblib.dump` pickles a `NumpyArrayWrapper` for each array, then writes the array's raw
bytes straight into the stream (an object array is written as a pickle of its own). A
plain opcode reader would lose its place there; this BUILD hook passes over the bytes
exactly as joblib's unpickler reads them (with a seek, in a plain file), and reads any
embedded pickle with the same machine and budget.

joblib before 0.10 wrote arrays to files of their own instead, named by an
`NDArrayWrapper`; joblib.load still reads them, with `numpy.load(..., allow_pickle=True)`
on the name joined to the pickle's directory (an absolute name or `..` leaves it). Each
such name is recorded for a finding: that file is unpickled too.
"""

from __future__ import annotations

import math
import re

from mlsecops.modelscan.pickle_ops import Machine, Segment, StreamDesync, analyze
from mlsecops.modelscan.pickle_values import Action, DictValue, Global, Items, Result

_WRAPPERS = frozenset(
    {
        ("joblib.numpy_pickle", "NumpyArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle", "NumpyArrayWrapper"),
    }
)
_OLD_WRAPPERS = frozenset(
    {
        ("joblib.numpy_pickle_compat", "NDArrayWrapper"),
        ("sklearn.externals.joblib.numpy_pickle_compat", "NDArrayWrapper"),
    }
)
_TYPESTR = re.compile(r"[<>|=]?([?bBiufcmMOSUV])(\d*)")
MAX_NESTING = 8  # object arrays inside object arrays: each is a pickle inside the pickle


def after_build(machine: Machine, obj: object, state: object) -> list[Segment]:
    """The BUILD hook: past a joblib array wrapper, consume the array it announces."""
    if _is_wrapper(obj, _OLD_WRAPPERS):
        filename = _fields(state).get("filename")
        if isinstance(filename, str):
            machine.segment.external.append((machine.position(), filename))
        return []
    if not _is_wrapper(obj, _WRAPPERS):
        return []
    fields = _fields(state)
    shape = fields.get("shape")
    dims = shape.items if isinstance(shape, Items) and len(shape.items) == shape.size else None
    if dims is None or not all(type(dim) is int and dim >= 0 for dim in dims):
        raise StreamDesync("a joblib array wrapper without a readable shape")
    count = math.prod(dim for dim in dims if isinstance(dim, int))
    code, size = _typestr(fields.get("dtype"))
    reader = machine.reader
    if code == "O":
        if machine.depth >= MAX_NESTING:
            raise StreamDesync("joblib object arrays nested deeper than any real dump")
        return [analyze(reader, machine.budget, after_build, machine.depth + 1)]
    if fields.get("numpy_array_alignment_bytes") is not None:
        # joblib >= 1.2 aligns the array: one length byte, then that many pad bytes.
        reader.skip(reader.read_data(1)[0], drops=False)
    reader.skip(count * size, drops=False)
    return []


def _is_wrapper(obj: object, kinds: frozenset[tuple[str, str]]) -> bool:
    if not (isinstance(obj, Result) and obj.action is Action.INSTANCE):
        return False
    target = obj.target
    return isinstance(target, Global) and (target.module, target.name) in kinds


def _fields(state: object) -> dict[str, object]:
    if not isinstance(state, DictValue):
        return {}
    return {key: value for key, value in state.pairs if isinstance(key, str)}


def _typestr(dtype: object) -> tuple[str, int]:
    """(kind code, item size) from the pickled `numpy.dtype('<f8', ...)` call."""
    if isinstance(dtype, Result) and isinstance(dtype.args, Items) and dtype.args.items:
        text = dtype.args.items[0]
        match = _TYPESTR.fullmatch(text) if isinstance(text, str) else None
        if match:
            code, digits = match.group(1), match.group(2)
            if code == "O":
                return code, 8
            count = int(digits) if digits else 1
            return code, count * 4 if code == "U" else count
    raise StreamDesync("a joblib array with a dtype this scanner cannot size")
