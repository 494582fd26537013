"""Lint runs as part of the test command, so CI and a newcomer's `pytest` see the same thing."""

from __future__ import annotations

import ast
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


# Where a function may run past MAX_FUNCTION_LINES: a comment with this marker inside it,
# saying why one table-driven loop reads better whole.
LONG_FUNCTION_MARKER = "long-function:"
MAX_FUNCTION_LINES = 60
CHECKED_TREES = ("mlsecops", "entrypoint.py", "scripts", "benchmarks", "tests")


def long_functions(source: str) -> list[tuple[str, int, int]]:
    """(name, first line, length) of each function over the limit without the marker."""
    lines = source.splitlines()
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        length = (node.end_lineno or node.lineno) - first + 1
        body = "\n".join(lines[first - 1 : node.end_lineno])
        if length > MAX_FUNCTION_LINES and LONG_FUNCTION_MARKER not in body:
            found.append((node.name, node.lineno, length))
    return found


def python_files() -> list[Path]:
    """Every Python file of the project, the vendored and generated trees left out."""
    files: list[Path] = []
    for name in CHECKED_TREES:
        path = REPO / name
        files.extend([path] if path.is_file() else sorted(path.rglob("*.py")))
    return files


def test_no_function_is_over_60_lines():
    too_long = [
        f"{path.relative_to(REPO)}:{line} {name} ({length} lines)"
        for path in python_files()
        for name, line, length in long_functions(path.read_text("utf-8"))
    ]
    assert too_long == [], "split these, or say why one table-driven loop is clearer"


def test_the_length_check_counts_lines_and_honours_the_marker():
    body = "".join(f"    x{i} = {i}\n" for i in range(60))
    assert long_functions(f"def fits():\n{body[: body.rindex('    x59')]}") == []
    assert long_functions(f"def long():\n{body}") == [("long", 1, 61)]
    marked = f"def table():\n    # {LONG_FUNCTION_MARKER} one loop over the table\n{body}"
    assert long_functions(marked) == []
