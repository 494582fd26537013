"""entrypoint.py: action inputs from the environment, through the core, to GitHub's files."""

from __future__ import annotations

import json
from pathlib import Path

import entrypoint
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


def test_pull_request_gets_one_comment_and_outputs(tmp_path, trivy_bin, trivy_cache, httpserver):
    path = "/repos/octo/ml/issues/7/comments"
    httpserver.expect_request(path, method="GET").respond_with_json([])
    httpserver.expect_request(path, method="POST").respond_with_json(
        {"id": 9, "html_url": "https://gh/c/9"}, status=201
    )
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "pipfile"),
        MLSECOPS_PR_COMMENT="true",
        MLSECOPS_GITHUB_TOKEN="t0ken",
        GITHUB_API_URL=httpserver.url_for("").rstrip("/"),
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 1
    [(request, _)] = [c for c in httpserver.log if c[0].method == "POST"]
    body = request.get_json()["body"]
    assert "mlsecops: FAILED" in body and "CVE-2020-14343" in body
    outputs = read_outputs(tmp_path / "output")
    assert outputs["passed"] == "false"
    assert outputs["critical"] == "1" and outputs["medium"] == "1" and outputs["total"] == "2"
    assert outputs["sarif-file"] == str(tmp_path / "r.sarif")
    summary = (tmp_path / "summary").read_text()
    assert summary.startswith("## ❌ mlsecops: FAILED")


def test_fork_pull_request_gets_a_note_not_a_failure(tmp_path, trivy_bin, trivy_cache):
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "clean"),
        MLSECOPS_PR_COMMENT="true",
        MLSECOPS_GITHUB_TOKEN="read-only",
        GITHUB_API_URL="http://127.0.0.1:9",  # would fail if anything were sent
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "mallory/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 0
    assert "pull requests from forks get a read-only token" in (tmp_path / "summary").read_text()


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
        MLSECOPS_GITHUB_TOKEN="t0ken",
        GITHUB_API_URL=httpserver.url_for("").rstrip("/"),
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip
    assert entrypoint.main(env) == 0
    out = capsys.readouterr().out
    assert "::warning::PR comment not posted" in out
    assert "pull-requests: write" in (tmp_path / "summary").read_text()


def test_configuration_errors_are_one_annotated_line(tmp_path, trivy_bin, trivy_cache, capsys):
    env = github_env(tmp_path, trivy_bin, trivy_cache, MLSECOPS_FAIL_ON="SEVERE")
    assert entrypoint.main(env) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("::error title=mlsecops::--fail-on 'SEVERE'")
    assert len(captured.err.strip().splitlines()) == 1


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
    assert outputs["total"] == "2"


def test_summary_false_leaves_the_job_summary_alone(tmp_path, trivy_bin, trivy_cache):
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(PROJECTS / "pipfile"),
        MLSECOPS_SUMMARY="false",
    )  # fmt: skip
    assert entrypoint.main(env) == 1
    assert (tmp_path / "summary").read_text() == ""
    assert read_outputs(tmp_path / "output")["passed"] == "false"
