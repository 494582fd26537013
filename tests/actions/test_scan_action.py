"""The scan action's composite steps, executed in order with bash against the real Trivy."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

import entrypoint
from mlsecops.actions.inputs import variable
from mlsecops.actions.scan_outputs import OUTPUTS
from mlsecops.core.text import md_text
from tests.actions.composite import Expressions, read_outputs, run_composite
from tests.actions.conftest import REPO, plant_hostile_modules
from tests.support.cyclonedx import bom_errors
from tests.support.trivydb import build_trivy_db

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
BOOLEAN_INPUTS = sorted(
    name for name, spec in ACTION["inputs"].items() if spec.get("default") in ("true", "false")
)
COUNTS = ("critical", "high", "medium", "low", "unknown", "total", "failing", "ignored", "new")


def failed_steps(run) -> list[tuple[str, str, str]]:
    return [
        (s.name, s.stdout[-2000:], s.stderr[-2000:]) for s in run.steps if s.outcome == "failure"
    ]


# --- a verdict: exit 0 and 1 --------------------------------------------------------------


def test_vulnerable_project_fails_after_reporting(runner):
    run = runner("requirements", **{"upload-sarif": "true", "cache": "true"})
    assert run.failed
    gate = run.step("Enforce the gate")
    assert gate.outcome == "failure" and gate.exit_code == 1
    assert (run.outputs["passed"], run.outputs["exit-code"], run.outputs["error"]) == (
        "false",
        "1",
        "",
    )
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
    assert run.summary.startswith("## ❌ mlsecops: FAILED")
    scan = run.step("Scan")
    assert "::error file=requirements/requirements.txt,line=" in scan.stdout


def test_clean_project_passes(runner):
    run = runner("clean")
    assert not run.failed, failed_steps(run)
    assert (run.outputs["passed"], run.outputs["exit-code"], run.outputs["error"]) == (
        "true",
        "0",
        "",
    )
    assert run.outputs["total"] == "0"
    assert run.step("Upload SARIF to code scanning").kind == "skipped"
    assert "## ✅ mlsecops: PASSED" in run.summary
    assert Path(run.outputs["summary-file"]).read_text() == run.summary


def test_sbom_file_input_writes_the_ml_bom_and_names_it_as_output(runner, tmp_path):
    sbom = tmp_path / "bom.cdx.json"
    run = runner("clean", **{"sbom-file": str(sbom)})
    assert not run.failed, [(s.name, s.stderr) for s in run.steps if s.outcome == "failure"]
    assert run.outputs["sbom-file"] == str(sbom)
    assert bom_errors(sbom.read_text()) == []
    names = {c["name"].lower() for c in json.loads(sbom.read_text())["components"]}
    assert names == {"requests", "pyyaml", "jinja2", "torch", "urllib3", "numpy", "tqdm"}
    assert runner("clean").outputs["sbom-file"] == ""


def test_fail_on_none_passes_a_vulnerable_project_but_reports_it(runner):
    run = runner("requirements", **{"fail-on": "NONE"})
    assert not run.failed
    assert run.outputs["passed"] == "true"
    assert run.outputs["critical"] == "4"


# --- every output on every exit code --------------------------------------------------------


def test_the_scan_step_writes_every_output_on_every_exit_code(runner):
    """Exit 0, 1, 2 and 3: each documented output is written, none left unset."""
    runs = {
        0: runner("clean"),
        1: runner("requirements"),
        2: runner("clean", policy="missing-policy.yml"),
        3: runner("clean", **{"trivy-cache-dir": "no-db-here"}),
    }
    documented = set(ACTION["outputs"])
    assert set(OUTPUTS) | {"exit-code"} == documented
    for code, run in runs.items():
        assert run.outputs["exit-code"] == str(code), failed_steps(run)
        written = set(run.step_outputs["scan"]) | set(run.step_outputs["gate"])
        assert documented <= written, (code, documented - written)
        assert run.outputs["passed"] == ("true" if code == 0 else "false")
        assert bool(run.outputs["error"]) == (code > 1)
        assert bool(run.outputs["critical"]) == (code < 2)  # 0 would read as clean
        assert bool(run.outputs["sarif-file"]) == (code < 2)
        assert Path(run.outputs["summary-file"]).is_file()


def test_a_tool_error_has_outputs_a_summary_and_names_the_inputs(runner, tmp_path):
    run = runner("clean", **{"trivy-cache-dir": str(tmp_path / "empty")})
    assert run.failed
    assert run.step("Enforce the gate").exit_code == 3
    assert (run.outputs["passed"], run.outputs["exit-code"]) == ("false", "3")
    assert all(run.outputs[name] == "" for name in COUNTS)
    assert (run.outputs["sarif-file"], run.outputs["json-file"]) == ("", "")
    error = run.outputs["error"]
    assert "no Trivy DB in" in error
    # The action's words, not the CLI's flags: the reader can set these.
    assert "offline: true forbids downloading" in error
    assert "input trivy-cache-dir" in error
    assert "--trivy-cache-dir" not in error + run.summary and "--offline" not in run.summary
    assert run.summary.startswith("## ❌ mlsecops: could not check")
    assert f"could not check: {md_text(error, limit=None)}\n" in run.summary
    assert Path(run.outputs["summary-file"]).read_text() == run.summary
    assert "::error title=mlsecops::no Trivy DB" in run.step("Scan").stdout


def test_a_configuration_error_in_the_scan_is_exit_2_with_a_verdict(runner):
    run = runner("clean", images="does-not-exist.tar")
    assert (run.outputs["passed"], run.outputs["exit-code"]) == ("false", "2")
    assert run.step("Enforce the gate").exit_code == 2
    assert "Exit 2, a configuration error" in run.summary
    assert (
        "could not check: " + md_text("image tarball not found: does-not-exist.tar") in run.summary
    )


def test_summary_false_leaves_the_job_summary_alone_even_without_a_verdict(runner):
    run = runner("clean", summary="false", **{"trivy-cache-dir": "no-db-here"})
    assert run.outputs["exit-code"] == "3"
    assert run.summary == ""


# --- booleans read only in `if:` -------------------------------------------------------------


@pytest.mark.parametrize("name", BOOLEAN_INPUTS)
def test_the_check_step_refuses_a_typo_in_any_boolean(tmp_path, name):
    (tmp_path / "output").write_text("")
    env = {**check_step_env(), variable(name): "yes", "GITHUB_OUTPUT": str(tmp_path / "output")}
    assert entrypoint.main(env, ["check"]) == 2
    assert read_outputs(tmp_path / "output") == {
        "exit-code": "2",
        "error": f"input {name}: 'yes' is not a boolean; to fix: write true or false",
    }


def check_step_env() -> dict[str, str]:
    """Every input's default, as the check step's `env:` passes it."""
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "inputs")
    return {
        key: str(ACTION["inputs"][m.group(1)].get("default", ""))
        for key, value in step["env"].items()
        if (m := re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", str(value)))
    }


def test_the_check_step_gets_every_input_but_the_token():
    step = next(s for s in ACTION["runs"]["steps"] if s.get("id") == "inputs")
    passed = {
        m.group(1)
        for value in step["env"].values()
        if (m := re.fullmatch(r"\$\{\{ inputs\.([a-z-]+) \}\}", str(value)))
    }
    assert passed == set(ACTION["inputs"]) - {"github-token"}
    assert all(variable(name) in step["env"] for name in passed)


@pytest.mark.parametrize("name", ["cache", "upload-sarif"])  # read only in `if:` expressions
def test_a_typo_in_an_if_only_boolean_stops_the_action_early(runner, name):
    run = runner("clean", **{name: "ture"})
    check = run.step("Check the inputs")
    assert check.exit_code == 2
    assert f"input {name}: 'ture' is not a boolean" in check.stdout
    # Stopped before anything was installed, restored or scanned.
    assert run.step("Install Trivy (pinned, checksum-verified)").kind == "skipped"
    assert run.step("Restore the Trivy download").kind == "skipped"
    assert run.step("Scan").kind == "skipped"
    assert (run.outputs["passed"], run.outputs["exit-code"]) == ("false", "2")
    assert f"input {name}: 'ture' is not a boolean" in run.outputs["error"]
    assert run.summary.startswith("## ❌ mlsecops: could not check")
    assert "Exit 2, a configuration error" in run.summary


def test_the_if_only_booleans_come_normalised_from_the_check_step(runner):
    run = runner("clean", cache="TRUE", **{"upload-sarif": "True"})
    assert run.step_outputs["inputs"]["cache"] == "true"
    assert run.step("Restore the Trivy download").kind == "uses"
    assert run.step("Upload SARIF to code scanning").kind == "uses"


def test_an_unreleased_trivy_version_is_refused_before_installing(runner):
    run = runner("clean", **{"trivy-version": "latest"})
    assert run.step("Check the inputs").exit_code == 2
    assert run.step("Install Trivy (pinned, checksum-verified)").kind == "skipped"
    assert "trivy-version 'latest' is not a Trivy release version" in run.outputs["error"]


# --- trivy-cache-dir and the caches -----------------------------------------------------------


def test_a_db_of_ones_own_is_used_offline_and_never_cached_as_ours(runner, tmp_path):
    own = tmp_path / "own-db"
    build_trivy_db(own)
    # The action's own cache dir has no DB: only trivy-cache-dir can make this pass.
    cache = runner.runner_temp / "mlsecops-trivy-cache"
    for name in ("trivy.db", "metadata.json"):
        (cache / "db" / name).unlink()
    run = runner("requirements", cache="true", **{"trivy-cache-dir": str(own)})
    assert run.outputs["exit-code"] == "1", failed_steps(run)
    assert run.outputs["critical"] == "4"
    assert run.step_outputs["inputs"]["trivy-cache-dir"] == str(own)
    assert run.step("Restore Trivy's DB").kind == "skipped"
    assert run.step("Save Trivy's DB").kind == "skipped"
    assert run.step("Restore the Trivy download").kind == "uses"


def test_a_relative_trivy_cache_dir_is_the_workspaces(runner):
    build_trivy_db(runner.workspace / "ci-db")
    run = runner("clean", **{"trivy-cache-dir": "ci-db"})
    assert run.outputs["exit-code"] == "0", failed_steps(run)
    assert run.step_outputs["inputs"]["trivy-cache-dir"] == str(runner.workspace / "ci-db")


def test_nothing_is_saved_that_this_run_did_not_make(runner):
    # Trivy came from PATH and the DB from the cache (offline): no "Cache save failed.".
    run = runner("requirements", cache="true")
    assert run.step_outputs["trivy"]["downloaded"] == "false"
    assert run.step("Save the Trivy download").kind == "skipped"
    assert run.step_outputs["scan"]["db-cache-key"] == ""
    assert run.step("Save Trivy's DB").kind == "skipped"
    assert run.step("Restore Trivy's DB").kind == "uses"


def test_a_failed_offline_scan_saves_no_db(runner):
    run = runner("clean", cache="true", **{"trivy-cache-dir": "no-db-here"})
    assert run.outputs["exit-code"] == "3"
    assert run.step("Save Trivy's DB").kind == "skipped"


# --- early failures ------------------------------------------------------------------------


def test_inputs_never_reach_a_shell_unquoted(runner, tmp_path):
    # A path that would run a command if an input were expanded into a script.
    marker = tmp_path / "pwned"
    run = runner("clean", images=f"$(touch {marker})")
    assert not marker.exists()
    assert run.failed
    assert run.outputs["exit-code"] == "2"


def test_unsupported_runner_fails_early_with_a_verdict(tmp_path):
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
    assert run.step("Enforce the gate").exit_code == 2
    assert (run.outputs["passed"], run.outputs["exit-code"]) == ("false", "2")
    assert run.outputs["error"].startswith("unsupported runner Windows/X64")
    assert "could not check: unsupported runner Windows/X64" in run.summary
    assert run.outputs["summary-file"] == str(tmp_path / "mlsecops" / "summary.md")


def test_a_scan_step_that_never_finished_fails_closed(tmp_path):
    """The gate alone: no exit code from any step is exit 3, never a pass."""
    (tmp_path / "out").write_text("")
    (tmp_path / "summary").write_text("")
    env = {
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_OUTPUT": str(tmp_path / "out"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "PATH": "/usr/bin:/bin",
    }
    import subprocess

    proc = subprocess.run(
        [str(REPO / "scripts" / "action" / "gate.sh")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 3
    assert "::error title=mlsecops::could not check: the scan step did not finish" in proc.stdout
    outputs = (tmp_path / "out").read_text()
    assert "passed=false\nexit-code=3\n" in outputs
    assert "could not check: the scan step did not finish" in (tmp_path / "summary").read_text()


def test_python_never_imports_from_the_workspace(runner, tmp_path, hostile_setup):
    """A pull request that adds `mlsecops/`, `pip/` or `venv.py` never has them run."""
    _venv, setup_marker = hostile_setup  # the venv was made in such a workspace
    assert not setup_marker.exists(), setup_marker.read_text()
    marker = tmp_path / "imported"
    plant_hostile_modules(runner.workspace, marker)
    run = runner("clean", **{"fail-on-new-only": "true"})
    assert run.outputs["exit-code"] == "0", failed_steps(run)
    assert not marker.exists(), marker.read_text()


# --- cache keys ---------------------------------------------------------------------------


def step_named(name: str) -> dict:
    return next(s for s in ACTION["runs"]["steps"] if s.get("name") == name)


def runs(name: str, steps: dict) -> bool:
    """Whether the step's `if:` lets it run, given these steps' outputs."""
    contexts = {"steps": {sid: {"outputs": out} for sid, out in steps.items()}}
    return Expressions(contexts, job_failed=False).condition(step_named(name)["if"])


def test_each_save_gets_a_new_key_and_restore_takes_the_newest(runner):
    run = runner("requirements", cache="true")
    for restore in ("Restore the Trivy download", "Restore Trivy's DB"):
        with_ = run.step(restore).with_
        # The exact key is this run's own, never found: restore-keys restores the entry
        # saved last, so a refused (poisoned) entry is superseded by the next good save
        # instead of staying under an immutable key forever.
        assert with_["key"].startswith(with_["restore-keys"])
        assert with_["key"] != with_["restore-keys"] and with_["restore-keys"].endswith("-")
    keys = {run.step(name).with_["key"] for name in ("Restore the Trivy download",)}
    again = runner("requirements", cache="true")
    assert again.step("Restore the Trivy download").with_["key"] not in keys


def test_the_trivy_download_is_saved_exactly_when_this_run_downloaded_it():
    name = "Save the Trivy download"
    on = {"inputs": {"cache": "true"}}
    # After a restored entry was refused (its checksum), the fresh download is saved too.
    assert runs(name, {**on, "trivy": {"downloaded": "true"}, "trivy-cache": {"cache-hit": ""}})
    assert not runs(name, {**on, "trivy": {"downloaded": "false"}})
    assert not runs(name, {"inputs": {"cache": "false"}, "trivy": {"downloaded": "true"}})


def test_the_db_is_saved_exactly_when_this_run_downloaded_it():
    name = "Save Trivy's DB"
    on = {"inputs": {"db-cache": "true"}}
    key = "mlsecops-trivy-db-v1-20261208T000000Z-20261208T060000Z-" + "0" * 64
    assert runs(name, {**on, "scan": {"db-cache-key": key}})
    assert not runs(name, {**on, "scan": {"db-cache-key": ""}})
    assert not runs(name, {"inputs": {"db-cache": "false"}, "scan": {"db-cache-key": key}})
