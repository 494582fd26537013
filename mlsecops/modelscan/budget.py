"""The budgets that bound what one model file can make the pickle reader do.

A scanner that a 20 KB file can keep busy for an hour, or that a gzip bomb can make hold
gigabytes, fails open: the CI job is killed and nothing is reported. So every way a pickle
can multiply work has a budget, shared by everything read from one top-level file (its
archive members and the pickles nested inside it), and hitting one is reported as a
finding that says what was not checked. Nothing stops silently.

- opcodes: a base amount plus one per byte of the file. A plain file can never hit it
  (every opcode takes a byte); only data that expands (compressed, or reused) can.
- stack: items on the pickle stack at once (the real unpickler holds them all too).
- decompressed: bytes read out of a compressed stream, at most a multiple of its
  compressed size (a gzip of zeros inflates a thousandfold; model data rarely tenfold).
- nested: distinct pickles found inside other data, by count and by bytes. The same data
  reused through the memo, or repeated, is scanned once (by digest), however often used.
- frame readings: pickles whose frames disagree with their opcodes are read once per way
  a loader can read them; past this many ways, the rest are reported as unchecked.
- depth (archives and pickles inside each other) is the scanner's MAX_DEPTH.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field


class Limit(enum.Enum):
    """Which budget ran out; the value names it in findings."""

    OPCODES = "opcodes"
    STACK = "stack"
    DECOMPRESSED = "decompressed size"
    NESTED = "nested data"
    FRAME_READINGS = "frame readings"


@dataclass(frozen=True)
class Limits:
    """The sizes of the budgets (see the module docstring)."""

    opcodes: int = 10_000_000  # plus one per byte of the top-level file
    stack: int = 4_000_000
    decompressed_floor: int = 512 << 20
    decompressed_ratio: int = 64
    nested_count: int = 1_000
    nested_bytes: int = 256 << 20
    frame_readings: int = 8


class BudgetExceeded(Exception):
    """Raised by the pickle reader when a budget runs out; the scan reports it."""

    def __init__(self, limit: Limit, detail: str) -> None:
        super().__init__(f"the {limit.value} budget ran out: {detail}")
        self.limit = limit
        self.detail = detail


@dataclass(frozen=True)
class Skipped:
    """Something not checked because a budget ran out."""

    limit: Limit
    detail: str


DEFAULT_LIMITS = Limits()


@dataclass(slots=True)
class Budget:
    """What is left of each budget for one top-level file."""

    limits: Limits = DEFAULT_LIMITS
    file_size: int = 0
    opcodes_left: int = 0
    nested_count_left: int = 0
    nested_bytes_left: int = 0
    seen: set[bytes] = field(default_factory=set)  # digests of nested data already scanned
    reuses: int = 0  # nested data met again (through the memo, or repeated) and not rescanned

    @classmethod
    def for_file(cls, size: int, limits: Limits | None = None) -> Budget:
        """The budget for a top-level file of `size` bytes."""
        chosen = limits or DEFAULT_LIMITS
        return cls(
            limits=chosen,
            file_size=max(size, 0),
            opcodes_left=chosen.opcodes + max(size, 0),
            nested_count_left=chosen.nested_count,
            nested_bytes_left=chosen.nested_bytes,
        )

    def decompressed_limit(self) -> int:
        """How many bytes one stream decompressed from this file may hold: a multiple of the
        file's size (no part of the file is larger than the file), with a floor."""
        return max(self.limits.decompressed_floor, self.limits.decompressed_ratio * self.file_size)

    def admit_nested(self, data: bytes) -> Skipped | bool:
        """True when `data` is new and fits the nested budget (and charge it); False when the
        same data was already scanned; a Skipped when the budget has run out."""
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if digest in self.seen:
            self.reuses += 1
            return False
        if self.nested_count_left <= 0 or self.nested_bytes_left < len(data):
            return Skipped(
                Limit.NESTED,
                f"{len(data)} bytes of nested data past the limit of "
                f"{self.limits.nested_count} pickles or {self.limits.nested_bytes >> 20} MiB "
                "of nested data per file",
            )
        self.seen.add(digest)
        self.nested_count_left -= 1
        self.nested_bytes_left -= len(data)
        return True
