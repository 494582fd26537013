"""The PR-comment step of the scan action: the ONLY step that gets the token.

It runs after the scan and runs nothing of the scanned project: it reads the comment body
the scan step left under RUNNER_TEMP and posts it (mlsecops/github/pr_comment). Keeping the
token out of the scan step means that nothing the scan runs (Trivy, pip, whatever a project
file leads them to) can read it from its environment. A comment that cannot be posted is a
warning and a note in the job summary, never a failed job: the verdict is the scan's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from mlsecops.actions.inputs import Inputs
from mlsecops.core.text import md_text
from mlsecops.errors import EXIT_PASSED, UsageError
from mlsecops.github.api import GitHubApi, GitHubApiError
from mlsecops.github.commands import command
from mlsecops.github.context import context_from_env
from mlsecops.github.env_files import append
from mlsecops.github.pr_comment import DEFAULT_AUTHOR, upsert_comment


def post_comment(env: Mapping[str, str]) -> int:
    """Post or update the sticky comment from the body file; exit 0 unless the call is wrong."""
    inputs = Inputs(env)
    github = context_from_env(env)
    github.require_event()
    body_file = inputs.path("pr-comment-file")
    if body_file is None or github.pull_request is None:
        raise UsageError("the PR-comment step needs a body file and a pull request event")
    token = inputs.text("github-token")
    if not token:
        return _not_posted(env, "No PR comment: no github-token was given.")
    body = body_file.read_text(encoding="utf-8")
    api = GitHubApi(github.api_url, token)
    author = inputs.text("pr-comment-author", DEFAULT_AUTHOR)
    try:
        result = upsert_comment(api, github.repository, github.pull_request, body, author)
    except GitHubApiError as error:
        return _not_posted(env, f"PR comment not posted: {error.one_line()}")
    print(f"PR comment {result.action}: {result.url}")
    return EXIT_PASSED


def _not_posted(env: Mapping[str, str], note: str) -> int:
    """A warning in the log and a note under the report in the job summary."""
    print(command("warning", note, title="mlsecops"))
    summary = env.get("GITHUB_STEP_SUMMARY", "")
    if summary and Inputs(env).flag("summary", default=True):
        append(Path(summary), f"\n> {md_text(note, limit=None)}\n")
    return EXIT_PASSED
