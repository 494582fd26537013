"""A mutation fuzzer for the model scanner: corpus files, mutated, scanned, checked.

Shared by the test suite (a fixed seed, a few hundred mutants) and the longer optional run
in benchmarks/fuzz_modelscan.py. A mutant fails when the scan raises, reports an internal
error (a finding with the `internal_error` property), runs past a time limit, or allocates
past a memory limit (Python allocations, measured with tracemalloc).
"""

from __future__ import annotations

import random
import signal
import struct
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from mlsecops.modelscan import scan_files

# Values that break length and offset fields: zero, one, signs, the edges of each width.
_INTERESTING = (0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF)  # fmt: skip


@dataclass(frozen=True)
class Mutant:
    """One mutated file: which seed, which mutations, the bytes."""

    seed: str
    how: tuple[str, ...]
    data: bytes


@dataclass
class Outcome:
    """What the fuzzing run saw."""

    scanned: int = 0
    failures: list[tuple[Mutant, str]] = field(default_factory=list)
    slowest: float = 0.0
    slowest_mutant: Mutant | None = None
    peak: int = 0  # bytes, the largest tracemalloc peak of one scan


def seeds(root: Path, limit: int = 1 << 20) -> dict[str, bytes]:
    """Every regular file under `root` up to `limit` bytes, by relative name."""
    found = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= limit:
            found[str(path.relative_to(root))] = path.read_bytes()
    return found


def mutants(pool: dict[str, bytes], count: int, rng: random.Random) -> Iterator[Mutant]:
    """`count` mutants of the files in `pool`, one to three mutations each."""
    names = sorted(pool)
    for _ in range(count):
        name = rng.choice(names)
        data, how = bytearray(pool[name]), []
        for _ in range(rng.randint(1, 3)):
            mutation = rng.choice(_MUTATIONS)
            how.append(mutation(data, rng, pool[rng.choice(names)]))
        yield Mutant(name, tuple(how), bytes(data))


def _flip(data: bytearray, rng: random.Random, _other: bytes) -> str:
    if not data:
        data.append(0)
    at = rng.randrange(len(data))
    data[at] ^= 1 << rng.randrange(8)
    return f"flip@{at}"


def _integer(data: bytearray, rng: random.Random, _other: bytes) -> str:
    width = rng.choice((1, 2, 4, 8))
    if len(data) < width:
        return "integer:short"
    at = rng.randrange(len(data) - width + 1)
    value = rng.choice(_INTERESTING) & ((1 << (8 * width)) - 1)
    data[at : at + width] = value.to_bytes(width, "little")
    return f"int{width * 8}@{at}={value:#x}"


def _cut(data: bytearray, rng: random.Random, _other: bytes) -> str:
    at = rng.randrange(len(data) + 1)
    del data[at:]
    return f"truncate@{at}"


def _delete(data: bytearray, rng: random.Random, _other: bytes) -> str:
    at = rng.randrange(len(data) + 1)
    length = rng.randint(1, 64)
    del data[at : at + length]
    return f"delete@{at}+{length}"


def _duplicate(data: bytearray, rng: random.Random, _other: bytes) -> str:
    at = rng.randrange(len(data) + 1)
    chunk = data[at : at + rng.randint(1, 256)]
    data[at:at] = chunk * rng.randint(1, 8)
    return f"duplicate@{at}"


def _splice(data: bytearray, rng: random.Random, other: bytes) -> str:
    at = rng.randrange(len(data) + 1)
    start = rng.randrange(len(other) + 1)
    data[at:at] = other[start : start + rng.randint(1, 512)]
    return f"splice@{at}"


def _random_bytes(data: bytearray, rng: random.Random, _other: bytes) -> str:
    at = rng.randrange(len(data) + 1)
    data[at:at] = rng.randbytes(rng.randint(1, 32))
    return f"insert@{at}"


def _length_field(data: bytearray, rng: random.Random, _other: bytes) -> str:
    # Lengths sit before what they measure: a 4- or 8-byte field just before a printable run.
    candidates = [i for i in range(8, len(data)) if 0x20 <= data[i] < 0x7F and data[i - 1] < 0x20]
    if not candidates:
        return "length:none"
    at = rng.choice(candidates) - rng.choice((4, 8))
    data[at : at + 4] = struct.pack("<I", rng.choice((0xFFFFFFFF, 0x7FFFFFFF, 1 << 30)))
    return f"length@{at}"


_MUTATIONS = (_flip, _integer, _cut, _delete, _duplicate, _splice, _random_bytes, _length_field)


class _Timeout(Exception):
    pass


def _alarm(_signum: int, _frame: FrameType | None) -> None:
    raise _Timeout


def run(found: Iterator[Mutant], work: Path, *, time_limit: float, memory_limit: int) -> Outcome:
    """Scan each mutant (written under `work`) and record every failure."""
    outcome = Outcome()
    previous = signal.signal(signal.SIGALRM, _alarm)
    try:
        for index, mutant in enumerate(found):
            path = work / f"{index}-{Path(mutant.seed).name}"
            path.write_bytes(mutant.data)
            problem, elapsed, peak = _scan_one(path, time_limit)
            path.unlink()
            outcome.scanned += 1
            if elapsed > outcome.slowest:
                outcome.slowest, outcome.slowest_mutant = elapsed, mutant
            outcome.peak = max(outcome.peak, peak)
            if not problem and peak > memory_limit:
                problem = f"allocated {peak >> 20} MiB"
            if problem:
                outcome.failures.append((mutant, problem))
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    return outcome


def _scan_one(path: Path, time_limit: float) -> tuple[str, float, int]:
    """(problem or "", seconds, peak bytes) of one scan."""
    tracemalloc.start()
    start = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, time_limit)
    try:
        results = scan_files([path])
        problem = next(
            (
                f"internal error: {f.description}"
                for file in results
                for f in file.findings
                if "internal_error" in f.properties
            ),
            "",
        )
    except _Timeout:
        problem = f"ran past {time_limit} s"
    except Exception as exc:  # the scan must never raise on a file
        problem = f"raised {type(exc).__name__}: {exc}"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        elapsed = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return problem, elapsed, peak
