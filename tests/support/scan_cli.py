"""Run `python -m mlsecops scan` the way a user would, against the test-built Trivy DB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.schemas import schema_errors

REPO = Path(__file__).resolve().parents[2]


def scan_cli(
    trivy_bin: Path,
    cache: Path,
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> subprocess.CompletedProcess[str]:
    """`mlsecops scan ARGS --offline --trivy-cache-dir CACHE`, with only the test Trivy on PATH.

    pip (for --resolve) reads no user or site configuration: PIP_CONFIG_FILE is /dev/null,
    and no MLSECOPS_INDEX_URL (the --index-url default) is inherited.
    """
    environ = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PATH", "MLSECOPS_INDEX_URL") and not k.startswith("PIP_")
    }
    environ["PATH"] = os.pathsep.join((str(trivy_bin.parent), "/usr/bin", "/bin"))
    environ["PYTHONPATH"] = str(REPO)
    environ["PIP_CONFIG_FILE"] = os.devnull
    environ.update(env or {})
    command = [sys.executable, "-m", "mlsecops", "scan", *args]
    command += ["--offline", "--trivy-cache-dir", str(cache)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=environ,
        check=False,
        timeout=timeout,
    )


def load_report(path: Path) -> dict[str, Any]:
    """A JSON report, checked against the shipped schema, its coverage ledger adding up."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    errors = schema_errors(data, "report.schema.json")
    assert errors == [], errors[0].message
    assert_ledger_adds_up(data)
    return data


def assert_ledger_adds_up(data: dict[str, Any]) -> None:
    """The report's coverage block is a sound ledger: per file, listed = checked + not
    checked; every item not checked belongs to a file read; the totals match the lists."""
    block = data["coverage"]
    coverage = Coverage(
        tuple(FileRead(f["path"], f["kind"], f["packages"], f["checked"]) for f in block["files"]),
        tuple(
            NotChecked(Unchecked(i["reason"]), i["target"], i["name"], i["line"], i["detail"])
            for i in block["not_checked"]
        ),
    )
    assert coverage.discrepancies() == [], coverage.discrepancies()
    assert block["packages_listed"] == coverage.packages_listed
    assert block["packages_checked"] == coverage.packages_checked
    assert block["not_checked_by_reason"] == {str(r): n for r, n in coverage.by_reason().items()}


def findings_by_id(data: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Findings keyed by (id, package), for assertions on one finding's fields."""
    return {(f["id"], f["package"]): f for f in data["findings"]}


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of an expected failure (asserts there is exactly one)."""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("mlsecops: error:"), lines[0]
    return lines[0]
