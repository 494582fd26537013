"""What the scan action does after the scan: reports where people look, outputs, PR comment.

The entrypoint hands over a config built from the action's inputs and the GitHub context;
this module never reads the environment itself.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from mlsecops.core.outcome import ScanOutcome
from mlsecops.errors import EXIT_FAILED, EXIT_PASSED
from mlsecops.github.api import GitHubApi, GitHubApiError
from mlsecops.github.commands import command
from mlsecops.github.context import GitHubContext
from mlsecops.github.env_files import append, format_outputs
from mlsecops.github.pr_comment import upsert_comment
from mlsecops.reports.table import render_table
from mlsecops.reports.write import ReportRequest, WrittenReports, write_reports
from mlsecops.scan import ScanRequest, run_scan


@dataclass(frozen=True)
class ActionConfig:
    scan: ScanRequest
    reports: ReportRequest
    pr_comment: bool = False
    github_token: str = ""
    summary: bool = True  # write the report to the job summary


def run_action(config: ActionConfig, github: GitHubContext) -> int:
    """Scan, write every report and output; return the exit code of the gate."""
    outcome = run_scan(config.scan)
    skip_note = _why_no_pr_comment(config, github)
    notes = (*config.reports.extra_notes, *([skip_note] if skip_note else []))
    reports = write_reports(outcome, replace(config.reports, extra_notes=notes))
    for line in reports.annotation_lines:
        print(line)
    sys.stdout.write(render_table(outcome))
    summary_file = github.summary_file if config.summary else None
    if summary_file is not None:
        append(summary_file, reports.summary_text)
    if config.pr_comment and github.pull_request is not None and skip_note is None:
        comment_note = _post_pr_comment(config, github, github.pull_request, reports)
        if comment_note and summary_file is not None:
            append(summary_file, f"\n> {comment_note}\n")
    if github.output_file is not None:
        append(github.output_file, format_outputs(step_outputs(outcome, config.reports)))
    return EXIT_PASSED if outcome.passed else EXIT_FAILED


def step_outputs(outcome: ScanOutcome, reports: ReportRequest) -> dict[str, str]:
    """The action's outputs: verdict, counts, and where the reports are."""
    counts = outcome.counts()
    return {
        "passed": "true" if outcome.passed else "false",
        "critical": str(counts["CRITICAL"]),
        "high": str(counts["HIGH"]),
        "medium": str(counts["MEDIUM"]),
        "low": str(counts["LOW"]),
        "unknown": str(counts["UNKNOWN"]),
        "total": str(sum(counts.values())),
        "failing": str(len(outcome.failing)),
        "ignored": str(len(outcome.ignored_findings)),
        # Against a baseline: open findings the change adds ("" without a baseline).
        "new": str(len(outcome.new_findings)) if outcome.baseline_source else "",
        "sarif-file": _path_text(reports.sarif_file),
        "json-file": _path_text(reports.json_file),
        "summary-file": _path_text(reports.summary_file),
    }


def _path_text(path: Path | None) -> str:
    return str(path) if path is not None else ""


def _why_no_pr_comment(config: ActionConfig, github: GitHubContext) -> str | None:
    """Why a requested PR comment cannot be posted, decided before the summary is written."""
    if not config.pr_comment or github.pull_request is None:
        return None
    if github.is_fork_pull_request:
        return (
            "No PR comment: pull requests from forks get a read-only token. The report is "
            "in this job summary."
        )
    if not config.github_token:
        return "No PR comment: no github-token was given."
    return None


def _post_pr_comment(
    config: ActionConfig, github: GitHubContext, pull_request: int, reports: WrittenReports
) -> str:
    """Post or update the sticky comment; a failure is a warning, never a crash."""
    api = GitHubApi(github.api_url, config.github_token)
    try:
        result = upsert_comment(api, github.repository, pull_request, reports.summary_text)
    except GitHubApiError as error:
        print(command("warning", f"PR comment not posted: {error.one_line()}"))
        return f"PR comment not posted: {error.one_line()}"
    print(f"PR comment {result.action}: {result.url}")
    return ""
