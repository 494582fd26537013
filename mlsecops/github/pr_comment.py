"""One sticky pull-request comment, found again by its marker AND its author, edited in place.

The marker alone is not enough: anyone can post a comment that contains it, and an update
would then write the report into a comment they own and can edit afterwards. So only a
comment written by the identity the token acts as (`github-actions[bot]` for GITHUB_TOKEN,
`<app-slug>[bot]` for a GitHub App's token) is ever edited; any other marked comment is left
alone and a comment of our own is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlsecops.github.api import GitHubApi, GitHubApiError

MARKER = "<!-- mlsecops-action: scan report (this comment is updated in place) -->"
# The login GitHub shows as the author of comments made with a workflow's GITHUB_TOKEN.
DEFAULT_AUTHOR = "github-actions[bot]"
MAX_BODY_CHARS = 65536
PERMISSION_FIX = (
    "give the job `permissions: pull-requests: write` (fork PRs get a read-only token: "
    "the report stays in the job summary)"
)


@dataclass(frozen=True)
class CommentResult:
    """What was done to the comment: created or updated, and where it is."""

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


def upsert_comment(
    api: GitHubApi,
    repository: str,
    pull_request: int,
    text: str,
    author: str = DEFAULT_AUTHOR,
) -> CommentResult:
    """Create the report comment, or update the one an earlier run of `author` left."""
    body = fit_body(text)
    existing = _find_own_comment(api, repository, pull_request, author)
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


def _find_own_comment(
    api: GitHubApi, repository: str, pull_request: int, author: str
) -> int | None:
    """The first comment by `author` that carries the marker, or None."""
    url: str | None = f"/repos/{repository}/issues/{pull_request}/comments?per_page=100"
    while url:
        response = api.request("GET", url)
        comments = _json(response, "list the PR's comments")
        for comment in comments if isinstance(comments, list) else []:
            if _is_ours(comment, author):
                return int(comment["id"])
        url = response.links.get("next", {}).get("url")
    return None


def _is_ours(comment: Any, author: str) -> bool:
    """Marked AND written by `author` (logins compare case-insensitively, as GitHub's do)."""
    if not isinstance(comment, dict) or MARKER not in str(comment.get("body", "")):
        return False
    user = comment.get("user")
    login = user.get("login") if isinstance(user, dict) else None
    return isinstance(login, str) and login.lower() == author.lower()


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
