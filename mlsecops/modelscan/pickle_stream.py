"""Every pickle in a stream, as repeated `pickle.load` calls see it, in every frame reading.

A file may hold several pickles one after another (`pickle.load` called again reads the
next): the legacy torch.save format writes five, and payloads hide in a second pickle. A
stream whose frames disagree with its opcodes is read once for each way a loader can read
those frames (pickle_reader.py), up to the budget; what any reading runs is reported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from mlsecops.modelscan.budget import Budget, BudgetExceeded, Limit, Skipped
from mlsecops.modelscan.pickle_ops import BuildHook, Segment, analyze
from mlsecops.modelscan.pickle_reader import Readable, Reader
from mlsecops.modelscan.streams import CorruptData

# The first pickle of PyTorch's legacy (pre-zip) format holds this number; four more
# pickles follow it, then raw storage bytes that are not opcodes.
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
LEGACY_TORCH_PICKLES = 5

# A fresh reader from the start of the data, following the given frame decisions.
OpenReader = Callable[[Sequence[bool]], Reader]


@dataclass
class Parse:
    """Every pickle of a stream, read as loaders read it."""

    segments: list[Segment]
    other_readings: list[list[Segment]] = field(default_factory=list)  # frames read otherwise
    anomalies: list[str] = field(default_factory=list)  # frames that disagree with the opcodes
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def first(self) -> Segment | None:
        """The first pickle, if any."""
        return self.segments[0] if self.segments else None


def read_bytes(data: bytes, budget: Budget | None = None, hook: BuildHook | None = None) -> Parse:
    """Every pickle in bytes held in memory."""
    chosen = budget or Budget.for_file(len(data))
    return analyze_all(lambda decisions: Reader(data, decisions=decisions), chosen, hook)


def read_stream(
    fresh: Callable[[], Readable],
    size: int | None,
    budget: Budget,
    hook: BuildHook | None = None,
) -> Parse:
    """Every pickle in a stream that `fresh()` opens from its start.

    `size` is the data's length when known (a file, a member stored as is); None for data
    that is only known by decompressing it, which the decompressed-size budget bounds.
    """

    def open_reader(decisions: Sequence[bool]) -> Reader:
        stream = fresh()
        if size is None:
            limit = budget.decompressed_limit()
            return Reader(b"", stream, max_bytes=limit, decisions=decisions)
        return Reader.over(stream, size, decisions=decisions)

    return analyze_all(open_reader, budget, hook)


def analyze_all(open_reader: OpenReader, budget: Budget, hook: BuildHook | None = None) -> Parse:
    """Every pickle in the data, in every reading of its frames (see the module docstring).

    The first reading reads frames transparently; each place where a loader could read
    them otherwise is a decision, and every combination is read, up to the budget.
    """
    reader = open_reader(())
    parse = Parse(_read_segments(reader, budget, hook), anomalies=reader.anomalies)
    room = budget.limits.frame_readings - 1  # readings left after this first one
    pending: list[list[bool]] = []
    unread = _branch(pending, [], reader.decision_count, room)
    while pending:
        decisions = pending.pop(0)
        reader = open_reader(decisions)
        parse.other_readings.append(_read_segments(reader, budget, hook))
        room = budget.limits.frame_readings - 1 - len(parse.other_readings) - len(pending)
        unread += _branch(pending, decisions, reader.decision_count, room)
    if unread:
        detail = f"{unread} more ways to read its frames were not followed"
        parse.skipped.append(Skipped(Limit.FRAME_READINGS, detail))
    return parse


def _branch(pending: list[list[bool]], decisions: list[bool], count: int, room: int) -> int:
    """Queue the readings that take the other way at each decision past `decisions`, as
    long as there is room; the number of decisions left unexplored."""
    start = len(decisions)
    for index in range(start, count):
        if room <= 0:
            return count - index
        pending.append(decisions + [False] * (index - start) + [True])
        room -= 1
    return 0


def _read_segments(reader: Reader, budget: Budget, hook: BuildHook | None) -> list[Segment]:
    """Stops at the end of the data, at a pickle that is malformed, or at bytes that are not
    a pickle at all (a segment with no opcodes, kept so the caller can report them)."""
    segments: list[Segment] = []
    limit: int | None = None
    while limit is None or len(segments) < limit:
        try:
            if reader.at_end():
                break
        except CorruptData as exc:
            segments.append(Segment(reader.offset, error=str(exc), corrupt=True))
            break
        except BudgetExceeded as exc:
            skipped = Skipped(exc.limit, exc.detail)
            segments.append(Segment(reader.offset, error=str(exc), budget=skipped))
            break
        segment = analyze(reader, budget, hook)
        segments.append(segment)
        if segment.error:
            break
        if len(segments) == 1 and is_legacy_torch(segment):
            limit = LEGACY_TORCH_PICKLES
    return segments


def is_legacy_torch(segment: Segment) -> bool:
    """True for the first pickle of a legacy `torch.save` file."""
    return type(segment.result) is int and segment.result == LEGACY_TORCH_MAGIC
