"""Workflow commands (`::error file=...::message`), escaped as the runner requires.

A finding's title is attacker-influenced text (it comes from package metadata); unescaped,
a newline in it could inject a workflow command of its own.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the integrity action imports this without the scan stack
    from mlsecops.core.findings import Finding
    from mlsecops.core.outcome import ScanOutcome

# GitHub shows at most 10 errors and 10 warnings per step (and 50 annotations per job).
MAX_PER_LEVEL = 10


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(name: str, message: str, **properties: str | int | None) -> str:
    """One workflow command line; properties with no value are left out."""
    props = ",".join(
        f"{key}={escape_property(str(value))}"
        for key, value in properties.items()
        if value is not None and value != ""
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def stop_commands() -> tuple[str, str]:
    """The lines around output the runner must not read as commands: (start, end)."""
    token = secrets.token_hex(16)
    return f"::stop-commands::{token}", f"::{token}::"


@dataclass(frozen=True)
class AnnotationPlan:
    lines: tuple[str, ...]
    omitted: int  # findings that deserved an annotation but exceed GitHub's per-step cap


def plan_annotations(outcome: ScanOutcome, max_per_level: int = MAX_PER_LEVEL) -> AnnotationPlan:
    """Errors for the most severe findings that fail the gate; warnings for other open ones."""
    failing_ids = set(map(id, outcome.failing))
    errors = list(outcome.failing)
    warnings = [f for f in outcome.open_findings if id(f) not in failing_ids]
    lines = [_annotation("error", f) for f in errors[:max_per_level]]
    lines += [_annotation("warning", f) for f in warnings[:max_per_level]]
    omitted = max(0, len(errors) - max_per_level) + max(0, len(warnings) - max_per_level)
    return AnnotationPlan(tuple(lines), omitted)


def _annotation(level: str, finding: Finding) -> str:
    fixed = finding.fixed_version or "none yet"
    if finding.package and finding.installed_version:
        message = f"{finding.package} {finding.installed_version}: {finding.title or finding.id}"
        message += f" (fixed: {fixed})"
    else:
        message = finding.title or finding.description or finding.id
    is_file = finding.target_type == "file"
    return command(
        level,
        message,
        file=_annotation_file(finding) if is_file else None,
        line=finding.line if is_file else None,
        endLine=finding.end_line if is_file and finding.end_line else None,
        title=f"{finding.severity.name} {finding.id}"
        + ("" if is_file else f" in image {finding.target}"),
    )


def _annotation_file(finding: Finding) -> str:
    return finding.target.split(":", 1)[0] if str(finding.kind) == "model" else finding.target


def group(title: str, lines: Sequence[str]) -> list[str]:
    """Fold long output in the log."""
    return [f"::group::{escape_data(title)}", *lines, "::endgroup::"]
