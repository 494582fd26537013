"""A fixed-seed mutation fuzzer over the pickle reader: no exception, no internal error.

Mutants of every generated malicious pickle and of the real benign ones (bytes flipped,
inserted, cut, repeated, length fields blown up, two pickles spliced) go through the whole
scan. Each must end in findings, never an exception or the scanner's internal-error note,
within the budgets. benchmarks/bench_pickles.py is for speed; this is for robustness.
"""

from __future__ import annotations

import random
import struct
from pathlib import Path

import pytest
from modelscan_corpus import pickle_cases
from pickle_corpus import pickle_class_cases

from mlsecops.modelscan import scan_models

SEED = 20261207
MUTANTS = 300
BENIGN = Path(__file__).parent / "fixtures" / "benign"


def seeds(root: Path) -> list[bytes]:
    """The malicious pickle corpus and the small real benign pickles, as bytes."""
    out = []
    for item in [*pickle_cases(), *pickle_class_cases()]:
        item.build(root)
        out.append((root / item.name).read_bytes())
    out += [p.read_bytes() for p in sorted(BENIGN.glob("*.pkl")) if p.stat().st_size < 200_000]
    return out


def mutate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    """One random change (or a few) of the kinds that break parsers."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(out) + 1)
        kind = rng.randrange(6)
        if kind == 0 and out:  # flip a byte
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif kind == 1:  # insert random bytes
            out[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif kind == 2:  # cut a piece out
            del out[at : at + rng.randint(1, 16)]
        elif kind == 3:  # repeat a piece
            out[at:at] = out[at : at + rng.randint(1, 64)] * rng.randint(2, 50)
        elif kind == 4:  # a length field blown up
            out[at:at] = struct.pack("<Q", rng.choice([2**31, 2**40, 2**63 - 1, 2**64 - 1]))
        else:  # splice another pickle in
            start = rng.randrange(len(other) + 1)
            out[at:at] = other[start : start + rng.randint(1, 128)]
    return bytes(out)


@pytest.fixture(scope="module")
def mutants(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    originals = seeds(tmp_path_factory.mktemp("seeds"))
    rng = random.Random(SEED)
    for number in range(MUTANTS):
        data = mutate(rng, rng.choice(originals), rng.choice(originals))
        (root / f"mutant{number:03d}.pkl").write_bytes(data)
    return root


def test_every_mutant_ends_in_findings_not_errors(mutants: Path) -> None:
    findings = scan_models([mutants])
    internal = [f for f in findings if "internal_error" in f.properties]
    assert internal == []
    assert {f.target.rsplit("/", 1)[-1] for f in findings} <= {p.name for p in mutants.iterdir()}
