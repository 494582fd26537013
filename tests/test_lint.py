"""Lint runs as part of the test command, so CI and a newcomer's `pytest` see the same thing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, check=False, timeout=600
    )


def action_files() -> list[str]:
    return sorted(
        str(p.relative_to(REPO)) for p in REPO.glob("**/action.yml") if ".venv" not in p.parts
    )


def workflow_files() -> list[str]:
    files = [*REPO.glob(".github/workflows/*.yml"), *REPO.glob("examples/*workflow*.yml")]
    return sorted(str(p.relative_to(REPO)) for p in files)


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_python_lint(command):
    proc = run(str(BIN / command[0]), *command[1:])
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("persona", ["regular", "pedantic"])
def test_zizmor_is_clean_on_the_actions_and_workflows(persona):
    examples = [f for f in workflow_files() if f.startswith("examples/")]
    proc = run(
        str(BIN / "zizmor"), "--offline", "--no-progress", "--persona", persona, ".", *examples
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout + proc.stderr


def test_actions_match_the_github_action_schema():
    files = action_files()
    assert "action.yml" in files
    proc = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_match_the_github_workflow_schema():
    files = workflow_files()
    assert ".github/workflows/ci.yml" in files
    proc = run(str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *files)
    assert proc.returncode == 0, proc.stdout + proc.stderr
