"""One sticky pull-request comment, found again by a hidden marker and edited in place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlsecops.github.api import GitHubApi, GitHubApiError

MARKER = "<!-- mlsecops-action: scan report (this comment is updated in place) -->"
MAX_BODY_CHARS = 65536
PERMISSION_FIX = (
    "give the job `permissions: pull-requests: write` (fork PRs get a read-only token: "
    "the report stays in the job summary)"
)


@dataclass(frozen=True)
class CommentResult:
    action: str  # "created" or "updated"
    comment_id: int
    url: str


def fit_body(text: str) -> str:
    """The marker plus `text`, cut under GitHub's 65,536-character limit with a note."""
    body = f"{MARKER}\n{text}"
    if len(body) <= MAX_BODY_CHARS:
        return body
    note = "\n\n> **Truncated** to fit a PR comment; the job summary has the full report.\n"
    return body[: MAX_BODY_CHARS - len(note)] + note


def upsert_comment(api: GitHubApi, repository: str, pull_request: int, text: str) -> CommentResult:
    """Create the report comment, or update the one an earlier run left."""
    body = fit_body(text)
    existing = _find_marked_comment(api, repository, pull_request)
    if existing is None:
        response = api.request(
            "POST", f"/repos/{repository}/issues/{pull_request}/comments", json={"body": body}
        )
        data = _json(response, "create the PR comment")
        return CommentResult("created", int(data["id"]), str(data.get("html_url", "")))
    response = api.request(
        "PATCH", f"/repos/{repository}/issues/comments/{existing}", json={"body": body}
    )
    data = _json(response, "update the PR comment")
    return CommentResult("updated", int(data["id"]), str(data.get("html_url", "")))


def _find_marked_comment(api: GitHubApi, repository: str, pull_request: int) -> int | None:
    url: str | None = f"/repos/{repository}/issues/{pull_request}/comments?per_page=100"
    while url:
        response = api.request("GET", url)
        comments = _json(response, "list the PR's comments")
        for comment in comments if isinstance(comments, list) else []:
            if isinstance(comment, dict) and MARKER in str(comment.get("body", "")):
                return int(comment["id"])
        url = response.links.get("next", {}).get("url")
    return None


def _json(response: Any, doing: str) -> Any:
    if response.status_code in (401, 403, 404):
        raise GitHubApiError(
            f"cannot {doing}: GitHub answered {response.status_code} ({_message(response)})",
            PERMISSION_FIX,
            status=response.status_code,
        )
    if not 200 <= response.status_code < 300:
        raise GitHubApiError(
            f"cannot {doing}: GitHub answered {response.status_code} ({_message(response)})",
            "retry the job later",
            status=response.status_code,
        )
    try:
        return response.json()
    except ValueError as exc:
        raise GitHubApiError(f"cannot {doing}: GitHub's answer is not JSON") from exc


def _message(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200] or "no message"
    return str(data.get("message", "no message")) if isinstance(data, dict) else "no message"
