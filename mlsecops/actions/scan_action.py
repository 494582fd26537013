"""The scan step of the scan action: scan, then every report where people look, and outputs.

The entrypoint hands over the checked inputs and the GitHub context; this module never reads
the environment itself. The step holds no token: when a PR comment is due, its body is left
in a file for the next step, the only one that gets the token (mlsecops/actions/comment_action).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from mlsecops.actions.scan_inputs import ScanActionConfig, sarif_upload_skip
from mlsecops.actions.scan_outputs import failure_outputs, not_checked_summary, success_outputs
from mlsecops.actions.vocabulary import as_action_text
from mlsecops.errors import EXIT_FAILED, EXIT_PASSED, MlsecopsError
from mlsecops.github.commands import command
from mlsecops.github.context import GitHubContext
from mlsecops.github.env_files import append, format_outputs
from mlsecops.paths import write_text_atomic
from mlsecops.reports.table import render_table
from mlsecops.reports.write import write_reports
from mlsecops.scan import run_scan
from mlsecops.trivy.db import DbPolicy, key_to_save


def run_action(config: ScanActionConfig, github: GitHubContext) -> int:
    """Scan, write every report and output; return the exit code of the gate."""
    outcome = run_scan(config.scan)
    # The core names its flags; inside the action the reader sets inputs.
    outcome = replace(outcome, notes=tuple(as_action_text(n) for n in outcome.notes))
    skips = (_why_no_pr_comment(config, github), _why_no_upload(config, github))
    skip_notes = [note for note in skips if note]
    reports = write_reports(
        outcome, replace(config.reports, extra_notes=(*config.reports.extra_notes, *skip_notes))
    )
    for line in reports.annotation_lines:
        print(line)
    sys.stdout.write(render_table(outcome))
    if config.summary and github.summary_file is not None:
        append(github.summary_file, reports.summary_text)
    comment_file = _leave_pr_comment(config, github, reports.summary_text)
    if github.output_file is not None:
        outputs = success_outputs(outcome, config.reports)
        outputs["pr-comment-file"] = str(comment_file or "")
        append(github.output_file, format_outputs(outputs))
    return EXIT_PASSED if outcome.passed else EXIT_FAILED


def report_not_checked(
    config: ScanActionConfig | None, github: GitHubContext, code: int, reason: str
) -> None:
    """The scan ended without a verdict (exit 2 or 3): say so wherever a verdict would be.

    `config` is None when the inputs themselves were the problem; the summary is written
    then too (its default is on), and no PR comment is left (pr-comment was not read).
    """
    summary = not_checked_summary(code, reason)
    summary_file = config.reports.summary_file if config is not None else None
    if summary_file is not None:
        write_text_atomic(summary_file, summary)
    if (config is None or config.summary) and github.summary_file is not None:
        append(github.summary_file, summary)
    comment_file = _leave_pr_comment(config, github, summary) if config is not None else None
    if github.output_file is not None:
        outputs = failure_outputs(reason, summary_file)
        outputs["pr-comment-file"] = str(comment_file or "")
        append(github.output_file, format_outputs(outputs))


def db_key_to_save(config: ScanActionConfig) -> str:
    """The cache key for the DB this call of the action downloaded (db.cache_key), else "".

    Read after the scan on every exit code: a DB the base scan or a failed scan downloaded
    is as good to keep; one an earlier call in the job downloaded, that call saved. A broken
    record leaves nothing to save (the scan said why).
    """
    cache_dir = config.scan.trivy_cache_dir
    if cache_dir is None or config.own_trivy_cache_dir:
        return ""
    policy = DbPolicy(
        record_path=config.scan.trivy_db_record, cache_key=config.scan.trivy_db_cache_key
    )
    try:
        return key_to_save(cache_dir.resolve(), policy, since=config.started)
    except (MlsecopsError, OSError):
        return ""


def _leave_pr_comment(config: ScanActionConfig, github: GitHubContext, text: str) -> Path | None:
    """Write the PR comment's body for the comment step; None when no comment is due."""
    if config.pr_comment_file is None or not _comment_due(config, github):
        return None
    write_text_atomic(config.pr_comment_file, text)
    return config.pr_comment_file


def _comment_due(config: ScanActionConfig, github: GitHubContext) -> bool:
    return (
        config.pr_comment
        and github.pull_request is not None
        and github.read_only_token_reason is None
    )


def _why_no_pr_comment(config: ScanActionConfig, github: GitHubContext) -> str | None:
    """Why a requested PR comment cannot be posted, decided before the summary is written."""
    if not config.pr_comment or github.pull_request is None:
        return None
    reason = github.read_only_token_reason
    if reason is not None:
        return f"No PR comment: {reason}. The report is in this job summary."
    return None


def _why_no_upload(config: ScanActionConfig, github: GitHubContext) -> str | None:
    """Why a requested SARIF upload is skipped, with the warning a reader of the log sees."""
    note = sarif_upload_skip(config, github)
    if note is not None:
        print(command("warning", note, title="mlsecops"))
    return note
