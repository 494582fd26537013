"""The Microsoft SARIF Multitool, from npm, pinned by tools/sarif-multitool/package-lock.json.

`install_multitool` runs `npm ci` into `.cache/sarif-multitool/` (which `.ci/run` deletes, so
CI installs it from scratch) once per lock file; `validate` runs the Multitool's checks,
GitHub's ingestion rules included (`validate --rule-kind "Gh;Sarif"`), on SARIF files, with
tools/sarif-multitool/validate.config.xml (SARIF2007, repo-relative paths, raised to an
error as in Microsoft's GitHub policy; SARIF2006, which fetches every URI, off).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools" / "sarif-multitool"
INSTALL_DIR = REPO / ".cache" / "sarif-multitool"
RULE_KINDS = "Gh;Sarif"
LEVELS = "Error;Warning;Note"


@dataclass(frozen=True)
class Problem:
    """One result of the Multitool's own log: a rule it says the file breaks."""

    level: str  # error, warning or note
    rule_id: str  # SARIF1002, GH1005, ...
    text: str  # the rule's message with its arguments filled in

    def __str__(self) -> str:
        return f"{self.level} {self.rule_id}: {self.text}"


def install_multitool() -> Path:
    """The Multitool binary, installed with `npm ci` when the lock file changed."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        raise RuntimeError("the SARIF checks need Node.js and npm on PATH (Node 18 or later)")
    lock = (TOOLS / "package-lock.json").read_bytes()
    stamp = INSTALL_DIR / ".installed-from-lock"
    if not (stamp.is_file() and stamp.read_bytes() == lock):
        shutil.rmtree(INSTALL_DIR, ignore_errors=True)
        INSTALL_DIR.mkdir(parents=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copyfile(TOOLS / name, INSTALL_DIR / name)
        # The platform package's only install script is a chmod, done below instead.
        command = [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(command, cwd=INSTALL_DIR, check=True, timeout=1200)
        stamp.write_bytes(lock)
    # The npm package's index.js names the binary of this platform's package.
    where = "console.log(require('@microsoft/sarif-multitool'))"
    found = subprocess.run(
        [node, "-e", where], cwd=INSTALL_DIR, capture_output=True, text=True, check=True
    )
    binary = Path(found.stdout.strip())
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def validate(binary: Path, files: Sequence[Path], log_dir: Path) -> dict[Path, list[Problem]]:
    """Every problem the Multitool finds in each file (notes included; filter by level).

    One run for all the files: the Multitool takes seconds to start on every call.
    """
    log = log_dir / "multitool-validation.sarif"
    log.unlink(missing_ok=True)  # the Multitool refuses to overwrite its output
    command = [
        str(binary), "validate", "--rule-kind", RULE_KINDS, "--level", LEVELS,
        "--config", str(TOOLS / "validate.config.xml"), "--output", str(log),
        *(str(f) for f in files),
    ]  # fmt: skip
    env = {**os.environ, "DOTNET_CLI_TELEMETRY_OPTOUT": "1"}
    proc = subprocess.run(
        command, capture_output=True, text=True, check=False, timeout=600, env=env
    )
    if not log.is_file():
        raise RuntimeError(f"the Multitool wrote no log:\n{proc.stdout}\n{proc.stderr}")
    found: dict[Path, list[Problem]] = {Path(f).resolve(): [] for f in files}
    for where, problem in _problems(json.loads(log.read_text(encoding="utf-8"))):
        found.setdefault(where, []).append(problem)
    return found


def _problems(log: Any) -> list[tuple[Path, Problem]]:
    """Each result of the Multitool's log, with the file it is about."""
    problems = []
    for run in log.get("runs", []):
        rules = {r["id"]: r for r in run["tool"]["driver"].get("rules", [])}
        for result in run.get("results", []):
            message = result["message"]
            text = message.get("text") or _fill(rules.get(result["ruleId"], {}), message)
            uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            where = Path(url2pathname(urlparse(uri).path)).resolve()
            problems.append(
                (where, Problem(result.get("level", "warning"), result["ruleId"], text))
            )
    return problems


def _fill(rule: Any, message: Any) -> str:
    """The rule's message template with the result's arguments put in."""
    template = str(rule.get("messageStrings", {}).get(message.get("id"), {}).get("text", ""))
    for index, argument in enumerate(message.get("arguments", [])):
        template = template.replace(f"{{{index}}}", str(argument))
    return template
