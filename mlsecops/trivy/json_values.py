"""Reading Trivy's JSON defensively: fields come and go between versions, any may be missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def dicts(value: Any) -> Iterator[dict[str, Any]]:
    """The objects of a JSON list (anything else reads as empty)."""
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def text(value: Any) -> str:
    """A JSON string, or "" for anything else."""
    return value if isinstance(value, str) else ""


def number(value: Any) -> int | None:
    """A JSON integer (not a boolean), or None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def listed(result: dict[str, Any], key: str, kind: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Each entry of `result[key]`, then each of `kind` an ignore file hid, with the reason.

    With --show-suppressed, what `.trivyignore` / `.trivyignore.yaml` (or VEX) hid is
    listed under ExperimentalModifiedFindings with its `Type` (`vulnerability`, `secret`,
    `misconfiguration`); we keep it, as an ignored finding. The reason is "" for the rest.
    """
    for entry in dicts(result.get(key)):
        yield entry, ""
    for modified in dicts(result.get("ExperimentalModifiedFindings")):
        hidden = modified.get("Finding")
        if modified.get("Type") != kind or not isinstance(hidden, dict):
            continue
        source = text(modified.get("Source")) or "Trivy"
        statement = text(modified.get("Statement"))
        status = text(modified.get("Status")) or "ignored"
        yield hidden, f"{status} by {source}" + (f": {statement}" if statement else "")
