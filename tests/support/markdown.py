"""Render Markdown with cmark-gfm (GitHub's own parser) and list what would come alive.

GitHub renders with cmark-gfm, sanitises the HTML, then links @mentions and #references in
the text that is not inside code or a link. `live_parts` does the same reading: it renders
with raw HTML let through (stricter than GitHub, which strips some of it) and reports every
link, image, raw HTML tag outside `allowed_tags`, mention and issue reference.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

# What our own Markdown produces: structure, emphasis, code, details blocks.
OUR_TAGS = frozenset(
    {"p", "br", "strong", "em", "b", "code", "pre", "h2", "h3", "h4", "ul", "ol", "li", "hr"}
    | {"table", "thead", "tbody", "tr", "th", "td", "details", "summary", "blockquote"}
)
# GitHub's user mention and issue reference patterns, close enough for a test oracle.
_MENTION = re.compile(r"(?:^|[^\w`])@[A-Za-z0-9]")
_REFERENCE = re.compile(r"(?:^|[^\w&])#\d|\bGH-\d", re.IGNORECASE)
_SKIP_TEXT_IN = frozenset({"code", "pre", "a"})


def render(markdown: str) -> str:
    """GitHub-flavoured HTML for `markdown`, raw HTML kept (so a leak shows)."""
    return str(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )


class _Collector(HTMLParser):
    def __init__(self, allowed_tags: frozenset[str], allowed_hrefs: frozenset[str]) -> None:
        super().__init__(convert_charrefs=True)
        self.allowed_tags = allowed_tags
        self.allowed_hrefs = allowed_hrefs
        self.live: list[str] = []
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href") not in self.allowed_hrefs:
            self.live.append(f"link to {values.get('href')!r}")
        elif tag == "img":
            self.live.append(f"image from {values.get('src')!r}")
        elif tag != "a" and tag not in self.allowed_tags:
            self.live.append(f"HTML <{tag}>")
        if tag not in ("br", "hr", "img"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag) :]

    def handle_comment(self, data: str) -> None:
        self.live.append(f"HTML comment {data!r}")

    def handle_data(self, data: str) -> None:
        if _SKIP_TEXT_IN.intersection(self.open):
            return
        if _MENTION.search(data):
            self.live.append(f"mention in {data!r}")
        if _REFERENCE.search(data):
            self.live.append(f"issue reference in {data!r}")


def live_parts(
    markdown: str,
    *,
    allowed_tags: frozenset[str] = OUR_TAGS,
    allowed_hrefs: frozenset[str] = frozenset(),
) -> list[str]:
    """Everything in `markdown` that GitHub would render live beyond what is allowed."""
    collector = _Collector(allowed_tags, allowed_hrefs)
    collector.feed(render(markdown))
    collector.close()
    return collector.live


def table_cells(markdown: str) -> list[list[str]]:
    """The body rows of every table in `markdown`, as the rendered cells' HTML."""
    html = render(markdown)
    rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.DOTALL)
    cells = [re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.DOTALL) for row in rows]
    return [row for row in cells if row]
