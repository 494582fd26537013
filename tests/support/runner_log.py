"""Which lines of an output the GitHub Actions runner would take as workflow commands.

Read from actions/runner (ActionCommandManager.TryProcessCommand, ActionCommand.TryParseV2
and TryParse): a line is a command when, after its leading whitespace is trimmed, it starts
with `::` and has a second `::` later; or, in the old syntax, when `##[` appears ANYWHERE in
it with a `]` after. Lines are split more eagerly here than the runner does (every Unicode
line break), so the oracle errs on the strict side. Any command name counts, registered or not.
"""

from __future__ import annotations

import re

_V1 = re.compile(r"##\[([^\]\s]*)[^\]]*\]")


def commands_in(output: str) -> list[str]:
    """The command names the runner would find in `output`, in order."""
    found: list[str] = []
    for line in output.splitlines():
        stripped = line.lstrip()
        if stripped.startswith("::"):
            end = stripped.find("::", 2)
            if end >= 0:
                found.append(stripped[2:end].split(" ", 1)[0])
                continue
        match = _V1.search(line)
        if match:
            found.append(match.group(1))
    return found
