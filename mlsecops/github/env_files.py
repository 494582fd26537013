"""GitHub's environment files: GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, GITHUB_ENV, GITHUB_PATH."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path


def format_outputs(values: Mapping[str, str]) -> str:
    """`name=value` lines; multi-line values in a heredoc whose delimiter is random.

    A fixed delimiter could appear in the value (attacker-influenced text from a finding)
    and end the heredoc early, letting the rest set outputs of its own.
    """
    out = []
    for name, value in values.items():
        if "\n" in value or "\r" in value:
            delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            while delimiter in value:
                delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
            out.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
        else:
            out.append(f"{name}={value}\n")
    return "".join(out)


def append(path: Path, text: str) -> None:
    """Append to an environment file (the runner reads them after the step)."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
