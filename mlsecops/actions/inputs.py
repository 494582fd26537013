"""Action inputs, as action.yml hands them over: `MLSECOPS_<NAME>` environment variables.

The one parser of input values for both actions. Inputs reach Python through `env:`, never
interpolated into a script. Booleans are `true` or `false` (any case) and nothing else: a typo
is an error, never a silent `false` that turns a check off.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mlsecops.errors import UsageError


def variable(name: str) -> str:
    """The environment variable action.yml sets for input `name` (`fail-on` -> MLSECOPS_FAIL_ON)."""
    return "MLSECOPS_" + name.upper().replace("-", "_")


def parse_bool(name: str, value: str, default: bool = False) -> bool:
    """`true` or `false` (any case); empty means `default`. Anything else is a usage error."""
    text = value.strip().lower()
    if not text:
        return default
    if text in ("true", "false"):
        return text == "true"
    raise UsageError(f"input {name}: {value!r} is not a boolean", "write true or false")


def parse_list(value: str) -> tuple[str, ...]:
    """Newline- or space-separated values; quotes keep a path with spaces together."""
    items: list[str] = []
    for line in value.splitlines():
        try:
            items += shlex.split(line, comments=True)
        except ValueError as exc:  # an unclosed quote
            raise UsageError(
                f"cannot split the list {line!r}: {exc}", "close the quote, one value per line"
            ) from exc
    return tuple(items)


@dataclass(frozen=True)
class Inputs:
    """Typed access to one action's inputs by their action.yml names."""

    environ: Mapping[str, str]

    def text(self, name: str, default: str = "") -> str:
        """The input's value, stripped; `default` when it is unset or empty."""
        return self.environ.get(variable(name), "").strip() or default

    def flag(self, name: str, default: bool = False) -> bool:
        """A strict boolean input."""
        return parse_bool(name, self.environ.get(variable(name), ""), default)

    def items(self, name: str) -> tuple[str, ...]:
        """A list input (newline- or space-separated, shell quoting)."""
        return parse_list(self.environ.get(variable(name), ""))

    def path(self, name: str) -> Path | None:
        """A path input, or None when it is empty."""
        value = self.text(name)
        return Path(value) if value else None
