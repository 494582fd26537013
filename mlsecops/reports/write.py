"""Writes every report a scan was asked for, in the order that lets each mention the others."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.findings import Severity
from mlsecops.core.outcome import ScanOutcome
from mlsecops.errors import UsageError
from mlsecops.paths import write_text_atomic
from mlsecops.reports.annotations import plan_annotations
from mlsecops.reports.cyclonedx import write_sbom
from mlsecops.reports.json_report import write_json_report
from mlsecops.reports.sarif import DEFAULT_CATEGORY, build_sarif
from mlsecops.reports.summary import render_summary

SARIF_FLOORS = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


@dataclass(frozen=True)
class ReportRequest:
    """Which reports to write and where; every file is optional."""

    json_file: Path | None = None
    sarif_file: Path | None = None
    sarif_floor: str | None = None  # None: LOW
    sarif_category: str = DEFAULT_CATEGORY
    summary_file: Path | None = None
    sbom_file: Path | None = None  # the CycloneDX ML-BOM
    annotations: bool = False
    extra_notes: tuple[str, ...] = ()  # e.g. why no PR comment was posted


@dataclass(frozen=True)
class WrittenReports:
    """What the callers show besides the files: annotation lines and the summary text."""

    annotation_lines: tuple[str, ...]
    summary_text: str  # also used for the PR comment


def parse_sarif_floor(text: str | None) -> Severity:
    """The lowest severity written to SARIF (default LOW); a UsageError for a bad name."""
    name = (text or "LOW").strip().upper()
    if name not in SARIF_FLOORS:
        raise UsageError(
            f"--sarif-severity {text!r} is not a severity", "use one of " + ", ".join(SARIF_FLOORS)
        )
    return Severity[name]


def write_reports(outcome: ScanOutcome, request: ReportRequest) -> WrittenReports:
    """SARIF and annotations first, so the summary can say what they had to leave out."""
    notes: list[str] = list(request.extra_notes)
    # The flag (or action input) wins over the policy file's sarif-severity.
    floor = parse_sarif_floor(request.sarif_floor or outcome.sarif_severity)
    if request.sarif_file is not None:
        sarif = build_sarif(outcome, floor=floor, category=request.sarif_category)
        write_text_atomic(request.sarif_file, sarif.text)
        if sarif.below_floor:
            notes.append(
                f"SARIF leaves out {sarif.below_floor} open finding(s) below the "
                f"{floor.name} floor (sarif-severity)."
            )
        if sarif.cut_for_limits:
            notes.append(
                f"SARIF was cut by {sarif.cut_for_limits} finding(s), least severe first, to "
                "stay inside GitHub's upload limits (5,000 results, 10 MB gzipped)."
            )
    annotation_lines: Sequence[str] = ()
    if request.annotations:
        plan = plan_annotations(outcome)
        annotation_lines = plan.lines
        if plan.omitted:
            notes.append(
                f"{plan.omitted} more finding(s) have no annotation: GitHub shows at most 10 "
                "errors and 10 warnings per step. They are all in the tables above."
            )
    summary = render_summary(outcome, notes)
    if request.summary_file is not None:
        write_text_atomic(request.summary_file, summary)
    if request.json_file is not None:
        write_json_report(outcome, request.json_file)
    if request.sbom_file is not None:
        write_sbom(outcome, request.sbom_file)
    return WrittenReports(tuple(annotation_lines), summary)
