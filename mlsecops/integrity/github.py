"""The integrity action's only contact with the runner: env files and workflow commands.

Step outputs and the job summary are files the runner reads after the step; workflow commands
are lines on stdout. Values can come from the model (file names), so every one is framed so it
cannot end its own field: a random heredoc delimiter for outputs, escaping for commands.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path


def write_outputs(path: Path, outputs: Mapping[str, str]) -> None:
    """Append step outputs to the `GITHUB_OUTPUT` file."""
    with path.open("a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            handle.write(_output(name, value))


def append_summary(path: Path, markdown: str) -> None:
    """Append Markdown to the `GITHUB_STEP_SUMMARY` file."""
    with path.open("a", encoding="utf-8") as handle:
        handle.write(markdown)


def command(name: str, message: str, **properties: str) -> str:
    """A workflow command line, e.g. `::error title=Model integrity::3 differences`."""
    props = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::{name}{' ' + props if props else ''}::{_escape_data(message)}"


def stop_commands() -> tuple[str, str]:
    """The lines around output the runner must not read as commands: (start, end)."""
    token = secrets.token_hex(16)
    return f"::stop-commands::{token}", f"::{token}::"


def _output(name: str, value: str) -> str:
    if "\n" not in value and "\r" not in value:
        return f"{name}={value}\n"
    # A fixed delimiter could appear in the value and end it early; a random one cannot.
    delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    while delimiter in value:
        delimiter = f"ghadelimiter_{secrets.token_hex(16)}"
    return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
