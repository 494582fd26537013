"""Workflow commands (`::error file=...::message`), escaped as the runner requires.

A finding's title is attacker-influenced text (it comes from package metadata); unescaped,
a newline in it could inject a workflow command of its own. The message and the `title`
shown with it go through core/text's `log_text` (one line, controls visible) before the
runner's own escaping; `file` keeps its exact value (percent-escaped), or the annotation
would not land on the file.
"""

from __future__ import annotations

import secrets

from mlsecops.core.text import log_text


def escape_data(text: str) -> str:
    """A command's message, escaped as the runner decodes it (`%`, CR and LF)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A command property's value, escaped as the runner decodes it (adds `:` and `,`)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line; properties with no value are left out."""
    props = ",".join(
        f"{key}={escape_property(log_text(value) if key == 'title' else str(value))}"
        for key, value in properties.items()
        if value is not None and value != ""
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(log_text(message))}"


def stop_commands() -> tuple[str, str]:
    """The lines around output the runner must not read as commands: (start, end)."""
    token = secrets.token_hex(16)
    return f"::stop-commands::{token}", f"::{token}::"
