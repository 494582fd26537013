"""The scan action's base-commit scan: the baseline for `fail-on-new-only` on pull requests.

action.yml checks the base commit out into the workspace (`.mlsecops-base`); this step moves
it out of the workspace, so that the head's scan does not read it too, and scans its
dependency files into a JSON report the head's scan compares with. Images and models come
from the head's build, so there is nothing at the base to compare them with.

This step never fails the job. Without a report (the checkout failed, the path is outside
the workspace, the scan failed) the head's scan finds no baseline, says so in its summary,
and counts every finding as new: stricter than with a baseline, never a silent pass.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from mlsecops.actions.inputs import Inputs
from mlsecops.actions.scan_inputs import db_inputs
from mlsecops.actions.vocabulary import as_action_text
from mlsecops.core.scanners import parse_scanners
from mlsecops.errors import EXIT_PASSED, MlsecopsError
from mlsecops.github.commands import command
from mlsecops.github.env_files import append, format_outputs
from mlsecops.paths import write_text_atomic
from mlsecops.reports.json_report import write_json_report
from mlsecops.scan import ScanRequest, run_scan

CHECKOUT_DIR = ".mlsecops-base"  # where action.yml's checkout step puts the base commit
SUCCESS = "success"  # a step's outcome, as `steps.<id>.outcome` gives it


def scan_base(env: Mapping[str, str]) -> int:
    """Scan the base commit into RUNNER_TEMP/mlsecops/baseline.json; always exit 0."""
    workspace = Path(env["GITHUB_WORKSPACE"])
    runner_temp = Path(env["RUNNER_TEMP"])
    report = runner_temp / "mlsecops" / "baseline.json"
    base = runner_temp / "mlsecops-base"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.unlink(missing_ok=True)
    shutil.rmtree(base, ignore_errors=True)
    if env.get("GITHUB_OUTPUT"):
        append(Path(env["GITHUB_OUTPUT"]), format_outputs({"baseline": str(report)}))
    try:
        problem = _prepare(env, workspace, base) or _scan(Inputs(env), workspace, base, report)
    except (MlsecopsError, OSError) as error:
        report.unlink(missing_ok=True)
        text = error.one_line() if isinstance(error, MlsecopsError) else str(error)
        problem = f"scanning the base commit failed: {as_action_text(text)}"
    if problem is not None:
        print(command("warning", f"{problem}; every finding counts as new", title="mlsecops"))
    return EXIT_PASSED


def _prepare(env: Mapping[str, str], workspace: Path, base: Path) -> str | None:
    """Move the checkout out of the workspace; why that cannot be done, or None."""
    checkout = workspace / CHECKOUT_DIR
    if env.get("MLSECOPS_BASE_CHECKOUT", SUCCESS) != SUCCESS:
        # A failed checkout may have left part of a tree: scanning that would make findings
        # look existing that are not, so it is removed, never read.
        shutil.rmtree(checkout, ignore_errors=True)
        return "checking out the base commit failed (see that step)"
    if not checkout.is_dir():
        return "the base commit was not checked out"
    base.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(checkout, base)
    return None


def _scan(inputs: Inputs, workspace: Path, base: Path, report: Path) -> str | None:
    """Scan the same project path at the base commit; why no report was made, or None."""
    project = _relative_project(inputs.path("path") or Path(), workspace)
    if project is None:
        return f"path {inputs.text('path')} is outside the workspace: no scan at the base commit"
    # The base's own policy does not matter: what existed is what Trivy found, ignored or not.
    policy = report.with_name("base-policy.yml")
    write_text_atomic(policy, "version: 1\n")
    request = ScanRequest(
        project=project,
        fail_on="NONE",
        policy=policy,
        trivy=inputs.text("trivy") or None,
        trivy_cache_dir=inputs.path("trivy-cache-dir"),
        offline=inputs.flag("offline"),
        **db_inputs(inputs),
        resolve=inputs.flag("resolve"),
        index_url=inputs.text("index-url") or None,
        # The head's dependency options: what the head leaves out is left out here too.
        allow_source_builds=inputs.flag("allow-source-builds"),
        include_dev=not inputs.flag("skip-dev-deps"),
        exclude=inputs.items("exclude"),
        workspace=base,  # the base checkout is that commit's repository root
        # The head's scanners: a secret the head did not look for must not count as fixed.
        scanners=parse_scanners(inputs.text("scanners")),
    )
    # Targets are shown relative to the working directory: the base checkout's root here,
    # the workspace for the head, so the same file has the same name in both reports.
    here = Path.cwd()
    os.chdir(base)
    try:
        outcome = run_scan(request)
        write_json_report(outcome, report)
    finally:
        os.chdir(here)
    print(f"baseline: {len(outcome.open_findings)} open finding(s) at the base commit")
    return None


def _relative_project(path: Path, workspace: Path) -> Path | None:
    """The project's path relative to the repository root, or None outside the workspace."""
    if not path.is_absolute():
        return path
    try:
        return path.relative_to(workspace)
    except ValueError:
        return None
