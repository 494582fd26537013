"""A fixed-seed mutation fuzz of every format: no internal error, no hang, bounded memory.

The longer run (thousands of mutants, any seed) is benchmarks/fuzz_modelscan.py.
"""

from __future__ import annotations

import random
from pathlib import Path

from format_corpus import format_cases, informational_cases
from fuzz import mutants, run, seeds
from modelscan_corpus import all_cases, write_generated_benign

SEED = 20261207
MUTANTS = 300
BENIGN = Path(__file__).parent / "fixtures" / "benign"
SMALL_BENIGN = ("torch_checkpoint.pt", "torch_legacy.pt", "model.onnx", "model.safetensors",
                "arrays.npz", "sklearn_pipeline_compressed.joblib", "numeric.npy")  # fmt: skip


def build_pool(root: Path) -> dict[str, bytes]:
    """The corpus of every format, as fuzzing seeds (no FIFO, no symlink)."""
    root.mkdir()
    informational = [c for c in informational_cases() if c.name not in ("pipe.bin", "outside.bin")]
    for case in all_cases() + format_cases() + informational:
        case.build(root)
    write_generated_benign(root / "benign")
    for name in SMALL_BENIGN:
        (root / "benign" / name).write_bytes((BENIGN / name).read_bytes())
    return seeds(root)


def test_mutants_never_crash_hang_or_balloon(tmp_path: Path) -> None:
    pool = build_pool(tmp_path / "pool")
    assert len(pool) > 100
    work = tmp_path / "work"
    work.mkdir()
    found = mutants(pool, MUTANTS, random.Random(SEED))
    # Generous limits: the machine is shared; a hang or a bomb is orders of magnitude past them.
    outcome = run(found, work, time_limit=30.0, memory_limit=256 << 20)
    assert outcome.scanned == MUTANTS
    assert [(m.seed, m.how, problem) for m, problem in outcome.failures] == []
