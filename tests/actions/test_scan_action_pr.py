"""The scan action on pull requests: the token, the PR comment, the base commit, read-only tokens.

The composite steps run for real with bash; GitHub's API is a pytest-httpserver on 127.0.0.1
(the one fake: it cannot run here), and actions/checkout a stand-in that copies or fails.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mlsecops.core.text import md_text
from mlsecops.github.pr_comment import DEFAULT_AUTHOR, MARKER
from tests.actions.conftest import PROJECTS, TOKEN, pr_event

REPO_NAME = "octo/ml-project"
COMMENTS = f"/repos/{REPO_NAME}/issues/7/comments"


class FakeGitHub:
    """The issue-comments endpoints, with an attacker's marker comment already there."""

    def __init__(self, server: HTTPServer) -> None:
        self.comments: list[dict] = [
            {"id": 66, "body": f"{MARKER}\nplease edit me", "user": {"login": "mallory"}}
        ]
        self.calls: list[tuple[str, str, str]] = []  # method, path, Authorization
        server.expect_request(COMMENTS, method="GET").respond_with_handler(self.list)
        server.expect_request(COMMENTS, method="POST").respond_with_handler(self.create)
        server.expect_request(
            re.compile(rf"/repos/{REPO_NAME}/issues/comments/\d+"), method="PATCH"
        ).respond_with_handler(self.update)
        self.url = server.url_for("").rstrip("/")

    def _log(self, request: Request) -> None:
        self.calls.append((request.method, request.path, request.headers.get("Authorization")))

    def list(self, request: Request) -> Response:
        self._log(request)
        return Response(json.dumps(self.comments), content_type="application/json")

    def create(self, request: Request) -> Response:
        self._log(request)
        comment = {"id": 100 + len(self.comments), "body": request.get_json()["body"]}
        comment["user"] = {"login": DEFAULT_AUTHOR}
        self.comments.append(comment)
        return Response(json.dumps(comment), status=201, content_type="application/json")

    def update(self, request: Request) -> Response:
        self._log(request)
        comment = next(c for c in self.comments if request.path.endswith(f"/{c['id']}"))
        comment["body"] = request.get_json()["body"]
        return Response(json.dumps(comment), content_type="application/json")


def pr_env(directory: Path, api_url: str = "http://127.0.0.1:9", **extra: str) -> dict:
    return {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(pr_event(directory)),
        "GITHUB_API_URL": api_url,
        "GITHUB_ACTOR": "alice",
        **extra,
    }


def env_recording_trivy(directory: Path, real: Path) -> Path:
    """A `trivy` that writes its environment to a file, then runs the real one."""
    directory.mkdir()
    shim = directory / "trivy"
    shim.write_text(f'#!/bin/sh\nenv >>"{directory}/seen.env"\nexec "{real}" "$@"\n')
    shim.chmod(0o755)
    return directory


# --- the token ---------------------------------------------------------------------------


def test_the_scan_step_never_sees_a_token(runner, tmp_path, trivy_bin, httpserver):
    github = FakeGitHub(httpserver)
    shim = env_recording_trivy(tmp_path / "shim", trivy_bin)
    job_env = {
        # What a workflow may put in the job's env for its other steps.
        "GITHUB_TOKEN": "ghs_job-level-token",
        "GH_TOKEN": "ghs_job-level-token",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "oidc-request-token",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "http://127.0.0.1:9/oidc",
    }
    run = runner(
        "requirements",
        env={**pr_env(tmp_path, github.url), **job_env},
        path_first=shim,
        **{"pr-comment": "true"},
    )
    assert run.outputs["exit-code"] == "1"
    seen = (shim / "seen.env").read_text()  # every Trivy run: install check and scan
    assert "trivy" in run.step_outputs["trivy"]["trivy-path"]
    for secret in (TOKEN, *job_env.values()):
        assert secret not in seen
    for step in run.steps:
        if step.name != "Post the PR comment":
            assert TOKEN not in json.dumps(step.env), step.name
    # The comment step got it, and used it.
    assert run.step("Post the PR comment").env["MLSECOPS_GITHUB_TOKEN"] == TOKEN
    assert {auth for _, _, auth in github.calls} == {f"Bearer {TOKEN}"}


def test_the_comment_is_ours_alone_and_updated_in_place(runner, tmp_path, httpserver):
    github = FakeGitHub(httpserver)
    first = runner("requirements", env=pr_env(tmp_path, github.url), **{"pr-comment": "true"})
    assert first.outputs["exit-code"] == "1"
    second = runner("clean", env=pr_env(tmp_path, github.url), **{"pr-comment": "true"})
    assert second.outputs["exit-code"] == "0"
    methods = [(method, path) for method, path, _ in github.calls]
    assert methods.count(("POST", COMMENTS)) == 1
    assert ("PATCH", f"/repos/{REPO_NAME}/issues/comments/66") not in methods
    [ours] = [c for c in github.comments if c["user"]["login"] == DEFAULT_AUTHOR]
    assert "mlsecops: PASSED" in ours["body"]
    assert github.comments[0]["body"] == f"{MARKER}\nplease edit me"  # mallory's, untouched


def test_an_app_tokens_author_is_configurable(runner, tmp_path, httpserver):
    github = FakeGitHub(httpserver)
    github.comments.append({"id": 80, "body": MARKER, "user": {"login": "acme-ci[bot]"}})
    run = runner(
        "clean",
        env=pr_env(tmp_path, github.url),
        **{"pr-comment": "true", "pr-comment-author": "acme-ci[bot]"},
    )
    assert run.outputs["exit-code"] == "0"
    methods = [(method, path) for method, path, _ in github.calls]
    assert ("PATCH", f"/repos/{REPO_NAME}/issues/comments/80") in methods
    assert ("POST", COMMENTS) not in methods


def test_no_pr_comment_unless_asked(runner, tmp_path, httpserver):
    github = FakeGitHub(httpserver)
    run = runner("clean", env=pr_env(tmp_path, github.url))
    assert run.step("Post the PR comment").kind == "skipped"
    assert github.calls == []


# --- read-only tokens: forks and Dependabot ------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "why"),
    [
        ({"head": "mallory/ml-project"}, "pull requests from forks get a read-only token"),
        ({"GITHUB_ACTOR": "dependabot[bot]"}, "runs triggered by Dependabot get a read-only token"),
    ],
)
def test_upload_sarif_with_a_read_only_token_is_a_warning_and_a_note(runner, tmp_path, extra, why):
    env = pr_env(tmp_path, **{k: v for k, v in extra.items() if k != "head"})
    if "head" in extra:
        env["GITHUB_EVENT_PATH"] = str(pr_event(tmp_path, head_repo=extra["head"]))
    run = runner("clean", env=env, **{"upload-sarif": "true", "pr-comment": "true"})
    assert not run.failed
    assert run.outputs["exit-code"] == "0"
    assert run.step("Upload SARIF to code scanning").kind == "skipped"
    assert run.step("Post the PR comment").kind == "skipped"
    assert md_text(f"No SARIF upload to code scanning: {why}") in run.summary
    assert md_text(f"No PR comment: {why}") in run.summary
    assert "::warning title=mlsecops::No SARIF upload" in run.step("Scan").stdout


def test_a_failed_upload_is_a_warning_and_a_note_never_a_red_job(runner, tmp_path):
    run = runner(
        "clean",
        env=pr_env(tmp_path),
        stand_ins={"github/codeql-action/upload-sarif": lambda with_: "failure"},
        **{"upload-sarif": "true"},
    )
    assert run.step("Upload SARIF to code scanning").outcome == "failure"
    assert not run.failed
    assert run.outputs["passed"] == "true"
    gate = run.step("Enforce the gate")
    assert "::warning title=mlsecops::The SARIF upload to code scanning failed" in gate.stdout
    assert "> The SARIF upload to code scanning failed" in run.summary


# --- the base commit for fail-on-new-only --------------------------------------------------


def checkout_of(project: str, workspace: Path):
    """actions/checkout as a stand-in: the base commit is `project`'s files."""

    def checkout(with_: dict[str, str]) -> str:
        assert with_["persist-credentials"] == "false"
        shutil.copytree(PROJECTS / project, workspace / with_["path"] / "app")
        return "success"

    return checkout


def failed_checkout(workspace: Path):
    def checkout(with_: dict[str, str]) -> str:
        (workspace / with_["path"] / "app").mkdir(parents=True)  # a partial tree
        return "failure"

    return checkout


def base_run(runner, tmp_path, stand_in):
    shutil.copytree(PROJECTS / "requirements", runner.workspace / "app")
    return runner(
        "",
        env=pr_env(tmp_path),
        github={
            "event_name": "pull_request",
            "event": {"pull_request": {"base": {"sha": "1" * 40}}},
        },
        stand_ins={"actions/checkout": stand_in},
        path="app",
        **{"fail-on-new-only": "true"},
    )


def test_with_the_base_checked_out_only_new_findings_fail(runner, tmp_path):
    run = base_run(runner, tmp_path, checkout_of("requirements", runner.workspace))
    assert run.step("Scan the base commit").outcome == "success"
    assert run.outputs["exit-code"] == "0", run.summary
    assert run.outputs["new"] == "0"
    assert not (runner.workspace / ".mlsecops-base").exists()  # moved out of the workspace


def test_a_failed_base_checkout_counts_every_finding_as_new_with_a_warning(runner, tmp_path):
    """The README's promise: a warning, every finding new; not "scan step did not finish"."""
    run = base_run(runner, tmp_path, failed_checkout(runner.workspace))
    assert run.step("Check out the base commit").outcome == "failure"
    base_scan = run.step("Scan the base commit")
    assert base_scan.outcome == "success"
    assert "checking out the base commit failed (see that step); every finding counts as new" in (
        base_scan.stdout
    )
    assert run.step("Scan").outcome == "success"
    assert run.outputs["exit-code"] == "1"  # judged, stricter: all findings are new
    assert run.outputs["new"] == run.outputs["total"] == "10"
    assert "mlsecops: FAILED" in run.summary
    assert not (runner.workspace / ".mlsecops-base").exists()  # the partial tree is gone
