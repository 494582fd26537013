"""Compare mlsecops' model scanner with picklescan, modelscan and fickling on one corpus.

The corpus is the test suite's: every malicious technique (tests/modelscan/modelscan_corpus.py)
and the benign set (committed real files plus generated ones). The other scanners are
installed in a separate venv, never the project's:

    python -m venv /tmp/bench-venv
    /tmp/bench-venv/bin/pip install picklescan modelscan fickling
    .venv/bin/python benchmarks/bench_modelscan.py --tools-bin /tmp/bench-venv/bin

A cell says whether the tool flagged the file: "yes", "no", or "err" when the tool failed
on it (a parse error or "nothing I can scan"). mlsecops counts as flagging a file when it
reports any finding of LOW or above (UNKNOWN-severity notes such as "unknown format" do not
count). Times are wall-clock seconds for one run over the whole directory, process start
included, best of --repeat runs; fickling takes one file per run, so its time is the sum.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "tests" / "modelscan")]

from format_corpus import format_cases  # noqa: E402
from modelscan_corpus import (  # noqa: E402
    Case,
    all_cases,
    binbytes,
    glob,
    proto,
    torch_zip,
    write_generated_benign,
)

from mlsecops.core.findings import Severity  # noqa: E402
from mlsecops.modelscan import scan_models  # noqa: E402

BENIGN_FIXTURES = REPO / "tests" / "modelscan" / "fixtures" / "benign"
TOOLS = ("mlsecops", "picklescan", "modelscan", "fickling")


def run(command: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, cwd=cwd, check=False, timeout=300
    )


def mlsecops_verdict(path: Path) -> str:
    findings = scan_models([path])
    return "yes" if any(f.severity >= Severity.LOW for f in findings) else "no"


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
        "fickling": lambda p: fickling_verdict(bin_dir, p),
    }


def timed(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run(command)
        best = min(best, time.perf_counter() - start)
    return best


def large_files(root: Path) -> dict[str, Path]:
    """A 256 MiB torch-style checkpoint and a pickle holding 64 MiB of array bytes."""
    root.mkdir()
    state = proto(2) + glob("collections", "OrderedDict") + b")R."
    checkpoint = root / "large_checkpoint.pt"
    checkpoint.write_bytes(torch_zip(state))
    with zipfile.ZipFile(checkpoint, "a") as archive:
        archive.writestr("archive/data/1", bytes(256 << 20))
    big_pickle = root / "large_arrays.pkl"
    big_pickle.write_bytes(proto(4) + b"}" + b"\x8c\x01w" + binbytes(bytes(64 << 20)) + b"s.")
    return {"256 MiB torch zip checkpoint": checkpoint, "pickle with 64 MiB of bytes": big_pickle}


def directory_times(bin_dir: Path, directory: Path, repeat: int) -> dict[str, float]:
    scan = (
        "from pathlib import Path; from mlsecops.modelscan import scan_models; "
        f"scan_models([Path({str(directory)!r})])"
    )
    times = {
        "mlsecops": timed([sys.executable, "-c", scan], repeat),
        "picklescan": timed([str(bin_dir / "picklescan"), "--path", str(directory)], repeat),
        "modelscan": timed([str(bin_dir / "modelscan"), "-p", str(directory)], repeat),
    }
    files = (
        [p for p in sorted(directory.rglob("*")) if p.is_file()]
        if directory.is_dir()
        else [directory]
    )
    start = time.perf_counter()
    for file in files:
        run([str(bin_dir / "fickling"), "--check-safety", str(file)])
    times["fickling"] = time.perf_counter() - start
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tools-bin", type=Path, default=Path("/tmp/bench-venv/bin"))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, help="also write the Markdown tables here")
    args = parser.parse_args()
    for tool in TOOLS[1:]:
        if not (args.tools_bin / tool).exists():
            parser.error(f"{args.tools_bin / tool} is missing: pip install {tool} into that venv")

    work = Path(tempfile.mkdtemp(prefix="bench-modelscan-"))
    try:
        return report(args, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def report(args: argparse.Namespace, work: Path) -> int:
    malicious, benign = work / "malicious", work / "benign"
    malicious.mkdir()
    cases: list[Case] = all_cases() + format_cases()
    for item in cases:
        item.build(malicious)
    shutil.copytree(BENIGN_FIXTURES, benign)
    write_generated_benign(benign)
    judges = verdicts(args.tools_bin)

    lines = ["| Technique (file) | " + " | ".join(TOOLS) + " |", "|---" * (len(TOOLS) + 1) + "|"]
    caught = dict.fromkeys(TOOLS, 0)
    errors = dict.fromkeys(TOOLS, 0)
    for item in cases:
        row = {tool: judges[tool](malicious / item.name) for tool in TOOLS}
        for tool, verdict in row.items():
            caught[tool] += verdict == "yes"
            errors[tool] += verdict == "err"
        lines.append(
            f"| {item.technique} (`{item.name}`) | " + " | ".join(row[t] for t in TOOLS) + " |"
        )
    benign_files = sorted(p for p in benign.iterdir() if p.is_file())
    false_alarms = dict.fromkeys(TOOLS, 0)
    benign_errors = dict.fromkeys(TOOLS, 0)
    for file in benign_files:
        for tool in TOOLS:
            verdict = judges[tool](file)
            false_alarms[tool] += verdict == "yes"
            benign_errors[tool] += verdict == "err"
    n, b = len(cases), len(benign_files)
    lines += [
        f"| **malicious files flagged (of {n})** | "
        + " | ".join(f"**{caught[t]}**" for t in TOOLS)
        + " |",
        "| tool errors on malicious files | " + " | ".join(str(errors[t]) for t in TOOLS) + " |",
        f"| **benign files flagged (of {b})** | "
        + " | ".join(f"**{false_alarms[t]}**" for t in TOOLS)
        + " |",
        "| tool errors on benign files | "
        + " | ".join(str(benign_errors[t]) for t in TOOLS)
        + " |",
    ]
    times_mal = directory_times(args.tools_bin, malicious, args.repeat)
    times_ben = directory_times(args.tools_bin, benign, args.repeat)
    lines += [
        "",
        "| Wall time, seconds | " + " | ".join(TOOLS) + " |",
        "|---" * (len(TOOLS) + 1) + "|",
        f"| malicious corpus ({n} entries) | "
        + " | ".join(f"{times_mal[t]:.2f}" for t in TOOLS)
        + " |",
        f"| benign set ({b} files) | " + " | ".join(f"{times_ben[t]:.2f}" for t in TOOLS) + " |",
    ]
    for label, path in large_files(work / "large").items():
        times = directory_times(args.tools_bin, path, args.repeat)
        lines.append(f"| {label} | " + " | ".join(f"{times[t]:.2f}" for t in TOOLS) + " |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
