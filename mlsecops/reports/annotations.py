"""Annotations: the worst findings as workflow-command lines on the file and line they concern.

GitHub shows at most 10 errors and 10 warnings per step (and 50 annotations per job), so
the plan says how many findings had to go without one.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlsecops.core.findings import Finding, Kind, TargetType
from mlsecops.core.outcome import ScanOutcome
from mlsecops.github.commands import command
from mlsecops.reports.kinds import what, where

MAX_PER_LEVEL = 10


@dataclass(frozen=True)
class AnnotationPlan:
    """The annotation lines to print, and how many findings GitHub's cap left without one."""

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
    elif finding.kind is Kind.SECRET:
        # The redacted form (4 characters and the length) tells which credential to rotate.
        message = f"{what(finding)} at {where(finding)}"
    else:
        message = finding.title or finding.description or finding.id
    is_file = finding.target_type is TargetType.FILE
    return command(
        level,
        message,
        file=finding.target if is_file else None,
        line=finding.line if is_file else None,
        endLine=finding.end_line if is_file and finding.end_line else None,
        title=f"{finding.severity.name} {finding.id}"
        + ("" if is_file else f" in image {finding.target}"),
    )
