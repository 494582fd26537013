"""Every YAML example in the README and docs parses; every workflow in them is a valid one.

A reader copies these blocks as they are, so a block that does not parse, a workflow GitHub
would refuse, or a job that runs a file from the repository without checking it out first
is a bug in the docs. Workflow blocks are checked with check-jsonschema's copy of GitHub's
workflow schema, as tests/test_lint.py checks the workflow files.
"""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
PAGES = sorted([REPO / "README.md", *(REPO / "docs").glob("*.md")])
# A fenced block, indented or not (inside a list item), with its info string's first word.
FENCE = re.compile(
    r"^(?P<indent> *)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)


@dataclass(frozen=True)
class Block:
    """One YAML block of one page."""

    page: str
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.page}:{self.line}"


def yaml_blocks() -> list[Block]:
    """Every ```yaml / ```yml block of the README and docs/, dedented."""
    blocks = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match["lang"] not in ("yaml", "yml"):
                continue
            indent = len(match["indent"])
            body = "".join(line[indent:] for line in match["body"].splitlines(keepends=True))
            line = text.count("\n", 0, match.start()) + 1
            blocks.append(Block(str(page.relative_to(REPO)), line, body))
    return blocks


BLOCKS = yaml_blocks()


def workflows() -> list[tuple[Block, dict[str, Any]]]:
    """The blocks that are whole workflows (they have `jobs`)."""
    found = []
    for block in BLOCKS:
        try:
            data = yaml.safe_load(block.text)
        except yaml.YAMLError:
            continue  # test_every_yaml_block_parses says so
        if isinstance(data, dict) and "jobs" in data:
            found.append((block, data))
    return found


def test_the_pages_have_yaml_examples_to_check():
    pages = {block.page for block in BLOCKS}
    assert {"README.md", "docs/integrity.md", "docs/modelscan.md"} <= pages
    assert len(workflows()) >= 2


@pytest.mark.parametrize("block", BLOCKS, ids=str)
def test_every_yaml_block_parses(block: Block):
    try:
        yaml.safe_load(block.text)
    except yaml.YAMLError as exc:
        pytest.fail(f"{block}: not YAML: {exc}")


def test_workflow_blocks_match_the_github_workflow_schema(tmp_path: Path):
    files = []
    for block, _ in workflows():
        path = tmp_path / f"{block.page.replace('/', '_')}_{block.line}.yml"
        path.write_text(block.text, encoding="utf-8")
        files.append(str(path))
    check = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run(
        [str(check), "--builtin-schema", "vendor.github-workflows", *files],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _needs_checkout(step: dict[str, Any]) -> bool:
    """A step that runs a file of the repository: `uses: ./...` or `run: ./...`."""
    uses = str(step.get("uses", ""))
    run = str(step.get("run", ""))
    return uses.startswith("./") or re.search(r"(^|[\s;&|(])\./", run) is not None


def _is_checkout(step: dict[str, Any]) -> bool:
    return str(step.get("uses", "")).startswith("actions/checkout@")


@pytest.mark.parametrize("block", [b for b, _ in workflows()], ids=str)
def test_no_job_runs_a_repository_file_before_checking_it_out(block: Block):
    data = yaml.safe_load(block.text)
    for name, job in data["jobs"].items():
        checked_out = False
        for step in job.get("steps", []):
            checked_out = checked_out or _is_checkout(step)
            assert checked_out or not _needs_checkout(step), (
                f"{block}: job {name!r} runs {step.get('run') or step.get('uses')!r} "
                "before any actions/checkout step"
            )


def test_the_checkout_rule_catches_what_it_should():
    assert _needs_checkout({"run": './deploy.sh "$MODEL_PATH"'})
    assert _needs_checkout({"run": "set -e; ./scripts/x.sh"})
    assert _needs_checkout({"uses": "./integrity"})
    assert not _needs_checkout({"uses": "OWNER/mlsecops-action@abc"})
