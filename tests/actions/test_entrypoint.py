"""entrypoint.py: action inputs from the environment, through the core, to GitHub's files."""

from __future__ import annotations

import json
from pathlib import Path

import entrypoint
from mlsecops.core.text import md_text
from mlsecops.github.pr_comment import DEFAULT_AUTHOR, MARKER
from tests.actions.composite import read_outputs

PROJECTS = Path(__file__).resolve().parents[1] / "fixtures" / "projects"


def github_env(tmp_path: Path, trivy_bin: Path, trivy_cache: Path, **extra: str) -> dict:
    for name in ("output", "summary"):
        (tmp_path / name).write_text("")
    return {
        "MLSECOPS_TRIVY": str(trivy_bin),
        "MLSECOPS_TRIVY_CACHE_DIR": str(trivy_cache),
        "MLSECOPS_OFFLINE": "true",
        "MLSECOPS_SARIF_FILE": str(tmp_path / "r.sarif"),
        "MLSECOPS_JSON_FILE": str(tmp_path / "r.json"),
        "MLSECOPS_SUMMARY_FILE": str(tmp_path / "summary.md"),
        "MLSECOPS_PR_COMMENT_FILE": str(tmp_path / "pr-comment.md"),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "GITHUB_REPOSITORY": "octo/ml",
        **extra,
    }


def pr_event(tmp_path: Path, head_repo: str) -> str:
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 7, "head": {"repo": {"full_name": head_repo}}}})
    )
    return str(event)


def comment_env(env: dict, api_url: str, token: str = "t0ken") -> dict:
    """The comment step's environment: the token, the body file, nothing of the scan."""
    keep = ("GITHUB_", "MLSECOPS_PR_COMMENT", "MLSECOPS_SUMMARY")
    step = {k: v for k, v in env.items() if k.startswith(keep)}
    return {**step, "MLSECOPS_GITHUB_TOKEN": token, "GITHUB_API_URL": api_url}


def test_pull_request_comment_is_left_by_the_scan_and_posted_by_the_comment_step(
    tmp_path, trivy_bin, trivy_cache, httpserver
):
    path = "/repos/octo/ml/issues/7/comments"
    httpserver.expect_request(path, method="GET").respond_with_json([])
    httpserver.expect_request(path, method="POST").respond_with_json(
        {"id": 9, "html_url": "https://gh/c/9"}, status=201
    )
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "pipfile"),
        MLSECOPS_PR_COMMENT="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 1
    assert httpserver.log == []  # the scan step talks to nobody
    outputs = read_outputs(tmp_path / "output")
    assert outputs["pr-comment-file"] == str(tmp_path / "pr-comment.md")
    api = httpserver.url_for("").rstrip("/")
    assert entrypoint.main(comment_env(env, api), ["comment"]) == 0
    [(request, _)] = [c for c in httpserver.log if c[0].method == "POST"]
    body = request.get_json()["body"]
    assert body.startswith(MARKER)
    assert "mlsecops: FAILED" in body and "CVE-2020-14343" in body
    assert request.headers["Authorization"] == "Bearer t0ken"
    assert outputs["passed"] == "false"
    # Pipfile.lock's `develop` jinja2 adds two MEDIUM (dev dependencies are checked).
    assert outputs["critical"] == "1" and outputs["medium"] == "3" and outputs["total"] == "4"
    assert outputs["sarif-file"] == str(tmp_path / "r.sarif")
    summary = (tmp_path / "summary").read_text()
    assert summary.startswith("## ❌ mlsecops: FAILED")


def test_fork_pull_request_gets_a_note_and_no_comment_file(tmp_path, trivy_bin, trivy_cache):
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "clean"),
        MLSECOPS_PR_COMMENT="true",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "mallory/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 0
    assert "pull requests from forks get a read-only token" in (tmp_path / "summary").read_text()
    assert read_outputs(tmp_path / "output")["pr-comment-file"] == ""
    assert not (tmp_path / "pr-comment.md").exists()


def test_dependabot_runs_get_a_note_for_the_comment_and_the_upload(
    tmp_path, trivy_bin, trivy_cache, capsys
):
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "clean"),
        MLSECOPS_PR_COMMENT="true",
        MLSECOPS_UPLOAD_SARIF="true",
        GITHUB_ACTOR="dependabot[bot]",
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 0
    summary = (tmp_path / "summary").read_text()
    assert md_text("No PR comment: runs triggered by Dependabot get a read-only token") in summary
    assert md_text("No SARIF upload to code scanning: runs triggered by Dependabot") in summary
    assert "::warning title=mlsecops::No SARIF upload" in capsys.readouterr().out


def test_comment_without_permission_warns_and_keeps_the_verdict(
    tmp_path, trivy_bin, trivy_cache, httpserver, capsys
):
    path = "/repos/octo/ml/issues/7/comments"
    httpserver.expect_request(path, method="GET").respond_with_json(
        {"message": "Resource not accessible by integration"}, status=403
    )
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "clean"),
        MLSECOPS_PR_COMMENT="true",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 0
    api = httpserver.url_for("").rstrip("/")
    assert entrypoint.main(comment_env(env, api), ["comment"]) == 0
    out = capsys.readouterr().out
    assert "::warning title=mlsecops::PR comment not posted" in out
    assert md_text("pull-requests: write") in (tmp_path / "summary").read_text()


def test_no_token_is_a_note_not_a_failure(tmp_path, trivy_bin, trivy_cache):
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "clean"),
        MLSECOPS_PR_COMMENT="true",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 0
    assert entrypoint.main(comment_env(env, "http://127.0.0.1:9", token=""), ["comment"]) == 0
    note = md_text("No PR comment: no github-token was given.")
    assert note in (tmp_path / "summary").read_text()


def test_a_scan_that_could_not_check_replaces_the_comments_old_verdict(
    tmp_path, trivy_bin, trivy_cache, httpserver
):
    """An earlier run's PASSED must not stay on the PR when this run could not check."""
    path = "/repos/octo/ml/issues/7/comments"
    old = {"id": 5, "body": f"{MARKER}\n## ✅ mlsecops: PASSED", "user": {"login": DEFAULT_AUTHOR}}
    httpserver.expect_request(path, method="GET").respond_with_json([old])
    httpserver.expect_request("/repos/octo/ml/issues/comments/5", method="PATCH").respond_with_json(
        {"id": 5, "html_url": "https://gh/c/5"}
    )
    env = github_env(
        tmp_path, trivy_bin, trivy_cache / "missing",
        MLSECOPS_PATH=str(PROJECTS / "clean"),
        MLSECOPS_PR_COMMENT="true",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 3
    api = httpserver.url_for("").rstrip("/")
    assert entrypoint.main(comment_env(env, api), ["comment"]) == 0
    [(request, _)] = [c for c in httpserver.log if c[0].method == "PATCH"]
    assert "## ❌ mlsecops: could not check" in request.get_json()["body"]


def test_configuration_errors_are_one_annotated_line(tmp_path, trivy_bin, trivy_cache, capsys):
    env = github_env(tmp_path, trivy_bin, trivy_cache, MLSECOPS_FAIL_ON="SEVERE")
    assert entrypoint.main(env) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("::error title=mlsecops::input fail-on 'SEVERE'")
    assert len(captured.err.strip().splitlines()) == 1
    outputs = read_outputs(tmp_path / "output")
    assert outputs["passed"] == "false" and outputs["critical"] == ""
    assert outputs["error"].startswith("input fail-on 'SEVERE' is not")


def test_the_check_step_refuses_what_the_scan_would_and_says_why(tmp_path, capsys):
    (tmp_path / "output").write_text("")
    env = {"MLSECOPS_SARIF_SEVERITY": "HUGE", "GITHUB_OUTPUT": str(tmp_path / "output")}
    assert entrypoint.main(env, ["check"]) == 2
    outputs = read_outputs(tmp_path / "output")
    assert outputs["exit-code"] == "2"
    assert outputs["error"].startswith("input sarif-severity 'HUGE' is not a severity")
    assert "::error title=mlsecops::input sarif-severity" in capsys.readouterr().out


def test_an_unknown_step_is_a_usage_error(tmp_path):
    assert entrypoint.main({}, ["deploy"]) == 2


def test_new_output_counts_findings_the_change_adds(tmp_path, trivy_bin, trivy_cache):
    first = tmp_path / "first"
    first.mkdir()
    env = github_env(first, trivy_bin, trivy_cache, MLSECOPS_PATH=str(PROJECTS / "pipfile"))
    assert entrypoint.main(env) == 1
    assert read_outputs(first / "output")["new"] == ""  # no baseline, no claim
    second = tmp_path / "second"
    second.mkdir()
    env = github_env(
        second, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "pipfile"),
        MLSECOPS_BASELINE=str(first / "r.json"),
        MLSECOPS_FAIL_ON_NEW_ONLY="true",
    )  # fmt: skip
    assert entrypoint.main(env) == 0  # the same findings as the baseline: nothing new fails
    outputs = read_outputs(second / "output")
    assert outputs["new"] == "0"
    assert outputs["total"] == "4"


def test_summary_false_leaves_the_job_summary_alone(tmp_path, trivy_bin, trivy_cache):
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "pipfile"),
        MLSECOPS_SUMMARY="false",
    )  # fmt: skip
    assert entrypoint.main(env) == 1
    assert (tmp_path / "summary").read_text() == ""
    assert read_outputs(tmp_path / "output")["passed"] == "false"
