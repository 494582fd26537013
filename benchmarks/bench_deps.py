"""Benchmark: `mlsecops scan` on dependency files against the exact `trivy fs` it runs.

Builds a Trivy DB of 20,000 synthetic pip advisories and generated projects, then times, in
interleaved rounds, (a) the bare `trivy fs` command mlsecops runs (same flags, same cache,
JSON to a file) and (b) the whole `python -m mlsecops scan --offline --json` (its Python,
its `trivy fs`, and any `trivy sbom` it needs). CPU is user+sys of the process tree (from
RUSAGE_CHILDREN), so a shared machine's load moves it less than wall time. Prints medians,
the spread and the ratios. A benchmark prints figures; it asserts nothing.

    .venv/bin/python benchmarks/bench_deps.py [--rounds 5] [--cases empty,200,poetry,kserve]
        [--python VENV/bin/python]

`--python` names the interpreter that runs mlsecops. The figures in the README come from a
venv made the way the action makes its own (scripts/action/setup.sh):

    python3 -m venv /tmp/action-venv
    /tmp/action-venv/bin/pip install --no-deps --require-hashes -r requirements/action.txt

Cases: `empty` (an empty directory); 200 / 5000 / 20000 pins over a monorepo of 200
requirements files; `poetry` (11 plain poetry.lock files); `kserve` (a kserve-like tree: 11
poetry projects depending on a local path package, requirements files, a conda environment).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlsecops.trivy.run import OFFLINE_FLAGS, REQUIREMENTS_FILE_PATTERN  # noqa: E402
from tests.support.trivydb import build_trivy_db_from, synthetic_advisories  # noqa: E402

ADVISORIES = 20_000
FILES = 200  # a monorepo: one requirements file per service


def requirements_project(root: Path, pins: int) -> Path:
    """FILES requirements files sharing `pins` pins; 1 in 10 below the fixed version."""
    per_file = max(1, pins // FILES)
    for index in range(FILES):
        service = root / f"services/svc{index:03d}"
        service.mkdir(parents=True)
        lines = []
        for offset in range(per_file):
            package = (index * per_file + offset) % ADVISORIES
            version = "0.9.0" if package % 10 == 0 else "1.2.0"
            lines.append(f"mlpkg-{package:05d}=={version}\n")
        (service / "requirements.txt").write_text("".join(lines))
    return root


def poetry_project(root: Path, locks: int = 11, per_lock: int = 400) -> Path:
    """`locks` poetry.lock files of `per_lock` packages each (a kserve-like monorepo)."""
    for index in range(locks):
        package_dir = root / f"python/pkg{index:02d}"
        package_dir.mkdir(parents=True)
        blocks = []
        for offset in range(per_lock):
            package = (index * per_lock + offset) % ADVISORIES
            version = "0.9.0" if package % 10 == 0 else "1.2.0"
            hashes = ",\n".join(
                f'    {{file = "mlpkg_{package:05d}-{version}-py3-none-any.whl", '
                f'hash = "sha256:{(package * 31 + n) % 10**16:064d}"}}'
                for n in range(4)
            )
            blocks.append(
                f'[[package]]\nname = "mlpkg-{package:05d}"\nversion = "{version}"\n'
                f'description = "synthetic"\noptional = false\npython-versions = ">=3.8"\n'
                f"files = [\n{hashes},\n]\n"
            )
        (package_dir / "poetry.lock").write_text(
            "\n".join(blocks) + '\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.10"\n'
        )
        (package_dir / "pyproject.toml").write_text(
            f'[tool.poetry]\nname = "pkg{index:02d}"\nversion = "0.1.0"\n'
        )
    return root


def _lock_block(name: str, version: str, dependencies: dict[str, str], local: str = "") -> str:
    """One poetry.lock `[[package]]` table, with hashes and dependencies as poetry writes."""
    hashes = ",\n".join(
        f'    {{file = "{name.replace("-", "_")}-{version}-py3-none-any.whl", '
        f'hash = "sha256:{(zlib.crc32(name.encode()) * 31 + n) % 10**16:064d}"}}'
        for n in range(4)
    )
    text = (
        f'[[package]]\nname = "{name}"\nversion = "{version}"\ndescription = "synthetic"\n'
        f'optional = false\npython-versions = ">=3.8"\nfiles = [\n{hashes},\n]\n'
    )
    if local:
        text += "develop = true\n"
    if dependencies:
        text += "\n[package.dependencies]\n"
        text += "".join(f'{key} = "{spec}"\n' for key, spec in dependencies.items())
    if local:
        text += f'\n[package.source]\ntype = "directory"\nurl = "{local}"\n'
    return text


def kserve_project(root: Path, locks: int = 11, own: int = 60, shared: int = 340) -> Path:
    """A kserve-like repository: `locks` model servers, each a poetry project that depends
    on the local `kserve` package by path (Trivy cannot follow its `^` constraints), each
    lock repeating kserve's `shared` packages next to `own` of its own; plus the dev, docs
    and test requirements files and a conda environment real repositories have."""

    def pin(package: int) -> tuple[str, str]:
        return f"mlpkg-{package:05d}", "0.9.0" if package % 10 == 0 else "1.2.0"

    core = [pin(n) for n in range(shared)]
    for index in range(locks):
        server = root / f"python/server{index:02d}"
        server.mkdir(parents=True)
        mine = [pin(shared + index * own + n) for n in range(own)]
        kserve = _lock_block("kserve", "0.11.2", {n: "^1.0" for n, _v in core[:40]}, "../kserve")
        blocks = [kserve]
        for position, (name, version) in enumerate(core):
            deps = {core[position + 40][0]: ">=1.0"} if position + 40 < len(core) else {}
            blocks.append(_lock_block(name, version, deps))
        blocks += [_lock_block(name, version, {}) for name, version in mine]
        (server / "poetry.lock").write_text(
            "\n".join(blocks) + '\n[metadata]\nlock-version = "2.0"\npython-versions = "^3.9"\n'
        )
        main = "".join(f'{name} = "^1.0"\n' for name, _v in mine)
        (server / "pyproject.toml").write_text(
            f'[tool.poetry]\nname = "server{index:02d}"\nversion = "0.1.0"\n\n'
            '[tool.poetry.dependencies]\npython = ">=3.9,<3.12"\n'
            'kserve = {path = "../kserve", develop = true}\n' + main
        )
    for name, count in (("test/requirements.txt", 30), ("docs/requirements.txt", 15)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        lines = [f"{n}=={v}\n" if i % 3 else f"{n}>=1.0\n" for i, (n, v) in enumerate(core[:count])]
        (root / name).write_text("".join(lines))
    (root / "requirements-dev.txt").write_text("".join(f"{n}=={v}\n" for n, v in core[:25]))
    conda = "".join(f"      - {n}=={v}\n" for n, v in core[:20])
    (root / "hack").mkdir()
    (root / "hack/environment.yml").write_text(
        "name: kserve-dev\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
        "  - numpy=1.26.4\n  - pip\n  - pip:\n" + conda
    )
    return root


def trivy_fs_command(trivy: Path, cache: Path, project: Path, out: Path) -> list[str]:
    """The `trivy fs` mlsecops runs for a project (trivy/run.py), nothing added."""
    return [
        str(trivy), "fs", "--scanners", "vuln", "--file-patterns", REQUIREMENTS_FILE_PATTERN,
        "--include-dev-deps", "--format", "json", "--output", str(out), "--config", "",
        "--list-all-pkgs", "--show-suppressed", "--cache-dir", str(cache), *OFFLINE_FLAGS,
        "--", str(project),
    ]  # fmt: skip


def mlsecops_command(python: str, cache: Path, project: Path, out: Path) -> list[str]:
    """The whole scan, as a user runs it."""
    return [
        python, "-m", "mlsecops", "scan", str(project), "--offline",
        "--trivy-cache-dir", str(cache), "--json", str(out), "--fail-on", "NONE", "-q",
        "--scanners", "vuln",  # the dependency scan alone: secrets are another Trivy run
    ]  # fmt: skip


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def summary(values: list[float]) -> str:
    """Median and spread of a list of seconds."""
    return f"{statistics.median(values):6.2f}s ({min(values):.2f}-{max(values):.2f})"


def run_case(
    name: str, project: Path, cache: Path, rounds: int, env: dict[str, str], python: str
) -> None:
    """Interleaved rounds of both sides; prints one line per side and the ratios."""
    trivy = Path(sys.executable).parent / "trivy"
    out = project.parent / f"{name}.json"
    sides: dict[str, Callable[[], list[str]]] = {
        "trivy fs": lambda: trivy_fs_command(trivy, cache, project, out),
        "mlsecops": lambda: mlsecops_command(python, cache, project, out),
    }
    walls: dict[str, list[float]] = {side: [] for side in sides}
    cpus: dict[str, list[float]] = {side: [] for side in sides}
    for command in sides.values():  # one warm-up each: page cache, .pyc files
        timed(command(), REPO, env)
    for _round in range(rounds):
        for side, command in sides.items():
            wall, cpu = timed(command(), REPO, env)
            walls[side].append(wall)
            cpus[side].append(cpu)
    for side in sides:
        print(f"  {name:>8} {side:<9} wall {summary(walls[side])}  cpu {summary(cpus[side])}")
    wall_ratio = statistics.median(walls["mlsecops"]) / statistics.median(walls["trivy fs"])
    cpu_ratio = statistics.median(cpus["mlsecops"]) / statistics.median(cpus["trivy fs"])
    print(f"  {name:>8} ratio     wall {wall_ratio:.2f}x  cpu {cpu_ratio:.2f}x")


def main() -> int:
    """Build the DB and the projects, run each case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--cases", default="empty,200,5000,20000,poetry,kserve")
    parser.add_argument(
        "--python",
        default=sys.executable,
        help="the interpreter that runs mlsecops: the action's venv (requirements/action.txt) "
        "is what users run; the dev venv also has rfc3987-syntax, which jsonschema imports "
        "and which compiles its grammars at import (about 1 s of CPU)",
    )
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = str(REPO)
    # As users run it: the warm-up writes the .pyc files every later run reads.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="bench-deps-") as tmp:
        work = Path(tmp)
        cache = work / "cache"
        build_trivy_db_from(cache, synthetic_advisories(ADVISORIES))
        print(f"DB: {ADVISORIES} synthetic pip advisories; {args.rounds} interleaved rounds")
        for case in args.cases.split(","):
            root = work / f"case-{case}"
            root.mkdir()
            if case == "empty":
                project = root
            elif case == "poetry":
                project = poetry_project(root)
            elif case == "kserve":
                project = kserve_project(root)
            else:
                project = requirements_project(root, int(case))
            run_case(case, project, cache, args.rounds, env, args.python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
