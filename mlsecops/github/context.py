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
    workspace: Path | None = None
    api_url: str = "https://api.github.com"
    repository: str = ""  # owner/name
    event_name: str = ""
    pull_request: int | None = None
    head_repository: str = ""  # the PR's head repo, to tell fork PRs apart
    server_url: str = "https://github.com"
    sha: str = ""
    run_id: str = ""

    @property
    def is_fork_pull_request(self) -> bool:
        return bool(self.pull_request and self.head_repository) and (
            self.head_repository != self.repository
        )


def context_from_env(env: Mapping[str, str]) -> GitHubContext:
    """Build the context from GITHUB_* variables and the event payload file."""
    event = _event(env.get("GITHUB_EVENT_PATH", ""))
    pr = event.get("pull_request") if isinstance(event.get("pull_request"), dict) else None
    number = pr.get("number") if pr else None
    head = pr.get("head", {}) if pr else {}
    head_repo = head.get("repo") if isinstance(head, dict) else None
    return GitHubContext(
        output_file=_path(env.get("GITHUB_OUTPUT")),
        summary_file=_path(env.get("GITHUB_STEP_SUMMARY")),
        workspace=_path(env.get("GITHUB_WORKSPACE")),
        api_url=env.get("GITHUB_API_URL") or "https://api.github.com",
        repository=env.get("GITHUB_REPOSITORY", ""),
        event_name=env.get("GITHUB_EVENT_NAME", ""),
        pull_request=number if isinstance(number, int) else None,
        head_repository=(head_repo or {}).get("full_name", "")
        if isinstance(head_repo, dict)
        else "",
        server_url=env.get("GITHUB_SERVER_URL") or "https://github.com",
        sha=env.get("GITHUB_SHA", ""),
        run_id=env.get("GITHUB_RUN_ID", ""),
    )


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
