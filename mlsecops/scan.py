"""`mlsecops scan`: targets in -> Trivy / model scanner -> one findings model -> policy -> gate.

All input is checked before any scanner runs, so a typo costs a second, not a Trivy run,
and usage errors (exit 2) always win over tool errors (exit 3).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from mlsecops.core.findings import Finding, TargetType, sorted_findings
from mlsecops.core.gate import parse_fail_on
from mlsecops.core.outcome import ScanOutcome
from mlsecops.deps.discovery import check_project
from mlsecops.deps.manifest_lines import ManifestLines
from mlsecops.deps.project import CoverageOptions, fill_gaps
from mlsecops.errors import UsageError
from mlsecops.images.targets import (
    ImageSource,
    ImageTarget,
    classify_image,
    extract_oci_tarball,
)
from mlsecops.modelscan import check_model_paths, scan_models
from mlsecops.paths import display_path
from mlsecops.triage.baseline import BaselineEntry, compare
from mlsecops.triage.policy import Policy, apply_policy, build_gate, find_policy, load_policy
from mlsecops.trivy.db import prepare_db, resolve_cache_dir
from mlsecops.trivy.ignorefile import trivy_ignore_file
from mlsecops.trivy.locate import find_trivy, require_offline_db
from mlsecops.trivy.parse import findings_from_report
from mlsecops.trivy.run import Trivy, TrivyOptions, TrivyRun, raise_on_parse_failures


@dataclass(frozen=True)
class ScanRequest:
    """Everything `mlsecops scan` and the action's inputs can ask for."""

    project: Path = Path(".")
    images: tuple[str, ...] = ()
    models: tuple[Path, ...] = ()
    fail_on: str | None = None  # None: the policy's `fail-on`, else HIGH
    ignore_unfixed: bool = False
    policy: Path | None = None
    trivy: str | None = None
    trivy_cache_dir: Path | None = None
    offline: bool = False
    resolve: bool = False  # resolve requirements*.txt with pip and scan the whole tree
    index_url: str | None = None  # the package index pip resolves against (None: pip's own)
    baseline: Path | None = None  # a previous JSON report: findings are marked new/existing
    fail_on_new_only: bool = False  # only new findings fail the gate


def run_scan(request: ScanRequest, today: dt.date | None = None) -> ScanOutcome:
    """Scan everything the request names and judge it; raises MlsecopsError on bad input."""
    if request.fail_on is not None:
        parse_fail_on(request.fail_on)  # a bad flag is reported before anything else
    project = check_project(request.project)
    policy_path = find_policy(request.policy, project)
    policy = load_policy(policy_path) if policy_path else Policy()
    gate = build_gate(policy, request.fail_on, new_only=request.fail_on_new_only)
    if request.resolve and request.offline and not request.index_url:
        raise UsageError(
            "--resolve asks pip for the package index, and --offline touches no network",
            "pass --index-url with a local index (a file:// URL or a mirror), or drop one flag",
        )
    images = [classify_image(arg) for arg in request.images]
    check_model_paths(request.models)

    ignore_file, notes = trivy_ignore_file(project)
    trivy, db_notes = _trivy(request, ignore_file)
    notes = db_notes + notes
    targets = [display_path(project)]
    coverage = fill_gaps(
        trivy,
        project,
        _project_findings(trivy, project, notes),
        CoverageOptions(request.resolve, request.index_url),
    )
    findings: list[Finding] = coverage.findings
    notes += coverage.notes
    for image in images:
        findings += _image_findings(trivy, image, project, notes)
        targets.append(image.name)
    if request.models:
        findings += scan_models(request.models, extra_allowed_globals=policy.allow_globals)
        targets += [display_path(model) for model in request.models]

    triage = apply_policy(findings, policy, ignore_unfixed=request.ignore_unfixed, today=today)
    judged = list(triage.findings)
    fixed: tuple[BaselineEntry, ...] = ()
    if request.baseline is not None:
        comparison = compare(judged, request.baseline)
        judged, fixed = list(comparison.findings), comparison.fixed
        notes += comparison.notes
    elif request.fail_on_new_only:
        notes.append(
            "--fail-on-new-only without --baseline: nothing to compare with, so every "
            "finding counts as new."
        )
    return ScanOutcome(
        findings=tuple(sorted_findings(judged)),
        gate=gate,
        targets=tuple(targets),
        notes=tuple(notes),
        policy_source=policy.source,
        expired_ignores=triage.expired,
        stale_ignores=triage.stale,
        sarif_severity=policy.sarif_severity,
        baseline_source=str(request.baseline) if request.baseline is not None else "",
        fixed_since_baseline=fixed,
    )


def _trivy(request: ScanRequest, ignore_file: Path | None) -> tuple[Trivy, list[str]]:
    """The Trivy runner, with its DB ready, and the notes a degraded DB calls for."""
    binary = find_trivy(request.trivy, offline=request.offline).resolve()
    # Resolved once, absolute, and always passed to Trivy: Trivy runs with the project as
    # its working directory, so a relative TRIVY_CACHE_DIR would mean another dir there, and
    # the DB check (or download) and the scan must look in the same place.
    cache_dir = resolve_cache_dir(request.trivy_cache_dir, os.environ)
    if request.offline:
        require_offline_db(cache_dir)
        return Trivy(TrivyOptions(binary, cache_dir, offline=True, ignore_file=ignore_file)), []
    db = prepare_db(binary, cache_dir)
    options = TrivyOptions(binary, cache_dir, skip_db_update=True, ignore_file=ignore_file)
    return Trivy(options), list(db.warnings)


def _project_findings(trivy: Trivy, project: Path, notes: list[str]) -> list[Finding]:
    run = trivy.fs(project)
    raise_on_parse_failures(run)
    _collect_warnings(run, notes)
    findings = findings_from_report(run.report, lambda target: display_path(project / target))
    return _with_manifest_lines(findings)


def _with_manifest_lines(findings: list[Finding]) -> list[Finding]:
    """Fill in the manifest line where Trivy gave none (it does not for poetry/uv locks)."""
    lines = ManifestLines()
    located = []
    for finding in findings:
        if finding.line is None and finding.package:
            line = lines.line_of(Path(finding.target), finding.package)
            if line is not None:
                finding = replace(finding, line=line, end_line=line)
        located.append(finding)
    return located


def _image_findings(trivy: Trivy, image: ImageTarget, cwd: Path, notes: list[str]) -> list[Finding]:
    run = _run_image(trivy, image, cwd)
    _collect_warnings(run, notes)
    return findings_from_report(
        run.report, lambda _target: image.name, target_type=TargetType.IMAGE
    )


def _run_image(trivy: Trivy, image: ImageTarget, cwd: Path) -> TrivyRun:
    if image.source is ImageSource.REFERENCE:
        return trivy.image_reference(image.name, cwd)
    assert image.path is not None
    if image.source is ImageSource.OCI_TARBALL:
        with tempfile.TemporaryDirectory(prefix="mlsecops-oci-") as tmp:
            return trivy.image_input(extract_oci_tarball(image.path, Path(tmp)), cwd)
    return trivy.image_input(image.path, cwd)


# Trivy warnings that are noise here: license detection is not what we scan for, and
# conda environments are covered by mlsecops.deps.conda (Trivy itself cannot scan them).
_NOISE = (
    "license detection is skipped",
    "conda package is supported for sbom",
    "unable to detect the dependency versions from `environment.yml`",
)


def _collect_warnings(run: TrivyRun, notes: list[str]) -> None:
    for warning in run.warnings:
        if any(noise in warning.lower() for noise in _NOISE):
            continue
        if f"trivy: {warning}" not in notes:
            notes.append(f"trivy: {warning}")
