"""Issue 11 (5, 6): hostile names from a PR or a model never act in our output.

A model file whose name carries a newline and `::warning::`, holding a pickle whose global is
named `@octocat ![x](http://127.0.0.1/p.png)` plus a newline and `::warning::`, scanned by
the real CLI: stdout and stderr hold no workflow command but our own annotation; the job
summary, the PR comment (posted to a local fake of GitHub's API) and SARIF's help.markdown
render with no live mention, image, link or HTML (cmark-gfm, GitHub's parser), and SARIF's
plain-text messages hold no embedded link (SARIF 3.11.6) and no line break.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mlsecops.core.rules import rule
from mlsecops.github.api import GitHubApi
from mlsecops.github.pr_comment import MARKER, upsert_comment
from tests.modelscan.modelscan_corpus import STOP, TRUE, call1, proto, sglob
from tests.support.hostile import MENTION_AND_PIXEL, NEWLINE_COMMAND
from tests.support.markdown import live_parts, render
from tests.support.runner_log import commands_in
from tests.support.sarif_text import embedded_links
from tests.support.scan_cli import one_line_error, scan_cli

GLOBAL_NAME = "run\n::warning::forged by a pickle global"
# The one link the summary may hold: our own rule's id, to its section of docs/rules.md.
OUR_LINKS = frozenset({rule("MLS-PICKLE-CALL").help_uri})


@pytest.fixture
def hostile_project(tmp_path: Path) -> Path:
    """A project with one poisoned-looking (harmless: it calls nothing real) pickle."""
    project = tmp_path / "project"
    project.mkdir()
    data = proto(4) + call1(sglob(MENTION_AND_PIXEL, GLOBAL_NAME), TRUE) + STOP
    (project / NEWLINE_COMMAND).write_bytes(data)
    return project


@pytest.fixture
def scanned(hostile_project: Path, trivy_bin: Path, trivy_cache: Path, tmp_path: Path):
    out = tmp_path / "out"
    out.mkdir()
    proc = scan_cli(
        trivy_bin,
        trivy_cache,
        str(hostile_project),
        "--model",
        str(hostile_project),
        "--annotations",
        "--json",
        str(out / "report.json"),
        "--sarif",
        str(out / "report.sarif"),
        "--summary",
        str(out / "summary.md"),
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr
    return proc, out


def test_the_attack_reaches_the_reports(scanned):
    # Without this, the tests below could pass on a scan that never saw the names.
    _, out = scanned
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    [finding] = report["findings"]
    assert MENTION_AND_PIXEL in finding["package"]
    assert "::warning::forged by a pickle global" in finding["package"]
    assert NEWLINE_COMMAND in finding["target"]


def test_stdout_and_stderr_hold_no_forged_command(scanned):
    proc, _ = scanned
    # Exactly our own annotation for the one failing finding, nothing the names forged.
    assert commands_in(proc.stdout) == ["error"]
    assert commands_in(proc.stderr) == []
    assert "forged by a file name" in proc.stdout  # shown, escaped
    for line in proc.stdout.splitlines():
        assert not line.lstrip().startswith("::warning")


def test_summary_renders_inert(scanned):
    _, out = scanned
    summary = (out / "summary.md").read_text(encoding="utf-8")
    assert "octocat" in summary
    assert live_parts(summary, allowed_hrefs=OUR_LINKS) == []
    assert "<img" not in render(summary)


def test_sarif_help_markdown_renders_inert(scanned):
    _, out = scanned
    sarif = json.loads((out / "report.sarif").read_text(encoding="utf-8"))
    [rule] = sarif["runs"][0]["tool"]["driver"]["rules"]
    markdown = rule["help"]["markdown"]
    assert "octocat" in markdown
    assert live_parts(markdown) == []


def test_sarif_plain_text_messages_hold_no_link_or_line_break(scanned):
    _, out = scanned
    [run] = json.loads((out / "report.sarif").read_text(encoding="utf-8"))["runs"]
    [result] = run["results"]
    text = result["message"]["text"]
    assert "octocat" in text and "forged by a pickle global" in text
    assert embedded_links(text) == [] and text.isprintable()


def test_pr_comment_renders_inert(scanned, httpserver: HTTPServer):
    _, out = scanned
    posted: list[str] = []

    def create(request: Request) -> Response:
        posted.append(request.get_json()["body"])
        comment = {"id": 5, "html_url": "https://gh/c/5"}
        return Response(json.dumps(comment), status=201, content_type="application/json")

    base = "/repos/octo/ml/issues/7/comments"
    httpserver.expect_request(base, method="GET").respond_with_json([])
    httpserver.expect_request(base, method="POST").respond_with_handler(create)
    api = GitHubApi(httpserver.url_for("/").rstrip("/"), "token")
    summary = (out / "summary.md").read_text(encoding="utf-8")
    upsert_comment(api, "octo/ml", 7, summary)
    [body] = posted
    assert body.startswith(MARKER)
    assert "octocat" in body
    assert live_parts(body.removeprefix(MARKER), allowed_hrefs=OUR_LINKS) == []


def test_an_error_naming_a_hostile_path_is_one_inert_line(trivy_bin, trivy_cache, tmp_path):
    proc = scan_cli(trivy_bin, trivy_cache, str(tmp_path), "--model", NEWLINE_COMMAND)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "forged by a file name" in line
    assert commands_in(proc.stderr) == []
    assert commands_in(proc.stdout) == []
