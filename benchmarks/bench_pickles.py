"""What reading pickles costs: mlsecops against picklescan, measured in the same run.

    python3 -m venv /tmp/pickle-bench
    /tmp/pickle-bench/bin/pip install picklescan joblib scikit-learn
    .venv/bin/python benchmarks/bench_pickles.py --tools-bin /tmp/pickle-bench/bin [--rounds 5]

`--before DIR` adds an earlier mlsecops as a contender: DIR holds its `mlsecops` package
(`git archive <commit> mlsecops | tar -x -C DIR`), run with PYTHONPATH=DIR.

picklescan, joblib and scikit-learn live in that throwaway venv, never in the project's:
joblib and scikit-learn only make realistic data (a joblib dump, a fitted KNN model).
Every case generates its data under --dir, runs each contender as its own process in
rotating order for --rounds rounds (interleaved, so drift in a shared machine hits every
contender alike) and prints medians, the spread (min-max) and ratios. CPU time (user +
sys, GNU time) is what counts where wall time is noisy; peak memory is GNU time's max RSS.

  tiny     --files tiny pickles (protocols 2-5, one global each) in one directory:
           `mlsecops scan --model DIR` against `picklescan -p DIR`, CPU per file after
           each tool's cost on an empty directory (start-up, imports) is taken off
  opcodes  pickles of millions of opcodes (a list of floats: nothing memoized; a dict of
           strings: every key memoized): CPU and peak memory at two sizes each
  knn      a fitted KNeighborsClassifier (kd-tree) pickled to about --knn-mb MB
  joblib   a plain (uncompressed) joblib dump of --joblib-mb MB of arrays: the bytes
           mlsecops reads from it (/proc/self/io), and its time against picklescan's
  bombs    issue 13's resource bombs: time, memory, and what the scan reported
This is a script that prints figures, not a test.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import pickle
import statistics
import struct
import subprocess
import sys
import tempfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

PYTHON = sys.executable
PROTOCOL0 = b"cos\nsystem\n(S'true'\ntR."  # harmless: written, never loaded


@dataclass(frozen=True)
class Run:
    """One process: CPU seconds (user + sys), wall seconds, peak RSS in MiB."""

    cpu: float
    wall: float
    rss: float
    output: str = ""


def timed(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> Run:
    with tempfile.NamedTemporaryFile("r", suffix=".time") as stats:
        proc = subprocess.run(
            ["/usr/bin/time", "-f", "%U %S %e %M", "-o", stats.name, *command],
            cwd=cwd, capture_output=True, text=True, check=False, timeout=3600,
            env={**os.environ, **(env or {})},
        )  # fmt: skip
        user, system, wall, rss = stats.read().split()[-4:]
    return Run(float(user) + float(system), float(wall), int(rss) / 1024, proc.stdout)


def interleaved(contenders: dict[str, Callable[[], Run]], rounds: int) -> dict[str, list[Run]]:
    runs: dict[str, list[Run]] = {name: [] for name in contenders}
    names = list(contenders)
    for number in range(rounds):
        for name in names[number % len(names) :] + names[: number % len(names)]:
            runs[name].append(contenders[name]())
    return runs


def med(values: list[float]) -> float:
    return statistics.median(values)


def spread(values: list[float]) -> str:
    return f"{min(values):.2f}-{max(values):.2f}"


class Bench:
    def __init__(self, root: Path, tools: Path, rounds: int, before: Path | None) -> None:
        self.root = root
        self.tools = tools
        self.rounds = rounds
        self.before = before
        self.empty = root / "cwd"  # a project with nothing for Trivy: a model-only scan
        self.empty.mkdir(parents=True, exist_ok=True)

    def mlsecops(self, path: Path, *extra: str, before: bool = False) -> Run:
        command = [PYTHON, "-m", "mlsecops", "scan", "--model", str(path), "--fail-on", "NONE"]
        env = {"PYTHONPATH": str(self.before)} if before and self.before else None
        return timed([*command, *extra], self.empty, env)

    def contenders(self, path: Path) -> dict[str, Callable[[], Run]]:
        """mlsecops, picklescan and (with --before) the earlier mlsecops, on `path`."""
        found = {
            "mlsecops": lambda: self.mlsecops(path),
            "picklescan": lambda: self.picklescan(path),
        }
        if self.before:
            found["mlsecops before"] = lambda: self.mlsecops(path, before=True)
        return found

    def picklescan(self, path: Path) -> Run:
        return timed([str(self.tools / "picklescan"), "-p", str(path)], self.empty)

    def tool_python(self, code: str, *args: str) -> None:
        subprocess.run([str(self.tools / "python"), "-c", code, *args], check=True)

    # -- tiny ------------------------------------------------------------------------

    def tiny(self, count: int) -> None:
        folder, none = self.root / "tiny", self.root / "tiny-empty"
        none.mkdir(exist_ok=True)
        if not folder.exists():
            folder.mkdir()
            for index in range(count):
                data = {"id": index, "name": f"item{index}", "w": [0.5 * index, 1.0, 2.0]}
                blob = pickle.dumps(data, protocol=2 + index % 4)
                (folder / f"{index:06d}.pkl").write_bytes(blob)
        contenders = self.contenders(folder)
        tools = list(contenders)
        for tool, run in self.contenders(none).items():
            contenders[f"{tool}, empty dir"] = run
        runs = interleaved(contenders, self.rounds)
        print(f"\n## {count} tiny pickles in one directory ({self.rounds} rounds)\n")
        print("| contender | CPU s (median, spread) | wall s | CPU per file, start-up off |")
        print("|---|---|---|---|")
        per_file = {}
        for tool in tools:
            cpu = [r.cpu for r in runs[tool]]
            base = med([r.cpu for r in runs[f"{tool}, empty dir"]])
            per_file[tool] = (med(cpu) - base) / count * 1e3
            wall = med([r.wall for r in runs[tool]])
            print(f"| {tool} | {med(cpu):.2f} ({spread(cpu)}) | {wall:.2f} | "
                  f"{per_file[tool]:.3f} ms |")  # fmt: skip
        for tool in tools:
            ratio = per_file[tool] / per_file["picklescan"]
            print(f"\n{tool} / picklescan CPU per file: {ratio:.2f}x")

    # -- opcodes -----------------------------------------------------------------------

    def opcodes(self) -> None:
        shapes = {
            "floats 1M": lambda: [float(i) for i in range(1_000_000)],
            "floats 4M": lambda: [float(i) for i in range(4_000_000)],
            "str dict 250k": lambda: {f"token{i}": i for i in range(250_000)},
            "str dict 1M": lambda: {f"token{i}": i for i in range(1_000_000)},
        }
        print(f"\n## Pickles of millions of opcodes ({self.rounds} rounds)\n")
        print("| pickle | MB | opcodes | contender | CPU s (median, spread) | vs picklescan | "
              "peak MiB |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for label, make in shapes.items():
            path = self.root / f"opcodes-{label.replace(' ', '-')}.pkl"
            if not path.exists():
                path.write_bytes(pickle.dumps(make(), protocol=4))
            ops = _count_opcodes(path)
            runs = interleaved(self.contenders(path), self.rounds)
            reference = med([r.cpu for r in runs["picklescan"]])
            for tool, found in runs.items():
                cpu = [r.cpu for r in found]
                print(f"| {label} | {path.stat().st_size / 1e6:.0f} | {ops / 1e6:.1f}M | {tool} | "
                      f"{med(cpu):.2f} ({spread(cpu)}) | {med(cpu) / reference:.2f}x | "
                      f"{med([r.rss for r in found]):.0f} |")  # fmt: skip

    # -- knn ---------------------------------------------------------------------------

    def knn(self, megabytes: int) -> None:
        path = self.root / "knn.pkl"
        if not path.exists():
            rows = megabytes * (1 << 20) // (40 * 8 + 16)  # _fit_X (40 float64s a row), indexes
            self.tool_python(_KNN_MAKER, str(path), str(rows))
        runs = interleaved(self.contenders(path), self.rounds)
        size = path.stat().st_size / (1 << 20)
        print(f"\n## KNN model pickle, {size:.0f} MiB ({self.rounds} rounds)\n")
        print("| contender | wall s | CPU s | peak MiB | peak / file size |")
        print("|---|---|---|---|---|")
        for tool, found in runs.items():
            rss = med([r.rss for r in found])
            print(f"| {tool} | {med([r.wall for r in found]):.2f} | "
                  f"{med([r.cpu for r in found]):.2f} ({spread([r.cpu for r in found])}) | "
                  f"{rss:.0f} | {rss / size:.2f} |")  # fmt: skip

    # -- joblib ------------------------------------------------------------------------

    def joblib(self, megabytes: int) -> None:
        path = self.root / "arrays.joblib"
        if not path.exists():
            self.tool_python(_JOBLIB_MAKER, str(path), str(megabytes))
        reads = [_bytes_read(path) for _ in range(self.rounds)]
        before = [_bytes_read(path, self.before) for _ in range(self.rounds)] if self.before else []
        runs = interleaved(self.contenders(path), self.rounds)
        size = path.stat().st_size
        print(f"\n## Plain joblib dump, {size / (1 << 20):.0f} MiB ({self.rounds} rounds)\n")
        print(f"bytes mlsecops reads from it: {med(reads) / (1 << 20):.2f} MiB "
              f"({100 * med(reads) / size:.2f} % of the file)")  # fmt: skip
        if before:
            print(f"bytes mlsecops before reads from it: {med(before) / (1 << 20):.2f} MiB "
                  f"({100 * med(before) / size:.2f} % of the file)")  # fmt: skip
        print()
        print("| contender | wall s | CPU s | peak MiB |")
        print("|---|---|---|---|")
        for tool, found in runs.items():
            print(f"| {tool} | {med([r.wall for r in found]):.2f} | "
                  f"{med([r.cpu for r in found]):.2f} ({spread([r.cpu for r in found])}) | "
                  f"{med([r.rss for r in found]):.0f} |")  # fmt: skip

    # -- bombs -------------------------------------------------------------------------

    def bombs(self) -> None:
        print(f"\n## Issue 13's resource bombs, mlsecops ({self.rounds} rounds)\n")
        print("| bomb | file KB | wall s | CPU s | peak MiB | reported |")
        print("|---|---|---|---|---|---|")
        for label, name, make in _BOMBS:
            path = self.root / name
            if not path.exists():
                path.write_bytes(make())
            report = self.root / "report.json"
            report.unlink(missing_ok=True)
            found = [self.mlsecops(path, "--json", str(report)) for _ in range(self.rounds)]
            ids = sorted({f["id"] for f in json.loads(report.read_text())["findings"]})
            print(f"| {label} | {path.stat().st_size / 1024:.0f} | "
                  f"{med([r.wall for r in found]):.2f} | {med([r.cpu for r in found]):.2f} | "
                  f"{med([r.rss for r in found]):.0f} | {', '.join(ids)} |")  # fmt: skip


def _count_opcodes(path: Path) -> int:
    import pickletools

    with path.open("rb") as handle:
        return sum(1 for _ in pickletools.genops(handle))


def _bytes_read(path: Path, before: Path | None = None) -> int:
    """Bytes the scan reads (rchar), less what the same process reads for a 1-byte file."""
    code = (
        "import sys; from pathlib import Path; from mlsecops.modelscan import scan_models;"
        "io = lambda: int(open('/proc/self/io').read().split()[1]);"
        "scan_models([Path(sys.argv[2])]); before = io();"
        "scan_models([Path(sys.argv[1])]); print(io() - before)"
    )
    tiny = path.parent / "one-byte"
    tiny.write_bytes(b"N")
    env = {**os.environ, "PYTHONPATH": str(before)} if before else None
    # cwd: not the repository, whose mlsecops would shadow the PYTHONPATH one (sys.path[0]).
    proc = subprocess.run([PYTHON, "-c", code, str(path), str(tiny)], capture_output=True,
                          text=True, check=True, env=env, cwd=path.parent)  # fmt: skip
    return int(proc.stdout.split()[-1])


_KNN_MAKER = """
import pickle, sys
import numpy as np
from sklearn.neighbors import KNeighborsClassifier
rows = int(sys.argv[2])
rng = np.random.default_rng(0)
x = rng.random((rows, 40))
y = rng.integers(0, 10, rows)
model = KNeighborsClassifier(algorithm="kd_tree").fit(x, y)
with open(sys.argv[1], "wb") as handle:
    pickle.dump(model, handle, protocol=pickle.HIGHEST_PROTOCOL)
"""

_JOBLIB_MAKER = """
import sys
import joblib
import numpy as np
megabytes = int(sys.argv[2])
rng = np.random.default_rng(0)
arrays = {f"w{i}": rng.random(megabytes * (1 << 20) // 8 // 8) for i in range(8)}
arrays["classes"] = np.arange(10)
joblib.dump(arrays, sys.argv[1], compress=0)
"""


def _none_bomb() -> bytes:
    return gzip.compress(b"\x80\x04" + b"N" * 20_000_000 + b".", 9)


def _memo_fanout_bomb() -> bytes:
    # A 200 KB protocol-0 pickle, memoized once, passed to 3,000 calls.
    blob = b"S'" + b"a" * 200_000 + b"'\n0" + PROTOCOL0
    text = b"X" + struct.pack("<I", len(blob)) + blob + b"q\x00"
    call = b"cacme\nf\nh\x00\x85R0"
    return b"\x80\x02" + text + call * 3000 + b"N."


def _string_reuse_bomb() -> bytes:
    # One 1 MiB string, memoized, passed to 2,000 calls.
    text = b"X" + struct.pack("<I", 1 << 20) + b"gASV" * (1 << 18) + b"q\x00"
    call = b"cacme\nf\nh\x00\x85R0"
    return b"\x80\x02" + text + call * 2000 + b"N."


def _binbytes8_bomb() -> bytes:
    # BINBYTES8 of 600 MB of zeros, gzipped (the bytes are there, 1000:1).
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [compressor.compress(b"\x80\x04\x8e" + (600 << 20).to_bytes(8, "little"))]
    zeros = bytes(1 << 20)
    parts += [compressor.compress(zeros) for _ in range(600)]
    return b"".join(parts) + compressor.compress(b".") + compressor.flush()


_BOMBS = [
    ("20M NONE opcodes, gzip", "none.pkl.gz", _none_bomb),
    ("200 KB nested pickle reused 3,000 times", "fanout.pkl", _memo_fanout_bomb),
    ("1 MiB string reused by 2,000 calls", "reuse.pkl", _string_reuse_bomb),
    ("BINBYTES8 of 600 MB, gzip", "binbytes8.pkl.gz", _binbytes8_bomb),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tools-bin", type=Path, required=True, help="the venv with picklescan")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "bench-pickles")
    parser.add_argument("--files", type=int, default=50_000)
    parser.add_argument("--knn-mb", type=int, default=229)
    parser.add_argument("--joblib-mb", type=int, default=200)
    parser.add_argument("--cases", default="tiny,opcodes,knn,joblib,bombs")
    parser.add_argument("--before", type=Path, help="an earlier mlsecops package's parent dir")
    args = parser.parse_args()
    args.dir.mkdir(parents=True, exist_ok=True)
    bench = Bench(args.dir, args.tools_bin, args.rounds, args.before)
    print(f"# bench_pickles: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    cases = {
        "tiny": lambda: bench.tiny(args.files),
        "opcodes": bench.opcodes,
        "knn": lambda: bench.knn(args.knn_mb),
        "joblib": lambda: bench.joblib(args.joblib_mb),
        "bombs": bench.bombs,
    }
    for name in args.cases.split(","):
        cases[name]()


if __name__ == "__main__":
    main()
