"""What the workflow run tells us through its environment, read in one place."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class GitHubContext:
    output_file: Path | None = None
    summary_file: Path | None = None
    api_url: str = "https://api.github.com"
    repository: str = ""  # owner/name
    pull_request: int | None = None
    head_repository: str = ""  # the PR's head repo, to tell fork PRs apart

    @property
    def is_fork_pull_request(self) -> bool:
        return bool(self.pull_request and self.head_repository) and (
            self.head_repository != self.repository
        )


def context_from_env(env: Mapping[str, str]) -> GitHubContext:
    """Build the context from GITHUB_* variables and the event payload file."""
    pr = _mapping(_event(env.get("GITHUB_EVENT_PATH", "")).get("pull_request"))
    number = pr.get("number")
    head_repo = _mapping(_mapping(pr.get("head")).get("repo"))
    return GitHubContext(
        output_file=_path(env.get("GITHUB_OUTPUT")),
        summary_file=_path(env.get("GITHUB_STEP_SUMMARY")),
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        repository=env.get("GITHUB_REPOSITORY", ""),
        pull_request=number if isinstance(number, int) else None,
        head_repository=str(head_repo.get("full_name", "")),
    )


def workspace_from_env(env: Mapping[str, str]) -> Path | None:
    """GITHUB_WORKSPACE: the checkout that report locations are relative to in Actions."""
    return _path(env.get("GITHUB_WORKSPACE"))


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def _event(path: str) -> dict[str, Any]:
    if not path:
        return {}
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
