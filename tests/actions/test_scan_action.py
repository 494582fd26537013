"""The scan action's composite steps, executed in order with bash against the real Trivy."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.actions.composite import ActionRun, run_composite
from tests.support.trivydb import build_trivy_db

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "fixtures" / "projects"
# The test Trivy is 0.76.0; asking for that version makes the installer take the matching
# trivy on PATH (the documented behaviour) instead of downloading.
TRIVY_VERSION = "0.76.0"


@pytest.fixture
def runner(tmp_path: Path, trivy_bin: Path):
    """A workspace and RUNNER_TEMP with Trivy's DB where the action keeps its cache."""
    workspace = tmp_path / "workspace"
    runner_temp = tmp_path / "runner-temp"
    workspace.mkdir()
    runner_temp.mkdir()
    build_trivy_db(runner_temp / "mlsecops-trivy-cache")
    path = f"{trivy_bin.parent}{os.pathsep}/usr/bin{os.pathsep}/bin"

    def run(project: str, **inputs: str) -> ActionRun:
        shutil.copytree(PROJECTS / project, workspace / project, dirs_exist_ok=True)
        defaults = {"path": project, "offline": "true", "trivy-version": TRIVY_VERSION}
        return run_composite(
            REPO,
            {**defaults, **inputs},
            workspace=workspace,
            runner_temp=runner_temp,
            extra_env={"PATH": path},
        )

    return run


def test_vulnerable_project_fails_after_reporting(runner):
    run = runner("requirements", **{"upload-sarif": "true", "cache": "true"})
    assert run.failed
    gate = run.step("Enforce the gate")
    assert gate.outcome == "failure" and gate.exit_code == 1
    assert run.outputs["passed"] == "false"
    assert run.outputs["exit-code"] == "1"
    assert (run.outputs["critical"], run.outputs["high"]) == ("4", "2")
    # unknown: `flask>=2.0` is not pinned, so not checked (informational MLS-UNPINNED).
    assert (run.outputs["medium"], run.outputs["low"], run.outputs["unknown"]) == ("1", "2", "1")
    assert run.outputs["total"] == "10"
    sarif = json.loads(Path(run.outputs["sarif-file"]).read_text())
    assert len(sarif["runs"][0]["results"]) == 10
    report = json.loads(Path(run.outputs["json-file"]).read_text())
    assert report["passed"] is False
    # The SARIF upload still runs although the gate failed, with the file the scan wrote.
    upload = run.step("Upload SARIF to code scanning")
    assert upload.kind == "uses"
    assert upload.uses.startswith("github/codeql-action/upload-sarif@")
    assert upload.with_ == {"sarif_file": run.outputs["sarif-file"], "category": "mlsecops"}
    # So does saving the DB cache.
    assert run.step("Save Trivy's DB").kind == "uses"
    assert run.summary.startswith("## ❌ mlsecops: FAILED")
    scan = run.step("Scan")
    assert "::error file=requirements/requirements.txt,line=" in scan.stdout


def test_clean_project_passes(runner):
    run = runner("clean")
    assert not run.failed, [(s.name, s.stderr) for s in run.steps if s.outcome == "failure"]
    assert run.outputs["passed"] == "true"
    assert run.outputs["total"] == "0"
    assert run.step("Upload SARIF to code scanning").kind == "skipped"
    assert "## ✅ mlsecops: PASSED" in run.summary


def test_fail_on_none_passes_a_vulnerable_project_but_reports_it(runner):
    run = runner("requirements", **{"fail-on": "NONE"})
    assert not run.failed
    assert run.outputs["passed"] == "true"
    assert run.outputs["critical"] == "4"


def test_a_typo_in_a_boolean_is_an_error_not_false(runner):
    run = runner("requirements", **{"ignore-unfixed": "ture"})
    assert run.failed
    assert run.outputs["exit-code"] == "2"
    scan = run.step("Scan")
    assert "input ignore-unfixed: 'ture' is not a boolean" in scan.stdout + scan.stderr


def test_inputs_never_reach_a_shell_unquoted(runner, tmp_path):
    # A path that would run a command if an input were expanded into a script.
    marker = tmp_path / "pwned"
    run = runner("clean", images=f"$(touch {marker})")
    assert not marker.exists()
    assert run.failed
    assert run.outputs["exit-code"] == "2"


def test_unsupported_runner_fails_early(tmp_path, trivy_bin):
    run = run_composite(
        REPO,
        {"offline": "true"},
        workspace=tmp_path,
        runner_temp=tmp_path,
        extra_env={"RUNNER_OS": "Windows"},
    )
    setup = run.step("Set up the mlsecops venv")
    assert setup.exit_code == 2
    assert "unsupported runner Windows/X64" in setup.stdout
    assert run.step("Scan").kind == "skipped"
    assert run.step("Enforce the gate").exit_code == 3
