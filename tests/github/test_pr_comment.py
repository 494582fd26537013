"""The sticky PR comment against a real local HTTP server speaking GitHub's REST endpoints."""

from __future__ import annotations

import json
import re

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mlsecops.github.api import GitHubApi, GitHubApiError
from mlsecops.github.pr_comment import (
    DEFAULT_AUTHOR,
    MARKER,
    MAX_BODY_CHARS,
    fit_body,
    upsert_comment,
)

REPO = "octo/ml"
PR = 7


class FakeIssueComments:
    """Just enough of GitHub's issue-comments API, with state, to see create-then-edit."""

    def __init__(self, server: HTTPServer, token_login: str = DEFAULT_AUTHOR) -> None:
        self.server = server
        self.token_login = token_login  # who GitHub says wrote what this token posts
        self.comments: list[dict] = [
            {"id": 1, "body": "LGTM", "user": {"login": "alice"}},
            {"id": 2, "body": "another", "user": {"login": "bob"}},
        ]
        self.requests: list[tuple[str, str]] = []
        self.next_id = 100
        self.auth: list[str] = []
        base = f"/repos/{REPO}/issues"
        server.expect_request(f"{base}/{PR}/comments", method="GET").respond_with_handler(self.list)
        server.expect_request(f"{base}/{PR}/comments", method="POST").respond_with_handler(
            self.create
        )
        server.expect_request(
            re.compile(rf"{base}/comments/\d+"), method="PATCH"
        ).respond_with_handler(self.update)

    def list(self, request: Request) -> Response:
        self.requests.append(("GET", request.full_path))
        self.auth.append(request.headers.get("Authorization", ""))
        page = int(request.args.get("page", "1"))
        per_page = 1  # force pagination so the marker is found on a later page
        items = self.comments[(page - 1) * per_page : page * per_page]
        headers = {}
        if page * per_page < len(self.comments):
            url = self.server.url_for(f"/repos/{REPO}/issues/{PR}/comments")
            headers["Link"] = f'<{url}?per_page=100&page={page + 1}>; rel="next"'
        return Response(json.dumps(items), headers=headers, content_type="application/json")

    def create(self, request: Request) -> Response:
        self.requests.append(("POST", request.path))
        body = request.get_json()["body"]
        comment = {
            "id": self.next_id,
            "body": body,
            "html_url": f"https://gh/c/{self.next_id}",
            "user": {"login": self.token_login, "type": "Bot"},
        }
        self.next_id += 1
        self.comments.append(comment)
        return Response(json.dumps(comment), status=201, content_type="application/json")

    def update(self, request: Request) -> Response:
        self.requests.append(("PATCH", request.path))
        comment_id = int(request.path.rsplit("/", 1)[1])
        comment = next(c for c in self.comments if c["id"] == comment_id)
        comment["body"] = request.get_json()["body"]
        comment["html_url"] = f"https://gh/c/{comment_id}"
        return Response(json.dumps(comment), content_type="application/json")


def api(server: HTTPServer, **kwargs) -> GitHubApi:
    return GitHubApi(server.url_for(""), "t0ken", backoff_seconds=0.001, **kwargs)


def test_created_once_then_edited_in_place(httpserver: HTTPServer):
    fake = FakeIssueComments(httpserver)
    first = upsert_comment(api(httpserver), REPO, PR, "## ❌ FAILED, 3 findings")
    assert first.action == "created"
    second = upsert_comment(api(httpserver), REPO, PR, "## ✅ PASSED")
    assert second.action == "updated"
    assert second.comment_id == first.comment_id
    ours = [c for c in fake.comments if MARKER in c["body"]]
    assert len(ours) == 1
    assert ours[0]["body"].endswith("## ✅ PASSED")
    assert [m for m, _ in fake.requests].count("POST") == 1
    assert [m for m, _ in fake.requests].count("PATCH") == 1
    assert set(fake.auth) == {"Bearer t0ken"}


def test_an_attackers_marker_comment_is_never_edited(httpserver: HTTPServer):
    fake = FakeIssueComments(httpserver)
    # Anyone can post the marker; this comment would get the report if the marker decided.
    fake.comments.insert(0, {"id": 66, "body": f"{MARKER}\nmine now", "user": {"login": "mallory"}})
    first = upsert_comment(api(httpserver), REPO, PR, "## ❌ FAILED")
    second = upsert_comment(api(httpserver), REPO, PR, "## ✅ PASSED")
    assert (first.action, second.action) == ("created", "updated")
    assert second.comment_id == first.comment_id != 66
    assert ("PATCH", f"/repos/{REPO}/issues/comments/66") not in fake.requests
    assert next(c for c in fake.comments if c["id"] == 66)["body"] == f"{MARKER}\nmine now"


def test_a_comment_by_us_without_the_marker_is_not_ours_either(httpserver: HTTPServer):
    fake = FakeIssueComments(httpserver)
    fake.comments.append({"id": 50, "body": "a note", "user": {"login": DEFAULT_AUTHOR}})
    assert upsert_comment(api(httpserver), REPO, PR, "report").action == "created"
    assert not [r for r in fake.requests if r[0] == "PATCH"]


def test_an_app_token_finds_its_own_comment_by_the_apps_login(httpserver: HTTPServer):
    fake = FakeIssueComments(httpserver, token_login="acme-ci[bot]")
    # A marked comment from GITHUB_TOKEN's identity is another author for an app token.
    fake.comments.append({"id": 70, "body": MARKER, "user": {"login": DEFAULT_AUTHOR}})
    first = upsert_comment(api(httpserver), REPO, PR, "one", author="acme-ci[bot]")
    second = upsert_comment(api(httpserver), REPO, PR, "two", author="ACME-CI[bot]")
    assert first.action == "created" and second.action == "updated"
    assert second.comment_id == first.comment_id != 70
    assert ("PATCH", f"/repos/{REPO}/issues/comments/70") not in fake.requests


def test_body_fits_githubs_limit_with_a_note():
    body = fit_body("x" * 100_000)
    assert len(body) <= MAX_BODY_CHARS
    assert body.startswith(MARKER)
    assert "Truncated" in body


def test_retries_5xx_then_succeeds(httpserver: HTTPServer):
    sleeps: list[float] = []
    path = f"/repos/{REPO}/issues/{PR}/comments"
    httpserver.expect_ordered_request(path, method="GET").respond_with_data("down", status=502)
    httpserver.expect_ordered_request(path, method="GET").respond_with_data("down", status=503)
    httpserver.expect_ordered_request(path, method="GET").respond_with_json([])
    httpserver.expect_ordered_request(path, method="POST").respond_with_json(
        {"id": 5, "html_url": "u"}, status=201
    )
    result = upsert_comment(api(httpserver, sleep=sleeps.append), REPO, PR, "report")
    assert result.action == "created"
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0]


def test_secondary_rate_limit_waits_retry_after(httpserver: HTTPServer):
    sleeps: list[float] = []
    path = f"/repos/{REPO}/issues/{PR}/comments"
    httpserver.expect_ordered_request(path, method="GET").respond_with_json(
        {"message": "You have exceeded a secondary rate limit"},
        status=403,
        headers={"retry-after": "7"},
    )
    httpserver.expect_ordered_request(path, method="GET").respond_with_json([])
    httpserver.expect_ordered_request(path, method="POST").respond_with_json(
        {"id": 5, "html_url": "u"}, status=201
    )
    upsert_comment(api(httpserver, sleep=sleeps.append), REPO, PR, "report")
    assert sleeps == [7.0]


@pytest.mark.parametrize("status", [403, 404])
def test_missing_permission_is_explained(httpserver: HTTPServer, status: int):
    path = f"/repos/{REPO}/issues/{PR}/comments"
    httpserver.expect_request(path, method="GET").respond_with_json([])
    httpserver.expect_request(path, method="POST").respond_with_json(
        {"message": "Resource not accessible by integration"}, status=status
    )
    with pytest.raises(GitHubApiError) as caught:
        upsert_comment(api(httpserver, sleep=lambda s: None), REPO, PR, "report")
    line = caught.value.one_line()
    assert f"answered {status}" in line
    assert "pull-requests: write" in line
    assert "\n" not in line


def test_gives_up_after_retries(httpserver: HTTPServer):
    path = f"/repos/{REPO}/issues/{PR}/comments"
    httpserver.expect_request(path, method="GET").respond_with_data("boom", status=500)
    sleeps: list[float] = []
    with pytest.raises(GitHubApiError, match="answered 500"):
        upsert_comment(api(httpserver, sleep=sleeps.append, retries=2), REPO, PR, "report")
    assert len(sleeps) == 2
