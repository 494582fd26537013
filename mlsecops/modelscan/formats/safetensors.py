"""safetensors: no code by design, so the check is that the header tells the truth.

The official loader refuses a header that is not JSON, offsets that point past the data,
overlap or leave holes, sizes that disagree with shape and dtype, and shapes whose sizes
overflow; third-party parsers that trust such a header have been exploited through it. So
every such lie is HIGH. A file named `.safetensors` that does not parse at all is reported
as a malformed safetensors file (its loader would try it), never as an unknown file.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from typing import BinaryIO, TypeGuard

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.formats.base import Context, Data, Found, Handler
from mlsecops.modelscan.notes import model_finding, too_large

HEADER = "MLS-SAFETENSORS-HEADER"
MAX_HEADER = 100_000_000  # the limit the safetensors library itself enforces
MAX_PARSED = 16 * 1024 * 1024  # headers this scanner parses (a 10k-tensor header is ~1 MB)
MAX_FINDINGS = 10  # per file: further problems are counted in the last finding
_LIMIT = 1 << 64  # sizes and offsets are u64/usize in the reference implementation

_DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16,
    "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64,
    "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    """One way the file is not what its header claims."""

    what: str
    location: str


class _Huge:
    """An integer too long to be a u64: kept as its digit count, never converted."""

    def __init__(self, digits: str) -> None:
        self.digits = len(digits.lstrip("-"))


def _integer(text: str) -> int | _Huge:
    return _Huge(text) if len(text.lstrip("-")) > 20 else int(text)


@dataclass
class Header:
    """The parsed header: tensors by name, the metadata strings, the data section's size."""

    tensors: dict[str, object]
    metadata: dict[str, str]
    data_size: int


def read_header(handle: BinaryIO, size: int) -> Header | list[Problem] | int:
    """The header, the problems that stop it being read, or its length when over MAX_PARSED."""
    prefix = handle.read(8)
    if len(prefix) != 8:
        return [Problem("the file is shorter than the 8-byte header length", "byte offset 0")]
    length = int(struct.unpack("<Q", prefix)[0])
    if length > MAX_HEADER:
        return [Problem(f"the header length {length} exceeds the 100 MB limit", "byte offset 0")]
    if 8 + length > size:
        return [
            Problem(
                f"the header length {length} points past the end of the {size}-byte file",
                "byte offset 0",
            )
        ]
    if length > MAX_PARSED:
        return length
    try:
        header = json.loads(handle.read(length).decode("utf-8"), parse_int=_integer)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return [Problem(f"the header is not valid JSON ({exc})", "byte offset 8")]
    if not isinstance(header, dict):
        return [Problem("the header is JSON but not an object", "byte offset 8")]
    metadata = header.pop("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        return [Problem("__metadata__ is not a map of strings to strings", "__metadata__")]
    return Header(header, metadata, size - 8 - length)


def check(handle: BinaryIO, size: int) -> list[Problem]:
    """What is wrong with a safetensors file's header, if anything (no size limit applies)."""
    header = read_header(handle, size)
    if isinstance(header, int):
        return []
    return header if isinstance(header, list) else problems_in(header)


def problems_in(header: Header) -> list[Problem]:
    """Every entry that lies, then how the entries together cover the data section."""
    problems: list[Problem] = []
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.tensors.items():
        span, problem = _tensor(entry)
        if problem:
            problems.append(Problem(f"tensor {name!r}: {problem}", f"header entry {name}"))
        elif span[1] > header.data_size:
            problems.append(
                Problem(
                    f"tensor {name!r}: data_offsets {list(span)} point past the end of the "
                    f"{header.data_size}-byte data",
                    f"header entry {name}",
                )
            )
        else:
            spans.append((span[0], span[1], name))
    if not problems:
        problems += _layout(sorted(spans), header.data_size)
    return problems


def _tensor(entry: object) -> tuple[tuple[int, int], str]:
    """The entry's (begin, end), or the problem with it."""
    if not isinstance(entry, dict):
        return (0, 0), "the entry is not an object"
    offsets = entry.get("data_offsets")
    if not _is_u64_list(offsets) or len(offsets) != 2:
        return (0, 0), "data_offsets is not a pair of unsigned 64-bit integers"
    begin, end = offsets
    if begin > end:
        return (0, 0), f"data_offsets {offsets} are out of order"
    dtype = entry.get("dtype")
    bits = _DTYPE_BITS.get(dtype) if isinstance(dtype, str) else None
    if bits is None:
        return (0, 0), f"dtype {str(dtype)[:40]!r} is not a safetensors dtype"
    return (begin, end), _shape_problem(entry.get("shape"), bits, end - begin)


def _shape_problem(shape: object, bits: int, span: int) -> str:
    if not _is_u64_list(shape):
        return _describe_bad_shape(shape)
    elements = 1
    for dimension in shape:
        elements *= dimension
        if elements >= _LIMIT:
            return f"the shape's {len(shape)} dimensions multiply past 2^64 elements"
    if elements * bits % 8:
        return f"shape {_brief(shape)} of {bits}-bit values is not a whole number of bytes"
    expected = elements * bits // 8
    if expected != span:
        return f"shape {_brief(shape)} needs {expected} bytes, data_offsets give {span}"
    return ""


def _describe_bad_shape(shape: object) -> str:
    if isinstance(shape, list) and any(isinstance(x, _Huge) for x in shape):
        digits = max(x.digits for x in shape if isinstance(x, _Huge))
        return f"the shape holds an integer of {digits} digits, far beyond 2^64"
    return "shape is not a list of unsigned 64-bit integers"


def _is_u64_list(value: object) -> TypeGuard[list[int]]:
    return isinstance(value, list) and all(
        isinstance(x, int) and not isinstance(x, bool) and 0 <= x < _LIMIT for x in value
    )


def _brief(shape: list[int]) -> str:
    return str(shape) if len(shape) <= 8 else f"[{', '.join(map(str, shape[:8]))}, ...]"


def _layout(spans: list[tuple[int, int, str]], data_size: int) -> list[Problem]:
    """The loader's own check: tensors tile the data section exactly, in offset order."""
    position = 0
    for begin, end, name in spans:
        where = f"header entry {name}"
        if begin < position:
            return [Problem(f"tensor {name!r} overlaps the tensor before it", where)]
        if begin > position:
            gap = begin - position
            return [Problem(f"{gap} bytes before tensor {name!r} belong to no tensor", where)]
        position = end
    if position != data_size:
        return [
            Problem(f"{data_size - position} bytes after the last tensor belong to no tensor",
                    f"byte offset {position}")
        ]  # fmt: skip
    return []


def findings_for(problems: list[Problem], target: str) -> list[Finding]:
    """One HIGH finding per problem, up to MAX_FINDINGS (the last one counts the rest)."""
    shown = problems[:MAX_FINDINGS]
    rest = len(problems) - len(shown)
    return [
        _finding(problem, target, rest if index == len(shown) - 1 else 0)
        for index, problem in enumerate(shown)
    ]


def _finding(problem: Problem, target: str, more: int) -> Finding:
    return model_finding(
        HEADER, Severity.HIGH, target, "safetensors header is invalid or lies about the data",
        f"In this safetensors file {problem.what}"
        + (f" (and {more} more problems)" if more else "")
        + ". The safetensors library refuses such a file; a parser that trusts the "
        "header reads or writes outside the tensors' bytes, which has been exploited.",
        "Do not load the file; re-download it or re-export it with the safetensors library.",
        location=problem.location, ecosystem="safetensors",
    )  # fmt: skip


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for a safetensors file's header (none for an honest one)."""
    target = data.where.target
    header = read_header(*data.seekable())
    if isinstance(header, int):
        return [too_large(target, f"the safetensors header of {header} bytes", MAX_PARSED)]
    if isinstance(header, list):
        return findings_for(header, target)
    context.strings(
        [
            Found.at(data.where, f"__metadata__ {key}", value)
            for key, value in header.metadata.items()
        ]
    )
    return findings_for(problems_in(header), target)


def _sniff(data: Data) -> bool:
    head = data.head
    if len(head) < 9:
        return False
    (length,) = struct.unpack("<Q", head[:8])
    # Headers are JSON of at least `{}` (the loader skips leading whitespace); beyond the
    # library's limit is not a header anyone writes, though one that points past the end
    # of the file is still reported (it starts like one).
    return 2 <= length <= MAX_HEADER and head[8:].lstrip(b" \t\r\n").startswith(b"{")


HANDLER = Handler("safetensors", _sniff, scan, suffixes=(".safetensors",))
