"""Compare mlsecops' model scanner with picklescan, modelscan, ModelAudit and fickling.

Two parts, each against a baseline measured in the same run:

1. Detection on the test suite's corpus (tests/modelscan: every malicious technique of
   modelscan_corpus.py, pickle_corpus.py and format_corpus.py; the benign set is the
   committed real files plus generated ones), and wall time over the whole corpus.
2. With --large: scan speed on a realistic large model, generated under --large-dir and
   deleted after: a PyTorch checkpoint of --torch-gb GB written by the real torch.save
   (needs a Python with torch: --torch-python) and a directory of --safetensors-gb GB of
   safetensors shards. Each is reported in MB/s against `cat FILES > /dev/null` of the
   same files (the physical floor of reading them, page cache warm).

The other scanners go in a throwaway venv, never the project's:

    python3 -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install picklescan modelscan fickling modelaudit
    python3 -m venv /tmp/torch-venv && /tmp/torch-venv/bin/pip install torch==2.13.0
    .venv/bin/python benchmarks/bench_modelscan.py --tools-bin /tmp/bench-venv/bin \
        --large --torch-python /tmp/torch-venv/bin/python

A cell says whether the tool flagged the file: "yes", "no", or "err" when the tool failed
on it (a parse error, "nothing I can scan", a time-out). mlsecops flags a file when it
reports a HIGH or CRITICAL finding (the measure issue 13 used; MEDIUM-only files are
counted apart); the other tools by their own verdict (exit code 1). Times are wall-clock
seconds, process start included, best of --repeat runs; fickling takes one file per run,
so its time is the sum.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "modelscan")]

from format_corpus import format_cases  # noqa: E402
from modelscan_corpus import Case, all_cases, write_generated_benign  # noqa: E402

from mlsecops.core.findings import Severity  # noqa: E402
from mlsecops.modelscan import scan_models  # noqa: E402

BENIGN_FIXTURES = REPO / "tests" / "modelscan" / "fixtures" / "benign"
TOOLS = ("mlsecops", "picklescan", "modelscan", "ModelAudit", "fickling")
TIMEOUT = 600


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a tool, its output discarded (only exit codes and report files are read; `cat`
    of gigabytes must not be held); a time-out is a failed run (exit code 124)."""
    try:
        return subprocess.run(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd,
            check=False, timeout=TIMEOUT,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124)


# -- verdicts -----------------------------------------------------------------------------


def mlsecops_verdict(path: Path) -> str:
    severities = [f.severity for f in scan_models([path])]
    if any(s >= Severity.HIGH for s in severities):
        return "yes"
    return "medium" if Severity.MEDIUM in severities else "no"


def picklescan_verdict(bin_dir: Path, path: Path) -> str:
    proc = run([str(bin_dir / "picklescan"), "--path", str(path)])
    return {0: "no", 1: "yes"}.get(proc.returncode, "err")


def modelscan_verdict(bin_dir: Path, path: Path) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        proc = run(
            [str(bin_dir / "modelscan"), "-p", str(path), "-r", "json", "-o", str(report)],
            cwd=Path(tmp),
        )
        if proc.returncode == 1:
            return "yes"
        if proc.returncode == 0 and report.exists():
            issues = json.loads(report.read_text()).get("issues", [])
            return "yes" if issues else "no"
        return "err"


def modelaudit_verdict(bin_dir: Path, path: Path) -> str:
    proc = run([str(bin_dir / "modelaudit"), "scan", "--no-cache", "-q", str(path)])
    return {0: "no", 1: "yes"}.get(proc.returncode, "err")


def fickling_verdict(bin_dir: Path, path: Path) -> str:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    verdicts = []
    for file in files:
        proc = run([str(bin_dir / "fickling"), "--check-safety", str(file)])
        verdicts.append({0: "no", 1: "yes"}.get(proc.returncode, "err"))
    if "yes" in verdicts:
        return "yes"
    return "err" if "err" in verdicts else "no"


def verdicts(bin_dir: Path) -> dict[str, Callable[[Path], str]]:
    return {
        "mlsecops": mlsecops_verdict,
        "picklescan": lambda p: picklescan_verdict(bin_dir, p),
        "modelscan": lambda p: modelscan_verdict(bin_dir, p),
        "ModelAudit": lambda p: modelaudit_verdict(bin_dir, p),
        "fickling": lambda p: fickling_verdict(bin_dir, p),
    }


def commands(bin_dir: Path, path: Path, report: Path) -> dict[str, list[str]]:
    """Each tool's command for a whole directory (or file); fickling: None, one per file."""
    return {
        "mlsecops": [sys.executable, "-m", "mlsecops", "scan", "--model", str(path),
                     "--fail-on", "NONE", "--json", str(report)],
        "picklescan": [str(bin_dir / "picklescan"), "--path", str(path)],
        "modelscan": [str(bin_dir / "modelscan"), "-p", str(path)],
        "ModelAudit": [str(bin_dir / "modelaudit"), "scan", "--no-cache", "-q", str(path)],
    }  # fmt: skip


# -- timing -------------------------------------------------------------------------------


def timed(command: list[str], repeat: int, cwd: Path | None = None) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        proc = run(command, cwd=cwd)
        elapsed = time.perf_counter() - start
        best = min(best, elapsed if proc.returncode != 124 else float("inf"))
    return best


def tool_times(bin_dir: Path, path: Path, repeat: int, work: Path) -> dict[str, float]:
    """Best-of-`repeat` wall time of every tool over `path`; each runs in an empty
    directory (for mlsecops: the model-only scan, which needs no Trivy)."""
    empty = work / "cwd"
    empty.mkdir(exist_ok=True)
    times = {
        # The report goes outside the empty directory: a JSON file there is work for the
        # secret scanner, which is Trivy's, and every later run would then fetch Trivy.
        tool: timed(command, repeat, cwd=empty)
        for tool, command in commands(bin_dir, path, work / "report.json").items()
    }
    files = [p for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else [path]
    start = time.perf_counter()
    for file in files:
        run([str(bin_dir / "fickling"), "--check-safety", str(file)])
    times["fickling"] = time.perf_counter() - start
    return times


# -- part 1: the corpus -------------------------------------------------------------------


def corpus_report(args: argparse.Namespace, work: Path) -> list[str]:
    malicious, benign = work / "malicious", work / "benign"
    malicious.mkdir()
    cases: list[Case] = all_cases() + format_cases()
    for item in cases:
        item.build(malicious)
    shutil.copytree(BENIGN_FIXTURES, benign)
    write_generated_benign(benign)
    judges = verdicts(args.tools_bin)

    lines = ["| Technique (file) | " + " | ".join(TOOLS) + " |", "|---" * (len(TOOLS) + 1) + "|"]
    caught, errors = dict.fromkeys(TOOLS, 0), dict.fromkeys(TOOLS, 0)
    medium = 0
    for item in cases:
        row = {tool: judges[tool](malicious / item.name) for tool in TOOLS}
        medium += row["mlsecops"] == "medium"
        for tool, verdict in row.items():
            caught[tool] += verdict == "yes"
            errors[tool] += verdict == "err"
        lines.append(f"| {item.technique} (`{item.name}`) | " + " | ".join(row.values()) + " |")
    benign_files = sorted(p for p in benign.iterdir() if p.is_file())
    false_alarms, benign_errors = dict.fromkeys(TOOLS, 0), dict.fromkeys(TOOLS, 0)
    for file in benign_files:
        for tool in TOOLS:
            verdict = judges[tool](file)
            false_alarms[tool] += verdict in ("yes", "medium")
            benign_errors[tool] += verdict == "err"
    n, b = len(cases), len(benign_files)

    def total(label: str, values: dict[str, int], bold: bool = False) -> str:
        cells = [f"**{values[t]}**" if bold else str(values[t]) for t in TOOLS]
        return f"| {label} | " + " | ".join(cells) + " |"

    lines += [
        total(f"**malicious files flagged (of {n})**", caught, bold=True),
        f"| malicious files mlsecops grades MEDIUM only | {medium} |" + " |" * (len(TOOLS) - 1),
        total("tool errors on malicious files", errors),
        total(f"**benign files flagged (of {b})**", false_alarms, bold=True),
        total("tool errors on benign files", benign_errors),
        "",
        "| Wall time, seconds | " + " | ".join(TOOLS) + " |",
        "|---" * (len(TOOLS) + 1) + "|",
    ]
    for label, path in (
        (f"malicious corpus ({n} entries)", malicious),
        (f"benign set ({b} files)", benign),
    ):
        times = tool_times(args.tools_bin, path, args.repeat, work)
        lines.append(f"| {label} | " + " | ".join(f"{times[t]:.2f}" for t in TOOLS) + " |")
    return lines


# -- part 2: large models -----------------------------------------------------------------

TORCH_SAVE = """
import sys, torch
total, path = int(sys.argv[1]), sys.argv[2]
torch.manual_seed(0)
state, size, index = {}, 0, 0
while size < total:  # a transformer-like state_dict: many 2-D weights and 1-D biases
    state[f"layers.{index}.weight"] = torch.randn(4096, 4096)
    state[f"layers.{index}.bias"] = torch.randn(4096)
    size += (4096 * 4096 + 4096) * 4
    index += 1
torch.save(state, path)
"""


def write_safetensors_shards(directory: Path, total: int, shard: int = 1 << 30) -> None:
    """Shards of F32 tensors of 64 MiB each, written as the safetensors library lays them
    out (8-byte header length, JSON header padded with spaces, the data)."""
    block = os.urandom(64 << 20)
    blocks = -(-total // len(block))  # whole blocks, rounded up: at least `total` bytes
    per_shard = max(1, shard // len(block))
    written, number = 0, 0
    while blocks:
        count = min(per_shard, blocks)
        blocks -= count
        header: dict[str, object] = {"__metadata__": {"format": "pt"}}
        for index in range(count):
            span = [index * len(block), (index + 1) * len(block)]
            entry = {"dtype": "F32", "shape": [len(block) // 4], "data_offsets": span}
            header[f"layer.{number}.{index}.weight"] = entry
        raw = json.dumps(header).encode()
        raw += b" " * (-len(raw) % 8)
        with (directory / f"model-{number:05d}.safetensors").open("wb") as handle:
            handle.write(len(raw).to_bytes(8, "little") + raw)
            for _ in range(count):
                handle.write(block)
        written += count * len(block)
        number += 1


def speed_rows(label: str, path: Path, args: argparse.Namespace, work: Path) -> list[str]:
    files = [p for p in sorted(path.rglob("*")) if p.is_file()] if path.is_dir() else [path]
    size = sum(f.stat().st_size for f in files)
    cat = ["cat", *map(str, files)]
    run(cat)  # warm the page cache: every tool then reads from memory, as cat does
    floor = timed(cat, args.repeat)
    times = {"cat": floor, **tool_times(args.tools_bin, path, args.repeat, work)}
    mb = size / 1e6
    cells = " | ".join(
        f"{t:.2f} s, {mb / t:,.0f} MB/s ({floor / t:.2f}x cat)"
        if t != float("inf")
        else "timed out"
        for t in times.values()
    )
    return [f"| {label}, {mb:,.0f} MB | {cells} |"]


def large_report(args: argparse.Namespace, work: Path) -> list[str]:
    root = Path(tempfile.mkdtemp(prefix="bench-large-", dir=args.large_dir))
    try:
        checkpoint = root / "checkpoint.pt"
        subprocess.run(
            [
                str(args.torch_python),
                "-c",
                TORCH_SAVE,
                str(int(args.torch_gb * 1e9)),
                str(checkpoint),
            ],
            check=True,
        )
        shards = root / "safetensors"
        shards.mkdir()
        write_safetensors_shards(shards, int(args.safetensors_gb * 1e9))
        header = "| Large model | cat | " + " | ".join(TOOLS) + " |"
        lines = [header, "|---" * (len(TOOLS) + 2) + "|"]
        lines += speed_rows("PyTorch checkpoint (torch.save)", checkpoint, args, work)
        lines += speed_rows("safetensors directory", shards, args, work)
        return lines
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools-bin", type=Path, default=Path("/tmp/bench-venv/bin"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the Markdown tables here")
    parser.add_argument("--skip-corpus", action="store_true")
    parser.add_argument("--large", action="store_true", help="also time large models")
    parser.add_argument("--large-dir", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--torch-python", type=Path, default=Path("/tmp/torch-venv/bin/python"))
    parser.add_argument("--torch-gb", type=float, default=1.2)
    parser.add_argument("--safetensors-gb", type=float, default=4.3)
    args = parser.parse_args()
    for tool in ("picklescan", "modelscan", "modelaudit", "fickling"):
        if not (args.tools_bin / tool).exists():
            parser.error(f"{args.tools_bin / tool} is missing: pip install {tool} into that venv")
    work = Path(tempfile.mkdtemp(prefix="bench-modelscan-"))
    try:
        # Each part is printed (and written) as soon as it is done: a failure in the long
        # large-model part must not lose the corpus figures.
        lines = [] if args.skip_corpus else corpus_report(args, work)
        _emit(lines, lines, args.out)
        if args.large:
            large = ["", *large_report(args, work)]
            lines += large
            _emit(large, lines, args.out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _emit(new: list[str], everything: list[str], out: Path | None) -> None:
    """Print the lines of the part just done; write every line so far to `out`."""
    print("\n".join(new), flush=True)
    if out:
        out.write_text("\n".join(everything) + "\n")


if __name__ == "__main__":
    sys.exit(main())
