"""The long run of the model-scanner mutation fuzzer (the test suite runs 300 mutants).

    .venv/bin/python benchmarks/fuzz_modelscan.py --mutants 6000 --seed 1 --save /tmp/fuzz-failures

Seeds are every file of the test corpus (malicious, format, informational and benign); each
mutant gets one to three mutations (bit flips, interesting integers, cuts, splices, length
fields) and is scanned in this process under a time limit, with tracemalloc measuring what
the scan allocates. Failures (an exception, an internal-error finding, a time-out, a memory
peak over the limit) are printed and, with --save, written out to reproduce.
"""

from __future__ import annotations

import argparse
import collections
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "modelscan")]

from fuzz import mutants, run  # noqa: E402
from test_modelscan_fuzz import build_pool  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=30.0, help="seconds per mutant")
    parser.add_argument("--memory-limit", type=int, default=256, help="MiB per mutant")
    parser.add_argument("--save", type=Path, help="write failing mutants here")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="fuzz-modelscan-"))
    try:
        pool = build_pool(work / "pool")
        (work / "scan").mkdir()
        start = time.perf_counter()
        outcome = run(
            mutants(pool, args.mutants, random.Random(args.seed)),
            work / "scan",
            time_limit=args.time_limit,
            memory_limit=args.memory_limit << 20,
        )
        elapsed = time.perf_counter() - start
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"seeds: {len(pool)} files; mutants: {outcome.scanned}, seed {args.seed}")
    print(f"time: {elapsed:.1f} s ({outcome.scanned / elapsed:.0f} mutants/s)")
    slow = outcome.slowest_mutant
    print(f"slowest: {outcome.slowest:.2f} s ({slow.seed if slow else '-'}); "
          f"largest memory peak: {outcome.peak / (1 << 20):.1f} MiB")  # fmt: skip
    kinds = collections.Counter(problem.split(":")[0] for _m, problem in outcome.failures)
    print(
        f"failures: {len(outcome.failures)}" + "".join(f"\n  {n} x {k}" for k, n in kinds.items())
    )
    for index, (mutant, problem) in enumerate(outcome.failures):
        print(f"- {mutant.seed} {' '.join(mutant.how)}: {problem[:300]}")
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"{index}-{Path(mutant.seed).name}").write_bytes(mutant.data)
    return 1 if outcome.failures else 0


if __name__ == "__main__":
    sys.exit(main())
