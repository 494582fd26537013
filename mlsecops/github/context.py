"""What the workflow run tells us through its environment, read in one place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlsecops.errors import UsageError
from mlsecops.guarded.json_text import load_json
from mlsecops.guarded.limits import InputKind

# Workflow runs that Dependabot triggers get a read-only GITHUB_TOKEN (and no secrets), like
# pull requests from forks.
DEPENDABOT = "dependabot[bot]"


@dataclass(frozen=True)
class GitHubContext:
    """The run's facts the actions act on: env files, API, repository, pull request."""

    output_file: Path | None = None
    summary_file: Path | None = None
    api_url: str = "https://api.github.com"
    repository: str = ""  # owner/name
    pull_request: int | None = None
    head_repository: str = ""  # the PR's head repo, to tell fork PRs apart
    actor: str = ""  # who triggered the run
    event_name: str = ""
    # Why GITHUB_EVENT_PATH could not be read ("" when it was, or is unset): every step
    # calls `require_event` first, so a payload we could not read is an error, not a run
    # that quietly behaves as if there were no pull request.
    event_problem: UsageError | None = None

    def require_event(self) -> None:
        """Raise the event payload's problem (exit 2), if reading it failed."""
        if self.event_problem is not None:
            raise self.event_problem

    @property
    def is_fork_pull_request(self) -> bool:
        """A pull request whose head lives in another repository (a fork)."""
        return bool(self.pull_request and self.head_repository) and (
            self.head_repository != self.repository
        )

    @property
    def read_only_token_reason(self) -> str | None:
        """Why this run's GITHUB_TOKEN cannot write (None: nothing known against it).

        `pull_request` runs from forks and runs Dependabot triggers get a read-only token
        whatever the workflow asks for; `pull_request_target` runs in the base repository's
        context and are not read-only.
        """
        if self.event_name == "pull_request_target":
            return None
        if self.is_fork_pull_request:
            return "pull requests from forks get a read-only token"
        if self.actor == DEPENDABOT:
            return "runs triggered by Dependabot get a read-only token"
        return None


def context_from_env(env: Mapping[str, str]) -> GitHubContext:
    """Build the context from GITHUB_* variables and the event payload file."""
    event, problem = _event(env.get("GITHUB_EVENT_PATH", ""))
    pr = _mapping(event.get("pull_request"))
    number = pr.get("number")
    head_repo = _mapping(_mapping(pr.get("head")).get("repo"))
    return GitHubContext(
        output_file=_path(env.get("GITHUB_OUTPUT")),
        summary_file=_path(env.get("GITHUB_STEP_SUMMARY")),
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        repository=env.get("GITHUB_REPOSITORY", ""),
        pull_request=number if isinstance(number, int) else None,
        head_repository=str(head_repo.get("full_name", "")),
        actor=env.get("GITHUB_ACTOR", ""),
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        event_problem=problem,
    )


def workspace_from_env(env: Mapping[str, str]) -> Path | None:
    """GITHUB_WORKSPACE: the checkout that report locations are relative to in Actions."""
    return _path(env.get("GITHUB_WORKSPACE"))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _event(path: str) -> tuple[dict[str, Any], UsageError | None]:
    """The event payload the runner wrote, read under guard (a regular file within its
    size limit, UTF-8, bounded depth); ({}, the problem) when it cannot be read."""
    if not path:
        return {}, None
    fix = "GITHUB_EVENT_PATH must name the event payload the Actions runner writes"
    try:
        data = load_json(Path(path), InputKind.GITHUB_EVENT, fix)
    except UsageError as problem:
        return {}, problem
    return (data if isinstance(data, dict) else {}), None
