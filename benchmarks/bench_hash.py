"""Benchmark `mlsecops hash` against coreutils and a hashlib reference. Prints figures.

    .venv/bin/python benchmarks/bench_hash.py [--rounds 5] [--dir /tmp] [--keep]
    .venv/bin/python benchmarks/bench_hash.py --small-files 25000 [--rounds 5]

Without --small-files: generates a model (four 192 MiB shards and a few hundred small files
in nested folders), warms the page cache, then times in each round, in rotating order
(interleaved, so drift in the machine hits every contender alike):

  mlsecops     `python -m mlsecops hash MODEL --manifest FILE`, the command users run
  startup      `python -m mlsecops --version`: the CLI's fixed cost, included in the above
  sha256sum    coreutils `sha256sum` over every file, sequentially (one process)
  xargs -P     the same files through `xargs -0 -P <nproc> -n 1 sha256sum`, largest first
  reference    hashlib (OpenSSL) on one thread per core, largest first, in a fresh Python

Wall time is what counts; CPU time (user + system, from GNU time) is shown too because it
barely moves when other jobs share the machine, while wall time does.

With --small-files N: N files of 100 B to --small-max-kib KiB (default 16), 100 to a
directory two levels deep (a dataset or a model zoo's many small files), and the contenders
`mlsecops hash`, `mlsecops verify` (of the manifest `hash` wrote), sequential `sha256sum`
(one process through `xargs`, which only splits the command line) and the same hashlib
reference.

`PYTHONPATH=/path/to/other/checkout` times that checkout's mlsecops instead (a before/after).

Each contender's peak memory comes from GNU time (`/usr/bin/time -f %M`). Note: coreutils'
sha256sum here does not use the CPU's SHA instructions; OpenSSL (and so hashlib) does.
This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

SHARDS = 4
SHARD_BYTES = 192 * 1024 * 1024
SMALL_FILES = 400
CHUNK = 16 * 1024 * 1024

REFERENCE = r"""
import hashlib, os, sys
from concurrent.futures import ThreadPoolExecutor
root, jobs = sys.argv[1], int(sys.argv[2])
paths = [os.path.join(d, f) for d, _, names in os.walk(root) for f in names]
paths.sort(key=os.path.getsize, reverse=True)
def digest(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()
with ThreadPoolExecutor(jobs) as pool:
    list(pool.map(digest, paths))
"""


@dataclass(frozen=True)
class Run:
    """One timed child process."""

    seconds: float
    cpu_seconds: float  # user + system, the child and its children
    peak_rss_mib: float
    stdout: str


def run(command: list[str], cwd: Path, stdin: bytes | None = None) -> Run:
    """Time `command` to its exit; its peak RSS (with its children's) from GNU time.

    Not wait4 on our own child: Linux carries the pre-exec high-water mark of a forked child
    (a copy of this Python) over exec, so every contender would read as at least our size.
    /usr/bin/time is small, and what it forks starts from its small image.
    """
    with tempfile.NamedTemporaryFile() as peak, tempfile.TemporaryFile() as out:
        timed = ["/usr/bin/time", "-f", "%M %U %S", "-o", peak.name, *command]
        started = time.perf_counter()
        done = subprocess.run(timed, cwd=cwd, input=stdin, stdout=out, stderr=subprocess.PIPE)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{command[:4]} failed ({done.returncode}): {done.stderr.decode()}")
        out.seek(0)
        text = out.read().decode(errors="replace")
        peak_kib, user, system = Path(peak.name).read_text(encoding="utf-8").split()[-3:]
    return Run(seconds, float(user) + float(system), int(peak_kib) / 1024, text)


def _ratio(
    numerator: str, denominator: str
) -> Callable[[dict[str, list[float]]], tuple[float, float]]:
    """median/median and best/best of two contenders' times."""

    def ratio(times: dict[str, list[float]]) -> tuple[float, float]:
        top, bottom = times[numerator], times[denominator]
        return statistics.median(top) / statistics.median(bottom), min(top) / min(bottom)

    return ratio


def _mark(value: float, goal: float) -> str:
    """PASS/MISS against a goal: positive means at least, negative means at most."""
    ok = value >= goal if goal > 0 else value <= -goal
    return "PASS" if ok else "MISS"


def make_small_files(root: Path, count: int, largest: int) -> list[Path]:
    """`count` files of 100 B to `largest` bytes, 100 to a folder, 20 folders a shard."""
    rng = random.Random(20261208)
    files = []
    for index in range(count):
        folder = root / f"shard{index // 2000:03d}" / f"part{index // 100 % 20:02d}"
        if index % 100 == 0:
            folder.mkdir(parents=True)
        path = folder / f"sample-{index:06d}.json"
        path.write_bytes(rng.randbytes(rng.randint(100, largest)))
        files.append(path)
    return files


def make_model(root: Path) -> list[Path]:
    """Four shards of random bytes, and small files of 200 B to 64 KiB in nested folders."""
    rng = random.Random(20240601)
    files = []
    for index in range(1, SHARDS + 1):
        path = root / f"model-{index:05d}-of-{SHARDS:05d}.safetensors"
        with path.open("wb") as handle:
            for _ in range(SHARD_BYTES // CHUNK):
                handle.write(os.urandom(CHUNK))
        files.append(path)
    for index in range(SMALL_FILES):
        folder = root / ("tokenizer" if index % 3 == 0 else f"extra/part{index % 7}")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"file-{index:04d}.json"
        path.write_bytes(rng.randbytes(rng.randint(200, 64 * 1024)))
        files.append(path)
    (root / ".gitattributes").write_text("*.safetensors filter=lfs\n", encoding="utf-8")
    files.append(root / ".gitattributes")
    return files


def warm(files: list[Path]) -> None:
    """Read everything once, so every contender hashes from the page cache."""
    for path in files:
        with path.open("rb") as handle:
            while handle.read(CHUNK):
                pass


def machine() -> str:
    """CPU model, cores, SHA extensions, and the two SHA-256 implementations' versions."""
    cpu = "unknown CPU"
    flags: set[str] = set()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name") and cpu == "unknown CPU":
                cpu = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    coreutils = subprocess.run(["sha256sum", "--version"], capture_output=True, text=True)
    return (
        f"{cpu}, {len(os.sched_getaffinity(0))} cores available, SHA extensions (sha_ni): "
        f"{'yes' if 'sha_ni' in flags else 'no'}\n"
        f"Python {platform.python_version()}, {ssl.OPENSSL_VERSION}, "
        f"{coreutils.stdout.splitlines()[0] if coreutils.stdout else 'sha256sum ?'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--dir", type=Path, help="where to generate the model (default: TMPDIR)")
    parser.add_argument("--keep", action="store_true", help="keep the generated model")
    parser.add_argument(
        "--small-files", type=int, default=0, metavar="N", help="the small-files case: N files"
    )
    parser.add_argument(
        "--small-max-kib", type=int, default=16, help="the small files' largest size (KiB)"
    )
    args = parser.parse_args()
    if args.small_files:
        largest = args.small_max_kib * 1024
        small_files_bench(args.small_files, largest, args.rounds, args.dir, args.keep)
        return

    large_files_bench(args.rounds, args.dir, args.keep)


def large_files_bench(rounds: int, where: Path | None, keep: bool) -> None:
    """`hash` of a model of large shards against sha256sum and the hashlib reference."""
    work = Path(tempfile.mkdtemp(prefix="bench-hash-", dir=where))
    model = work / "model"
    model.mkdir()
    try:
        print(machine())
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        print(
            f"generating {SHARDS} x {SHARD_BYTES // 2**20} MiB shards + {SMALL_FILES} small files"
        )
        files = make_model(model)
        total = sum(path.stat().st_size for path in files)
        print(f"model: {len(files)} files, {total / 2**20:.0f} MiB, in {model}")
        warm(files)
        runs = interleave(large_contenders(model, work, files), rounds)
        print_large_table(runs, total)
        times = {name: [r.seconds for r in done] for name, done in runs.items()}
        print_ratios(times, LARGE_RATIOS)
        hashing = [t - s for t, s in zip(times["mlsecops hash"], times["  (startup)"], strict=True)]
        reference = times["hashlib reference"]
        print(
            f"{'  same, minus the CLI startup':40}"
            f"{statistics.median(hashing) / statistics.median(reference):8.2f}"
            f"{min(hashing) / min(reference):8.2f}  (startup measured in the same round)"
        )
        peak = max(r.peak_rss_mib for r in runs["mlsecops hash"])
        print(f"{'mlsecops peak RSS (MiB)':40}{peak:8.1f}{'':8}  < 200    {_mark(peak, -200)}")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def large_contenders(model: Path, work: Path, files: list[Path]) -> dict[str, Callable[[], Run]]:
    """Each way of hashing the large model, as a command to run once per round."""
    jobs = len(os.sched_getaffinity(0))
    largest_first = sorted(files, key=lambda p: p.stat().st_size, reverse=True)
    names = [str(p.relative_to(model)) for p in largest_first]
    python = sys.executable
    return {
        "mlsecops hash": lambda: run(
            [python, "-m", "mlsecops", "hash", str(model), "--manifest", str(work / "m.json")],
            work,
        ),
        "  (startup)": lambda: run([python, "-m", "mlsecops", "--version"], work),
        "sha256sum": lambda: run(["sha256sum", "--", *names], model),
        "xargs -P sha256sum": lambda: run(
            ["xargs", "-0", "-P", str(jobs), "-n", "1", "sha256sum", "--"],
            model,
            stdin="\0".join(names).encode() + b"\0",
        ),
        "hashlib reference": lambda: run([python, "-c", REFERENCE, str(model), str(jobs)], work),
    }


def print_large_table(runs: dict[str, list[Run]], total: int) -> None:
    """Median and best time, throughput, CPU and peak memory of each contender."""
    print(f"\n{'':22}{'median s':>10}{'min s':>9}{'MiB/s':>8}{'CPU s':>8}{'peak RSS MiB':>14}")
    for name, done in runs.items():
        seconds = [r.seconds for r in done]
        median = statistics.median(seconds)
        rate = f"{total / 2**20 / median:8.0f}" if "startup" not in name else f"{'':8}"
        print(
            f"{name:22}{median:10.3f}{min(seconds):9.3f}{rate}"
            f"{statistics.median(r.cpu_seconds for r in done):8.2f}"
            f"{max(r.peak_rss_mib for r in done):14.1f}"
        )
    print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    # "hashed N files, B bytes, in S s (J jobs)": the time spent hashing, by its own report.
    inner = [float(r.stdout.split(" in ")[1].split(" s ")[0]) for r in runs["mlsecops hash"]]
    print(f"mlsecops time inside the hash (its own report): {statistics.median(inner):.3f} s")


Ratio = Callable[[dict[str, list[float]]], tuple[float, float]]


# The ratios the targets are about: (label, ratio, target shown, goal for _mark; 0: none).
LARGE_RATIOS: list[tuple[str, Ratio, str, float]] = [
    (
        "speed-up over sequential sha256sum",
        _ratio("sha256sum", "mlsecops hash"),
        ">= 3",
        3.0,
    ),
    (
        "mlsecops / hashlib reference",
        _ratio("mlsecops hash", "hashlib reference"),
        "<= 1.25",
        -1.25,
    ),
    (
        "speed-up over xargs -P sha256sum",
        _ratio("xargs -P sha256sum", "mlsecops hash"),
        "",
        0.0,
    ),
]
SMALL_RATIOS: list[tuple[str, Ratio, str, float]] = [
    (
        "hash / hashlib reference",
        _ratio("mlsecops hash", "hashlib reference"),
        "<= 1.1",
        -1.1,
    ),
    (
        "verify / hashlib reference",
        _ratio("mlsecops verify", "hashlib reference"),
        "<= 1.1",
        -1.1,
    ),
    ("hash / sequential sha256sum", _ratio("mlsecops hash", "sha256sum"), "< 1", -1.0),
]


def print_ratios(times: dict[str, list[float]], rows: list[tuple[str, Ratio, str, float]]) -> None:
    """Each ratio, median and best, marked against its goal (0: no goal)."""
    # Medians say what a typical run sees; on a shared machine other jobs inflate them,
    # and the best of the rounds is the closer measure of the code itself. Both shown.
    print(f"\n{'':40}{'median':>8}{'best':>8}  target")
    for label, ratio, target, goal in rows:
        values = ratio(times)
        verdict = "" if not goal else " ".join(_mark(v, goal) for v in values)
        print(f"{label:40}{values[0]:8.2f}{values[1]:8.2f}  {target:8} {verdict}")


def interleave(contenders: dict[str, Callable[[], Run]], rounds: int) -> dict[str, list[Run]]:
    """Every contender once a round, the order rotating from round to round."""
    runs: dict[str, list[Run]] = {name: [] for name in contenders}
    order = list(contenders)
    for round_ in range(rounds):
        for name in order[round_ % len(order) :] + order[: round_ % len(order)]:
            runs[name].append(contenders[name]())
        print(
            f"round {round_ + 1}/{rounds}: "
            + ", ".join(f"{name.strip()} {runs[name][-1].seconds:.3f}" for name in order)
        )
    return runs


def small_files_bench(
    count: int, largest: int, rounds: int, where: Path | None, keep: bool
) -> None:
    """`hash` and `verify` of `count` small files against sha256sum and the hashlib reference."""
    jobs = len(os.sched_getaffinity(0))
    work = Path(tempfile.mkdtemp(prefix="bench-hash-small-", dir=where))
    model, manifest = work / "model", work / "m.json"
    try:
        print(machine())
        print("load average before: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
        files = make_small_files(model, count, largest)
        total = sum(path.stat().st_size for path in files)
        print(f"model: {len(files)} files, {total / 2**20:.0f} MiB, in {model}")
        warm(files)
        names = "\0".join(str(p.relative_to(model)) for p in files).encode() + b"\0"
        cli = [sys.executable, "-m", "mlsecops"]
        run([*cli, "hash", str(model), "--manifest", str(manifest)], work)
        contenders: dict[str, Callable[[], Run]] = {
            "mlsecops hash": lambda: run(
                [*cli, "hash", str(model), "--manifest", str(work / "again.json")], work
            ),
            "mlsecops verify": lambda: run(
                [*cli, "verify", str(model), "--manifest", str(manifest)], work
            ),
            "sha256sum": lambda: run(["xargs", "-0", "sha256sum", "--"], model, stdin=names),
            "hashlib reference": lambda: run(
                [sys.executable, "-c", REFERENCE, str(model), str(jobs)], work
            ),
        }
        runs = interleave(contenders, rounds)
        print(f"\n{'':22}{'median s':>10}{'min s':>9}{'max s':>9}{'CPU s':>8}{'peak MiB':>10}")
        for name, done in runs.items():
            seconds = [r.seconds for r in done]
            print(
                f"{name:22}{statistics.median(seconds):10.3f}{min(seconds):9.3f}"
                f"{max(seconds):9.3f}{statistics.median(r.cpu_seconds for r in done):8.2f}"
                f"{max(r.peak_rss_mib for r in done):10.1f}"
            )
        print_ratios({name: [r.seconds for r in done] for name, done in runs.items()}, SMALL_RATIOS)
        for name in ("mlsecops hash", "mlsecops verify"):
            peak = max(r.peak_rss_mib for r in runs[name])
            print(f"{name + ' peak RSS (MiB)':40}{peak:8.1f}{'':8}  < 100    {_mark(peak, -100)}")
        print("load average after: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
