"""`mlsecops scan`: targets -> sources -> one findings model -> triage -> gate -> outcome.

The sources (mlsecops.core.source) are the project's dependency files (deps/project.py),
the project's files for secrets and misconfigurations (filescan/source.py), each image
(images/source.py) and the model files (modelscan/source.py); `--scanners` says which of
Trivy's three (vuln, secret, misconfig) run. Each source returns its
findings, notes, targets and coverage ledger. Triage applies the policy and the baseline;
the gate decides. All input is checked before any scanner runs, so a typo costs a second,
not a Trivy run, and usage errors (exit 2) always win over tool errors (exit 3).
"""

from __future__ import annotations

import datetime as dt
import functools
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from mlsecops.core.db_status import DEFAULT_MAX_AGE_DAYS, DbStatus
from mlsecops.core.findings import sorted_findings
from mlsecops.core.gate import Gate, parse_fail_on
from mlsecops.core.outcome import ScanOutcome
from mlsecops.core.scanners import ALL_SCANNERS, Scanner
from mlsecops.core.source import Source, SourceResult, combined
from mlsecops.deps.discovery import check_project, has_dependency_files
from mlsecops.deps.project import ProjectOptions, ProjectSource
from mlsecops.deps.sbom_bridge import SbomChecker
from mlsecops.errors import UsageError
from mlsecops.filescan.candidates import scanners_with_work
from mlsecops.filescan.source import FilesScan
from mlsecops.images.source import ImageScan
from mlsecops.images.targets import ImageTarget, classify_image
from mlsecops.integrity.hashing import default_jobs
from mlsecops.integrity.inventory import ModelHashes, read_manifests
from mlsecops.modelscan import check_model_paths
from mlsecops.modelscan.source import ModelScan
from mlsecops.paths import SourceRoots, display_path
from mlsecops.secretscan.scrub import scrub_result
from mlsecops.triage.baseline import BaselineEntry, compare
from mlsecops.triage.policy import Policy, apply_policy, build_gate, find_policy, load_policy
from mlsecops.trivy.advisory_bounds import AdvisoryBounds
from mlsecops.trivy.db import (
    DbPolicy,
    DbReady,
    judge_offline,
    prepare_db,
    resolve_cache_dir,
)
from mlsecops.trivy.ignorefile import trivy_ignore_file
from mlsecops.trivy.locate import find_trivy
from mlsecops.trivy.run import Trivy, TrivyOptions


@dataclass(frozen=True)
class ScanRequest:
    """Everything `mlsecops scan` and the action's inputs can ask for."""

    project: Path = Path()
    images: tuple[str, ...] = ()
    models: tuple[Path, ...] = ()
    fail_on: str | None = None  # None: the policy's `fail-on`, else HIGH
    ignore_unfixed: bool = False
    policy: Path | None = None
    trivy: str | None = None
    trivy_cache_dir: Path | None = None
    offline: bool = False
    # What the scan accepts of the vulnerability DB (trivy/db.DbPolicy): its maximum age,
    # the record of its download (default: beside db/ in the cache dir), a cache key
    # carrying that record, and whether its own metadata.json may date it.
    max_db_age_days: float = DEFAULT_MAX_AGE_DAYS
    trivy_db_record: Path | None = None
    trivy_db_cache_key: str = ""
    accept_unverified_db: bool = False
    resolve: bool = False  # resolve requirements*.txt with pip and scan the whole tree
    index_url: str | None = None  # the package index pip resolves against (None: pip's own)
    allow_source_builds: bool = False  # let pip build sdists while resolving (runs their code)
    include_dev: bool = True  # check development dependencies too (marked dev)
    exclude: tuple[str, ...] = ()  # globs: dependency files not scanned (with the policy's)
    baseline: Path | None = None  # a previous JSON report: findings are marked new/existing
    fail_on_new_only: bool = False  # only new findings fail the gate
    # GITHUB_WORKSPACE in Actions (read by mlsecops.github, passed in by the CLI or the
    # entrypoint): the repository root SARIF locations are relative to, when it holds the
    # project; else the project's git top level is.
    workspace: Path | None = None
    scanners: frozenset[Scanner] = ALL_SCANNERS  # which of Trivy's scanners run
    hash_models: bool = False  # hash each --model for the inventory (the SBOM lists them)
    model_manifests: tuple[Path, ...] = ()  # `mlsecops hash` manifests to link models to


def run_scan(request: ScanRequest, today: dt.date | None = None) -> ScanOutcome:
    """Scan everything the request names and judge it; raises MlsecopsError on bad input."""
    check_request(request)  # a bad flag is reported before anything else
    project = check_project(request.project)
    policy_path = find_policy(request.policy, project)
    policy = load_policy(policy_path) if policy_path else Policy()
    gate = build_gate(policy, request.fail_on, new_only=request.fail_on_new_only)
    images = [classify_image(arg) for arg in request.images]
    check_model_paths(request.models)
    manifests = read_manifests(request.model_manifests)

    sources, setup, db_status = _trivy_sources(request, project, images, policy)
    if request.hash_models or manifests:
        # First: a manifest that matches no model is a usage error, found before Trivy runs.
        sources.insert(0, ModelHashes(request.models, manifests, default_jobs()))
    if request.models:
        secrets = Scanner.SECRET in request.scanners
        sources.append(ModelScan(request.models, policy.allow_globals, secrets))
    # The last safety net: no text of any finding or note may hold a secret (secretscan/scrub).
    scanned = scrub_result(setup + scan_side_by_side(sources))
    roots = SourceRoots.of_scan(
        project,
        workspace=request.workspace,
        models=request.models,
        image_files=tuple((i.name, i.path) for i in images if i.path is not None),
    )
    return replace(
        _judge(scanned, request, policy, gate, today, roots, display_path(project)), db=db_status
    )


def check_request(request: ScanRequest) -> None:
    """The request's flags, checked against each other before any file is read: UsageError.

    The action's input check calls this too, so both name the same mistakes the same way.
    """
    if request.fail_on is not None:
        parse_fail_on(request.fail_on)
    if request.resolve and request.offline and not request.index_url:
        raise UsageError(
            "--resolve asks pip for the package index, and --offline touches no network",
            "pass --index-url with a local index (a file:// URL or a mirror), or drop one flag",
        )
    if request.model_manifests and not request.hash_models:
        raise UsageError(
            "--model-manifest links a model in the ML-BOM, and no --sbom was asked for",
            "add --sbom with the file to write, or drop --model-manifest",
        )


def scan_side_by_side(sources: Sequence[Source]) -> SourceResult:
    """Every source's result, in the sources' order; independent sources run at once.

    The project's Trivy run, the model scanner and each image do not wait for each other
    (Trivy works in its own process while Python scans models). Images run one after
    another: each `trivy image` writes Trivy's layer cache, which one process at a time
    holds. The first source (in order) that raised re-raises here.
    """
    groups: list[list[Source]] = []
    images: list[Source] = []
    for source in sources:
        if isinstance(source, ImageScan):
            if not images:
                groups.append(images)  # the images' place: the first image's
            images.append(source)
        else:
            groups.append([source])
    if len(groups) <= 1:
        return combined(s.scan() for s in sources)
    with ThreadPoolExecutor(max_workers=len(groups), thread_name_prefix="source") as pool:
        done = list(pool.map(lambda group: [s.scan() for s in group], groups))
    by_source = {
        id(s): result
        for group, results in zip(groups, done, strict=True)
        for s, result in zip(group, results, strict=True)
    }
    return combined(by_source[id(s)] for s in sources)


def _trivy_sources(
    request: ScanRequest, project: Path, images: list[ImageTarget], policy: Policy
) -> tuple[list[Source], SourceResult, DbStatus | None]:
    """The sources that run Trivy, the notes of its setup, and the DB it uses (if any).

    Trivy is set up only when a source needs it, its DB only when one looks packages up: a
    model-only scan (nothing in PATH for Trivy) runs with no Trivy, a secrets-only scan
    with no DB.
    """
    scanners = request.scanners
    makers: list[Callable[[Trivy], Source]] = []
    notes: list[str] = []
    vuln = Scanner.VULN in scanners
    dependency_scan = vuln and _project_has_dependency_files(project)
    if dependency_scan:
        options = ProjectOptions(
            request.resolve,
            request.index_url,
            request.allow_source_builds,
            request.include_dev,
            (*policy.exclude, *request.exclude),
        )

        def project_source(trivy: Trivy) -> Source:
            cache = trivy.options.cache_dir
            # Names the advisories Trivy cannot compare (issue 14): read from Trivy's DB.
            bounds = AdvisoryBounds(cache / "db" / "trivy.db") if cache else None
            checker = SbomChecker(trivy, project)
            return ProjectSource(trivy, checker, project, options, bounds=bounds)

        makers.append(project_source)
    if files := scanners_with_work(project, scanners, request.models):
        makers.append(
            functools.partial(FilesScan, project=project, scanners=files, models=request.models)
        )
    image_scanners = scanners & {Scanner.VULN, Scanner.SECRET}
    if images and not image_scanners:
        notes.append(
            "No image was scanned: images are checked by the vuln and secret scanners, and "
            "--scanners asked for neither."
        )
    elif images:
        makers += [
            functools.partial(ImageScan, image=image, cwd=project, scanners=image_scanners)
            for image in images
        ]
    if not makers:
        return [], SourceResult(notes=tuple(notes)), None
    ignore_file, ignore_notes = trivy_ignore_file(project)
    needs_db = dependency_scan or (vuln and bool(images))
    trivy, db = _trivy(request, ignore_file, needs_db)
    setup = SourceResult(notes=(*(db.warnings if db else ()), *ignore_notes, *notes))
    return [make(trivy) for make in makers], setup, db.status if db else None


def _project_has_dependency_files(project: Path) -> bool:
    """True when the project holds a file the project Source reads (through Trivy).

    Keep in step with deps/project.ProjectSource: a kind of file it reads must be found here,
    or a project holding only that kind would not be scanned.
    """
    return has_dependency_files(project)


def _judge(
    scanned: SourceResult,
    request: ScanRequest,
    policy: Policy,
    gate: Gate,
    today: dt.date | None,
    roots: SourceRoots,
    project: str = "",
) -> ScanOutcome:
    """Triage (policy ignores, then the baseline) and the outcome the gate judges."""
    triage = apply_policy(
        scanned.findings, policy, ignore_unfixed=request.ignore_unfixed, today=today
    )
    judged = list(triage.findings)
    notes = list(scanned.notes)
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
        targets=scanned.targets,
        project=project,
        notes=tuple(notes),
        policy_source=policy.source,
        expired_ignores=triage.expired,
        stale_ignores=triage.stale,
        sarif_severity=policy.sarif_severity,
        baseline_source=str(request.baseline) if request.baseline is not None else "",
        fixed_since_baseline=fixed,
        coverage=scanned.coverage,
        inventory=scanned.inventory,
        roots=roots,
    )


def _trivy(
    request: ScanRequest, ignore_file: Path | None, needs_db: bool
) -> tuple[Trivy, DbReady | None]:
    """The Trivy runner, with its DB ready when a scanner needs one (its status and notes)."""
    binary = find_trivy(request.trivy, offline=request.offline).resolve()
    # Resolved once, absolute, and always passed to Trivy: Trivy runs with the project as
    # its working directory, so a relative TRIVY_CACHE_DIR would mean another dir there, and
    # the DB check (or download) and the scan must look in the same place.
    cache_dir = resolve_cache_dir(request.trivy_cache_dir, os.environ)
    if not needs_db:
        # Secrets and misconfigurations need no vulnerability DB: never fetch or check one.
        return Trivy(TrivyOptions(binary, cache_dir, offline=True, ignore_file=ignore_file)), None
    policy = DbPolicy(
        max_age_days=request.max_db_age_days,
        accept_unverified=request.accept_unverified_db,
        record_path=request.trivy_db_record,
        cache_key=request.trivy_db_cache_key,
    )
    if request.offline:
        db = judge_offline(cache_dir, policy)
        options = TrivyOptions(binary, cache_dir, offline=True, ignore_file=ignore_file)
        return Trivy(options), db
    db = prepare_db(binary, cache_dir, policy=policy)
    options = TrivyOptions(binary, cache_dir, skip_db_update=True, ignore_file=ignore_file)
    return Trivy(options), db
