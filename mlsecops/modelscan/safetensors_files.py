"""safetensors: no code by design, so the checks are that the header is what it claims.

A header that is not JSON, or offsets that point past the end of the file, break the
format's guarantee and have been used against loaders that trust them.
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import BinaryIO

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.notes import model_finding

HEADER = "MLS-SAFETENSORS-HEADER"
MAX_HEADER = 100_000_000  # the limit the safetensors library itself enforces

_DTYPE_BITS = {
    "BOOL": 8, "U8": 8, "I8": 8, "F8_E5M2": 8, "F8_E4M3": 8, "F8_E8M0": 8, "I16": 16,
    "U16": 16, "F16": 16, "BF16": 16, "I32": 32, "U32": 32, "F32": 32, "I64": 64, "U64": 64,
    "F64": 64, "C64": 64, "F4": 4, "F6_E2M3": 6, "F6_E3M2": 6,
}  # fmt: skip


@dataclass(frozen=True)
class Problem:
    what: str
    location: str


def check(handle: BinaryIO, size: int) -> list[Problem]:
    """What is wrong with a safetensors file's header, if anything."""
    prefix = handle.read(8)
    if len(prefix) != 8:
        return [Problem("the file is shorter than the 8-byte header length", "byte offset 0")]
    (length,) = struct.unpack("<Q", prefix)
    if length > MAX_HEADER:
        return [Problem(f"the header length {length} exceeds the 100 MB limit", "byte offset 0")]
    if 8 + length > size:
        return [
            Problem(
                f"the header length {length} points past the end of the {size}-byte file",
                "byte offset 0",
            )
        ]
    raw = handle.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return [Problem(f"the header is not valid JSON ({exc})", "byte offset 8")]
    if not isinstance(header, dict):
        return [Problem("the header is JSON but not an object", "byte offset 8")]
    data_size = size - 8 - length
    problems = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        problem = _tensor_problem(entry, data_size)
        if problem:
            problems.append(Problem(f"tensor {name!r}: {problem}", f"header entry {name}"))
    return problems


def _tensor_problem(entry: object, data_size: int) -> str:
    if not isinstance(entry, dict):
        return "the entry is not an object"
    offsets = entry.get("data_offsets")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in offsets)
    ):
        return "data_offsets is not a pair of integers"
    begin, end = offsets
    if not 0 <= begin <= end:
        return f"data_offsets {offsets} are out of order"
    if end > data_size:
        return f"data_offsets {offsets} point past the end of the {data_size}-byte data"
    shape, dtype = entry.get("shape"), entry.get("dtype")
    bits = _DTYPE_BITS.get(dtype) if isinstance(dtype, str) else None
    if isinstance(shape, list) and all(isinstance(x, int) for x in shape) and bits:
        expected = math.prod(shape) * bits // 8
        if expected != end - begin:
            return (
                f"shape {shape} of {dtype} needs {expected} bytes, data_offsets give {end - begin}"
            )
    return ""


def findings_for(problems: list[Problem], target: str) -> list[Finding]:
    """One finding per problem."""
    return [
        model_finding(
            HEADER,
            Severity.MEDIUM,
            target,
            "safetensors header is invalid",
            f"In this safetensors file {problem.what}. safetensors holds no code, but a header "
            "that lies about the data is either corruption or an attempt to exploit a loader "
            "that trusts it.",
            "Re-download or re-export the file; do not load it with tools that skip checks.",
            location=problem.location,
            ecosystem="safetensors",
        )
        for problem in problems
    ]
