"""What a command costs before it does any work: start-up against `python -c pass`.

    .venv/bin/python benchmarks/bench_startup.py [--rounds 20]

Times in interleaved rounds, each a fresh process: `python -c pass` (the floor: the same
interpreter, its site and the editable install's finder), `python -m mlsecops --version`,
`mlsecops hash` and `mlsecops verify` of a one-file model, and `mlsecops scan --model` of
one tiny pickle (the scan stack, no Trivy). CPU is user + sys of each reaped child (getrusage),
which a shared machine moves less than wall time. Prints medians, the spread and each
command's ratio to the floor (targets: `--version` <= 2x, `hash` <= 4x). A benchmark prints
figures; it asserts nothing. `PYTHONPATH=OTHER_CHECKOUT` times that checkout's mlsecops.
"""

from __future__ import annotations

import argparse
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

TARGETS = {"--version": 2.0, "hash": 4.0}


def cpu_seconds(command: list[str], cwd: Path) -> float:
    """User + sys CPU of one run of `command` (the kernel's accounting of the reaped child)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    """Build the one-file model and pickle, then time every command in rotating order."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        work = Path(tmp)
        # An empty working directory: `scan` then has no project to hand to Trivy, and it is
        # never this repository (`python -m` would put it first on sys.path).
        cwd = work / "cwd"
        cwd.mkdir()
        model, manifest, pkl = work / "model.bin", work / "m.json", work / "tiny.pkl"
        model.write_bytes(os.urandom(1024))
        pkl.write_bytes(pickle.dumps({"a": [1, 2.0]}, protocol=4))
        cli = [python, "-m", "mlsecops"]
        subprocess.run([*cli, "hash", str(model), "--manifest", str(manifest)], check=True,
                       capture_output=True, cwd=cwd)  # fmt: skip
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "--version": [*cli, "--version"],
            "hash": [*cli, "hash", str(model), "--manifest", str(work / "again.json")],
            "verify": [*cli, "verify", str(model), "--manifest", str(manifest)],
            "scan --model": [*cli, "scan", "--model", str(pkl), "--fail-on", "NONE", "-q"],
        }
        cpu: dict[str, list[float]] = {name: [] for name in commands}
        names = list(commands)
        for round_ in range(args.rounds + 1):  # the first round warms up, uncounted
            for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
                seconds = cpu_seconds(commands[name], cwd)
                if round_:
                    cpu[name].append(seconds)
    floor = statistics.median(cpu["python -c pass"])
    print(f"{args.rounds} interleaved rounds, CPU seconds (user + sys)\n")
    print(f"{'command':16}{'median':>8}{'min':>8}{'max':>8}{'x pass':>8}  target")
    for name, values in cpu.items():
        ratio = statistics.median(values) / floor
        goal = TARGETS.get(name)
        verdict = f"<= {goal:g}x {'PASS' if ratio <= goal else 'MISS'}" if goal else ""
        print(
            f"{name:16}{statistics.median(values):8.3f}{min(values):8.3f}{max(values):8.3f}"
            f"{ratio:8.2f}  {verdict}"
        )


if __name__ == "__main__":
    main()
