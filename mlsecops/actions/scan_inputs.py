"""The scan action's inputs: read once from the MLSECOPS_* variables action.yml sets, checked.

The same reading serves two steps. "Check the inputs" runs it before anything is installed
or downloaded and hands the normalised booleans to the `if:` expressions of the later steps
(`cache`, `upload-sarif`, ... are read ONLY there, where GitHub's `== 'true'` would silently
turn `yes` or `ture` into false). The scan step reads the same inputs again for itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict

from mlsecops.actions.inputs import Inputs
from mlsecops.core.db_status import parse_max_age_days
from mlsecops.core.gate import parse_fail_on
from mlsecops.core.scanners import parse_scanners
from mlsecops.github.context import GitHubContext, workspace_from_env
from mlsecops.github.pr_comment import DEFAULT_AUTHOR
from mlsecops.reports.sarif import DEFAULT_CATEGORY
from mlsecops.reports.write import ReportRequest, parse_sarif_floor
from mlsecops.scan import ScanRequest, check_request
from mlsecops.trivy.install import normalize_version


class DbInputs(TypedDict):
    """The ScanRequest fields of the DB inputs (read by the scan and the base scan alike)."""

    max_db_age_days: float
    trivy_db_record: Path | None
    trivy_db_cache_key: str
    accept_unverified_db: bool


@dataclass(frozen=True)
class ScanActionConfig:
    """Every input of action.yml, checked; the token is not among them (see comment_action)."""

    scan: ScanRequest
    reports: ReportRequest
    summary: bool = True  # write the report to the job summary
    pr_comment: bool = False
    pr_comment_author: str = DEFAULT_AUTHOR
    pr_comment_file: Path | None = None  # where the scan step leaves the comment's body
    cache: bool = True
    upload_sarif: bool = False
    own_trivy_cache_dir: bool = False  # trivy-cache-dir was given: the user's DB, not ours
    started: dt.datetime | None = None  # when the check step ran: what is newer, this call made


def read_config(env: Mapping[str, str]) -> ScanActionConfig:
    """The action's inputs from the environment; UsageError (exit 2) for any bad value."""
    inputs = Inputs(env)
    summary = inputs.flag("summary", default=True)
    fail_on = inputs.text("fail-on") or None
    if fail_on is not None:
        parse_fail_on(fail_on)
    normalize_version(inputs.text("trivy-version"))
    own_cache_dir = inputs.path("trivy-cache-dir")
    scan = ScanRequest(
        project=inputs.path("path") or Path(),
        images=inputs.items("images"),
        models=tuple(Path(m) for m in inputs.items("models")),
        fail_on=fail_on,
        ignore_unfixed=inputs.flag("ignore-unfixed"),
        policy=inputs.path("policy"),
        trivy=inputs.text("trivy") or None,  # the install step's binary, not an input
        trivy_cache_dir=own_cache_dir or inputs.path("default-trivy-cache-dir"),
        offline=inputs.flag("offline"),
        **db_inputs(inputs),
        resolve=inputs.flag("resolve"),
        index_url=inputs.text("index-url") or None,
        allow_source_builds=inputs.flag("allow-source-builds"),
        include_dev=not inputs.flag("skip-dev-deps"),
        exclude=inputs.items("exclude"),
        baseline=inputs.path("baseline"),
        fail_on_new_only=inputs.flag("fail-on-new-only"),
        workspace=workspace_from_env(env),
        scanners=parse_scanners(inputs.text("scanners")),
        hash_models=inputs.path("sbom-file") is not None,
        model_manifests=tuple(Path(m) for m in inputs.items("model-manifest")),
    )
    check_request(scan)
    sarif_floor = inputs.text("sarif-severity") or None
    parse_sarif_floor(sarif_floor)  # refused before the scan, not after it
    reports = ReportRequest(
        json_file=inputs.path("json-file"),
        sarif_file=inputs.path("sarif-file"),
        sarif_floor=sarif_floor,
        sarif_category=inputs.text("sarif-category", DEFAULT_CATEGORY),
        summary_file=inputs.path("summary-file") if summary else None,
        sbom_file=inputs.path("sbom-file"),
        annotations=inputs.flag("annotations", default=True),
    )
    return ScanActionConfig(
        scan=scan,
        reports=reports,
        summary=summary,
        pr_comment=inputs.flag("pr-comment"),
        pr_comment_author=inputs.text("pr-comment-author", DEFAULT_AUTHOR),
        pr_comment_file=inputs.path("pr-comment-file"),
        cache=inputs.flag("cache", default=True),
        upload_sarif=inputs.flag("upload-sarif"),
        own_trivy_cache_dir=own_cache_dir is not None,
        started=_started(inputs.text("started")),
    )


def db_inputs(inputs: Inputs) -> DbInputs:
    """What the scan accepts of Trivy's DB: the inputs, and the key the DB cache restored.

    `trivy-db-cache-key` is no input: action.yml passes the key of the entry its DB cache
    restored (`cache-matched-key`), which carries the record that dates that DB.
    """
    return DbInputs(
        max_db_age_days=parse_max_age_days(inputs.text("max-db-age-days")),
        trivy_db_record=inputs.path("trivy-db-record"),
        trivy_db_cache_key=inputs.text("trivy-db-cache-key"),
        accept_unverified_db=inputs.flag("accept-unverified-db"),
    )


def sarif_upload_skip(config: ScanActionConfig, github: GitHubContext) -> str | None:
    """Why a requested SARIF upload is skipped (None: upload, or not requested)."""
    reason = github.read_only_token_reason
    if not config.upload_sarif or reason is None:
        return None
    return (
        f"No SARIF upload to code scanning: {reason}, and code scanning needs "
        "security-events: write. The findings are in this summary and in the SARIF file."
    )


def checked_outputs(config: ScanActionConfig, github: GitHubContext) -> dict[str, str]:
    """What "Check the inputs" hands to the later steps' `if:` and `with:`: normalised."""
    cache_dir = config.scan.trivy_cache_dir
    return {
        "cache": _text(config.cache),
        # Caching the DB would restore ours over the user's own DB dir, or save theirs as ours.
        "db-cache": _text(config.cache and not config.own_trivy_cache_dir),
        "trivy-cache-dir": str(cache_dir.resolve()) if cache_dir is not None else "",
        "upload-sarif": _text(config.upload_sarif and sarif_upload_skip(config, github) is None),
        "fail-on-new-only": _text(config.scan.fail_on_new_only),
        "summary": _text(config.summary),
        # What the scan downloads from now on is this call's to save (the DB cache).
        "started": dt.datetime.now(dt.UTC).isoformat(),
    }


def _started(text: str) -> dt.datetime | None:
    """The check step's `started` output (not an input: set by action.yml), if readable."""
    try:
        return dt.datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def _text(flag: bool) -> str:
    return "true" if flag else "false"
