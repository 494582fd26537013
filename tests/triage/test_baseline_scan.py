"""--baseline and --fail-on-new-only end to end, and the action's base-commit scan."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlsecops.core.text import md_text
from tests.actions.composite import run_composite
from tests.support.scan_cli import REPO, findings_by_id, load_report, scan_cli
from tests.support.trivydb import build_trivy_db
from tests.support.wheels import SimpleIndex, build_wheel

BASE = "# the service\nrequests==2.19.1\ntqdm==4.66.1\n"
# The pull request adds one vulnerable dependency (and moves nothing else).
HEAD = BASE + "PyYAML==5.3.1\n"


@pytest.fixture
def base_report(trivy_bin, trivy_cache, tmp_path) -> Path:
    """The base branch's JSON report, scanned from the same working directory as the head."""
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "requirements.txt").write_text(BASE)
    out = tmp_path / "base.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, "svc", "--fail-on", "NONE", "--json", str(out), cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    return out


def test_a_pr_adding_one_vulnerable_dependency_fails_on_that_one_only(
    trivy_bin, trivy_cache, tmp_path, base_report
):
    (tmp_path / "svc" / "requirements.txt").write_text(HEAD)
    out, summary = tmp_path / "head.json", tmp_path / "summary.md"
    proc = scan_cli(
        trivy_bin, trivy_cache, "svc", "--baseline", str(base_report), "--fail-on-new-only",
        "--json", str(out), "--summary", str(summary), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    failing = [(f["id"], f["package"]) for f in data["findings"] if f["fails_gate"]]
    assert failing == [("CVE-2020-14343", "PyYAML")]
    found = findings_by_id(data)
    # requests' HIGH was already on the base branch: reported, existing, not failing.
    requests = found[("CVE-2018-18074", "requests")]
    assert (requests["baseline"], requests["fails_gate"]) == ("existing", False)
    assert found[("CVE-2020-14343", "PyYAML")]["baseline"] == "new"
    assert data["gate"]["new_only"] is True
    assert data["baseline"] == {"source": str(base_report), "new": 1, "existing": 3, "fixed": []}
    text = summary.read_text()
    assert "**1 new**, 3 existing, 0 fixed. Only new findings can fail the gate." in text
    new_at = text.index("### New findings that fail the gate (1)")
    existing_at = text.index("Existing findings (already in the baseline)</b> (3)")
    assert new_at < existing_at
    assert "baseline " in proc.stdout and "1 new, 3 existing, 0 fixed" in proc.stdout
    # Without --fail-on-new-only the existing HIGH fails too, still marked existing.
    proc = scan_cli(
        trivy_bin, trivy_cache, "svc", "--baseline", str(base_report), "--json", str(out),
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    failing = {f["id"] for f in load_report(out)["findings"] if f["fails_gate"]}
    assert failing == {"CVE-2020-14343", "CVE-2018-18074"}


def test_unchanged_pr_passes_with_fail_on_new_only(trivy_bin, trivy_cache, tmp_path, base_report):
    proc = scan_cli(
        trivy_bin, trivy_cache, "svc", "--baseline", str(base_report), "--fail-on-new-only",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "PASSED (fail-on HIGH; new findings only)" in proc.stdout


def test_fixed_and_moved(trivy_bin, trivy_cache, tmp_path, base_report):
    # The PR moves the file and upgrades tqdm: nothing new, one finding fixed.
    shutil.rmtree(tmp_path / "svc")
    (tmp_path / "svc" / "api").mkdir(parents=True)
    (tmp_path / "svc" / "api" / "requirements.txt").write_text("requests==2.19.1\ntqdm==4.66.3\n")
    out = tmp_path / "head.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, "svc", "--baseline", str(base_report), "--fail-on-new-only",
        "--json", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = load_report(out)
    assert {f["baseline"] for f in data["findings"]} == {"existing"}
    assert {f["target"] for f in data["findings"]} == {"svc/api/requirements.txt"}
    assert [(e["id"], e["package"], e["target"]) for e in data["baseline"]["fixed"]] == [
        ("CVE-2024-34062", "tqdm", "svc/requirements.txt")
    ]


def test_missing_baseline_is_never_a_silent_pass(trivy_bin, trivy_cache, tmp_path, base_report):
    out = tmp_path / "head.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, "svc", "--baseline", str(tmp_path / "gone.json"),
        "--fail-on-new-only", "--json", str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 1
    data = load_report(out)
    assert {f["baseline"] for f in data["findings"]} == {"new"}
    assert any("gone.json not found: every finding counts as new" in n for n in data["notes"])
    assert "every finding counts as new" in proc.stdout
    # --fail-on-new-only with no --baseline at all: the same, and said so.
    proc = scan_cli(trivy_bin, trivy_cache, "svc", "--fail-on-new-only", cwd=tmp_path)
    assert proc.returncode == 1
    assert "without --baseline" in proc.stdout


# ---------------------------------------------------------------- the action's side


def run_script(name: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    script, *args = name.split()
    return subprocess.run(
        ["bash", str(REPO / "scripts" / "action" / script), *args],
        env={"PATH": "/usr/bin:/bin", **env},
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.mark.parametrize(
    ("event", "pr_sha", "queue_sha", "expected"),
    [
        ("pull_request", "a" * 40, "", "a" * 40),
        ("pull_request_target", "b" * 40, "", "b" * 40),
        # merge_group events have no github.base_ref: the queue's base_sha is used.
        ("merge_group", "", "c" * 40, "c" * 40),
        ("push", "", "", ""),
        ("pull_request", "not-a-sha; rm -rf /", "", ""),
    ],
)
def test_base_commit_for_each_event(tmp_path, event, pr_sha, queue_sha, expected):
    output = tmp_path / "out"
    env = {
        "GITHUB_OUTPUT": str(output),
        "MLSECOPS_EVENT_NAME": event,
        "MLSECOPS_PR_BASE_SHA": pr_sha,
        "MLSECOPS_MERGE_GROUP_BASE_SHA": queue_sha,
    }
    proc = run_script("base-ref.sh", env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert output.read_text() == f"sha={expected}\n"
    if not expected:
        assert "every finding counts as new" in proc.stdout


def test_action_scans_the_base_checkout_then_fails_on_the_new_finding_only(tmp_path, trivy_bin):
    """The base-scan step on a checkout of the base (as actions/checkout leaves it), then the
    action."""
    workspace, runner_temp = tmp_path / "workspace", tmp_path / "runner-temp"
    (workspace / "svc").mkdir(parents=True)
    (workspace / "svc" / "requirements.txt").write_text(HEAD)
    checkout = workspace / ".mlsecops-base" / "svc"
    checkout.mkdir(parents=True)
    (checkout / "requirements.txt").write_text(BASE)
    cache = runner_temp / "mlsecops-trivy-cache"
    build_trivy_db(cache)
    venv = Path(sys.executable).parent.parent  # the venv running the tests (has mlsecops' deps)
    output = tmp_path / "base-scan-output"
    env = {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(REPO),
        "RUNNER_TEMP": str(runner_temp),
        "MLSECOPS_PATH": f"{workspace}/svc",  # absolute paths map into the checkout too
        "MLSECOPS_OFFLINE": "true",
        "MLSECOPS_RESOLVE": "false",
        "MLSECOPS_TRIVY": str(trivy_bin),
        "MLSECOPS_TRIVY_CACHE_DIR": str(cache),
        "MLSECOPS_VENV": str(venv),
        "HOME": str(tmp_path),
    }
    proc = run_script("run.sh base-scan", env, workspace)
    assert proc.returncode == 0, proc.stderr
    baseline = Path(output.read_text().strip().removeprefix("baseline="))
    # The checkout left the workspace, so the head's scan of "." cannot read it.
    assert not (workspace / ".mlsecops-base").exists()
    base = load_report(baseline)
    assert {f["target"] for f in base["findings"]} == {"svc/requirements.txt"}
    assert {f["id"] for f in base["findings"]} == {
        "CVE-2018-18074",
        "CVE-2023-32681",
        "CVE-2024-34062",
    }

    path = f"{trivy_bin.parent}{os.pathsep}/usr/bin{os.pathsep}/bin"
    run = run_composite(
        REPO,
        {
            "path": "svc",
            "offline": "true",
            "trivy-version": "0.76.0",
            "baseline": str(baseline),
            "fail-on-new-only": "true",
        },
        workspace=workspace,
        runner_temp=runner_temp,
        extra_env={"PATH": path},
    )
    assert run.failed
    report = load_report(Path(run.outputs["json-file"]))
    assert [f["id"] for f in report["findings"] if f["fails_gate"]] == ["CVE-2020-14343"]
    assert "**1 new**, 3 existing, 0 fixed" in run.summary
    # A baseline was given, so the action did not look for a base commit itself.
    assert run.step("Find the base commit").kind == "skipped"
    assert run.step("Check out the base commit").kind == "skipped"


def test_base_scan_resolves_offline_against_the_action_index_url(tmp_path, trivy_bin, httpserver):
    """resolve + offline + index-url: the base commit is scanned with the same index."""
    wheels = tmp_path / "wheels"
    index = SimpleIndex.of(
        [build_wheel(wheels, "requests", "2.19.1"), build_wheel(wheels, "tqdm", "4.66.1")]
    )
    for page, (content_type, body) in index.pages.items():
        httpserver.expect_request(page).respond_with_data(body, content_type=content_type)
    workspace, runner_temp = tmp_path / "workspace", tmp_path / "runner-temp"
    checkout = workspace / ".mlsecops-base" / "svc"
    checkout.mkdir(parents=True)
    (checkout / "requirements.txt").write_text(BASE)
    cache = runner_temp / "mlsecops-trivy-cache"
    build_trivy_db(cache)
    output = tmp_path / "base-scan-output"
    env = {
        "GITHUB_OUTPUT": str(output),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_ACTION_PATH": str(REPO),
        "RUNNER_TEMP": str(runner_temp),
        "MLSECOPS_PATH": "svc",
        "MLSECOPS_OFFLINE": "true",
        "MLSECOPS_RESOLVE": "true",
        "MLSECOPS_INDEX_URL": httpserver.url_for("/simple/"),
        "MLSECOPS_TRIVY": str(trivy_bin),
        "MLSECOPS_TRIVY_CACHE_DIR": str(cache),
        "MLSECOPS_VENV": str(Path(sys.executable).parent.parent),
        "HOME": str(tmp_path),
        "PIP_CONFIG_FILE": os.devnull,
    }
    proc = run_script("run.sh base-scan", env, workspace)
    assert proc.returncode == 0, proc.stderr
    assert "scanning the base commit failed" not in proc.stdout, proc.stderr
    baseline = load_report(runner_temp / "mlsecops" / "baseline.json")
    assert {(f["id"], f["properties"].get("resolved_by")) for f in baseline["findings"]} == {
        ("CVE-2018-18074", "pip"),
        ("CVE-2023-32681", "pip"),
        ("CVE-2024-34062", "pip"),
    }


def test_action_without_a_baseline_on_push_counts_everything_new(tmp_path, trivy_bin):
    workspace, runner_temp = tmp_path / "workspace", tmp_path / "runner-temp"
    (workspace / "svc").mkdir(parents=True)
    (workspace / "svc" / "requirements.txt").write_text(BASE)
    build_trivy_db(runner_temp / "mlsecops-trivy-cache")
    path = f"{trivy_bin.parent}{os.pathsep}/usr/bin{os.pathsep}/bin"
    run = run_composite(
        REPO,
        {"path": "svc", "offline": "true", "trivy-version": "0.76.0", "fail-on-new-only": "true"},
        workspace=workspace,
        runner_temp=runner_temp,
        extra_env={"PATH": path},
    )
    # No event payload here (a push): no base commit, so no checkout, and nothing passes silently.
    assert run.step("Find the base commit").outcome == "success"
    assert run.step("Check out the base commit").kind == "skipped"
    assert run.failed
    assert "every finding counts as new" in run.step("Find the base commit").stdout
    # In the action's words (its inputs), rendered as inert Markdown.
    assert md_text("fail-on-new-only: true without input baseline") in run.summary
