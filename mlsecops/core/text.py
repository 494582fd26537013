"""Untrusted text -> display text: the ONE place that makes names and contents safe to show.

File names, file contents, package names, advisory titles and descriptions, pickle global
names and model strings are written by whoever wrote the repository, the package or the
model. Every such string passes through here on its way to a person:

- `log_text`: for stdout, stderr and workflow-command messages. One line; every character
  that is not printable (C0, C1, DEL, line and paragraph separators, bidi overrides, other
  format characters, non-ASCII spaces, lone surrogates from undecodable file names) is shown
  as a backslash escape; and the two sequences the Actions runner reads as commands are
  broken: `::` (a command when a line starts with it, after leading blanks) and `##[` (the
  old syntax, a command ANYWHERE in a line). `guard_output` is the same rule applied to whole
  lines we compose, as a second fence at the point of printing.
- `plain_text`: for SARIF's plain-text messages (a result's message, a rule's descriptions
  and help text), which viewers render with embedded links (`[text](uri)`, SARIF 3.11.6):
  one line, controls visible, and when a square bracket is in it, every bracket and
  backslash backslash-escaped, so no link can form.
- `md_text` (prose), `md_code` (a name, as a code span) and `md_url` / `md_link`: for the
  job summary, the PR comment and SARIF `help.markdown`. No live @mention, issue reference,
  image, link, autolink or HTML comes out of untrusted text, and a table cell stays one cell.
  Links are made only to the advisory databases and this project's docs (`LINK_PREFIXES`).

GitHub's renderer skips mentions, references and autolinks inside code spans; everything
else here relies on CommonMark's rule that a backslash-escaped ASCII punctuation character
is a literal. tests/core/test_text.py checks both with cmark-gfm, GitHub's own parser.
"""

from __future__ import annotations

import re

# A bound on what one string may add to a log line or a Markdown page: an advisory text or
# a pickle string can be megabytes, and a single message is useless past a few screens.
MAX_DISPLAY_CHARS = 4000
ELLIPSIS = "…"

# Links in our Markdown go only here: the advisory databases Trivy's data points to, and
# this project's own rule docs. Any other URL is shown as inert text.
LINK_PREFIXES: tuple[str, ...] = (
    "https://avd.aquasec.com/",
    "https://nvd.nist.gov/",
    "https://www.cve.org/",
    "https://cve.mitre.org/",
    "https://github.com/advisories/",
    "https://osv.dev/",
    "https://security-tracker.debian.org/",
    "https://github.com/mlsecops/mlsecops-action/",
)

# Characters allowed in a URL we link to: no spaces, quotes, brackets, parentheses or `<>`,
# so the URL cannot end the Markdown link early or open HTML.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#@!$&*+,;=%]+")
# What md_text backslash-escapes everywhere: each opens some markup (see md_text).
_MARKUP = frozenset("\\`*_~[]<>!|&$:")
# A list item or ordered-list marker at the start of a line: escaped in md_text.
_LIST_MARKER = re.compile(r"[-+](?=\s|$)|\d{1,9}[.)](?=\s|$)")
# Characters GitHub turns into mentions (@user) and issue references (#12, owner/repo#12,
# and the `-` of GH-12) AFTER Markdown is parsed, so a backslash escape does not stop them;
# a code span does.
_CODE_WRAPPED = frozenset("@#")
_NEEDS_ESCAPING = re.compile(r"[\\`*_~\[\]<>!|&$:@#]|www\.|gh-", re.IGNORECASE)
_BACKTICKS = re.compile(r"`+")
_SURROGATE = re.compile("[\ud800-\udfff]")


def visible(text: str) -> str:
    """`text` with every non-printable character shown as a backslash escape (`\\n`, `\\x1b`).

    Printable is Python's `str.isprintable`: the ASCII space and every letter, digit, mark,
    punctuation and symbol. Not printable: C0/C1 controls, DEL, line/paragraph separators,
    format characters (bidi overrides, zero-width joiners), non-ASCII spaces, unassigned and
    private-use code points, and the lone surrogates an undecodable file name becomes.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def has_surrogates(text: str) -> bool:
    """Whether `text` holds a lone surrogate, i.e. cannot be written as UTF-8."""
    return _SURROGATE.search(text) is not None


def valid_unicode(text: str) -> str:
    """`text` with every lone surrogate shown as an escape, so it can be written as UTF-8.

    A file name that is not UTF-8 reaches Python with its bad bytes as surrogates U+DC80..
    U+DCFF (shown as the byte, `\\xff`); a crafted pickle string can hold any surrogate
    (shown as `\\udNNN`). Reports (JSON, SARIF) need real Unicode: findings pass through here.
    """
    if _SURROGATE.search(text) is None:
        return text
    return _SURROGATE.sub(lambda match: _escape(match[0]), text)


def _escape(ch: str) -> str:
    code = ord(ch)
    named = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(ch)
    if named:
        return named
    if 0xDC80 <= code <= 0xDCFF:  # an undecodable byte of a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def clip(text: str, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """`text` cut to `limit` characters, with an ellipsis when cut (None: no limit)."""
    if limit is None or len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + ELLIPSIS


def log_text(text: object, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """`text` for a log line: one line, controls visible, no workflow command can start in it.

    `::` becomes `:\\:` and `##[` becomes `##\\[`: still readable, never a command.
    """
    raw = text if isinstance(text, str) else str(text)
    # Cut before escaping too: escaping a huge string only to throw most of it away is waste.
    shown = visible(clip(raw, limit))
    if "::" in shown:
        shown = re.sub(r":(?=:)", r":\\", shown)
    if "##[" in shown:
        shown = shown.replace("##[", "##\\[")
    return clip(shown, limit)


def guard_output(text: str) -> str:
    """Lines we composed, made safe to print: no line starts a workflow command.

    The second fence behind `log_text`: a line that (after leading blanks, as the runner
    trims them) starts with `::`, and every `##[`, is broken. Our own annotations are printed
    apart from this, through `github.commands.command`.
    """
    lines = text.split("\n")
    for index, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith("::"):
            line = line[: len(line) - len(stripped)] + ":\\" + stripped[1:]
        lines[index] = line.replace("##[", "##\\[")
    return "\n".join(lines)


def plain_text(text: object, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """Untrusted text for a SARIF plain-text message: one line, controls shown escaped.

    SARIF viewers (GitHub's alert page, the IDE viewers) render `[text](uri)` in a plain-text
    message as a link, and `\\[` as a literal bracket. So when the text holds a bracket, every
    `[`, `]` and `\\` is escaped: no unescaped `](`, hence no link, can form. Text without a
    bracket cannot make a link and is left as it is (backslashes too).
    """
    raw = text if isinstance(text, str) else str(text)
    shown = visible(" ".join(clip(raw, limit).split()))
    if "[" not in shown and "]" not in shown:
        return shown
    return re.sub(r"([\\\[\]])", r"\\\1", shown)


def md_text(text: object, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """Untrusted prose for Markdown, inline: reads as written, renders as plain text.

    Line breaks become spaces (one line: safe in a table cell and a list item); other
    non-printables are shown escaped. Backslash-escaped: every character that opens markup
    (`\\ ` * _ ~ [ ] < > ! | & $`; no emphasis, code, link, image, HTML, entity, math or
    cell break), `:` (no `scheme:` autolink or `:emoji:`), the `.` of `www.` (no bare
    autolink) and a list marker at the start. `@` and `#` become code spans, and so does the
    `-` of `GH-12`: GitHub links mentions and issue references after parsing, escapes or not.
    """
    raw = text if isinstance(text, str) else str(text)
    shown = visible(" ".join(clip(raw, limit).split()))
    marker = _LIST_MARKER.match(shown)
    if marker is None and _NEEDS_ESCAPING.search(shown) is None:
        return shown  # the common case: a version, a package name, a plain sentence
    marker_at = marker.end() - 1 if marker else -1
    out: list[str] = []
    for index, ch in enumerate(shown):
        before = shown[max(index - 3, 0) : index].upper()
        if ch in _CODE_WRAPPED or (ch == "-" and before.endswith("GH")):
            out.append(f"`{ch}`")
        elif ch in _MARKUP or (ch == "." and before == "WWW") or index == marker_at:
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def md_code(text: object, *, in_table: bool = False, limit: int | None = MAX_DISPLAY_CHARS) -> str:
    """Untrusted text as one Markdown code span: literal, inert, one line ("" for "").

    The fence is one backtick longer than the longest run inside. The content is padded with
    a space on each side when it starts or ends with a backtick, or with a space on both
    sides (CommonMark removes exactly one such pair). In a table cell a `|` must be escaped
    even inside a code span (GFM), and the escape is removed again when rendered.
    """
    raw = text if isinstance(text, str) else str(text)
    shown = visible(clip(raw, limit))
    if not shown:
        return ""
    longest = max((len(run) for run in _BACKTICKS.findall(shown)), default=0)
    fence = "`" * (longest + 1)
    if in_table:
        shown = shown.replace("|", "\\|")
    pad = " " if shown[0] == "`" or shown[-1] == "`" or shown[0] == shown[-1] == " " else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def linkable(url: str) -> bool:
    """Whether `url` may be a live link in our Markdown: a plain URL under `LINK_PREFIXES`."""
    return url.startswith(LINK_PREFIXES) and _URL_CHARS.fullmatch(url) is not None


def md_link(label: str, url: str) -> str:
    """`label` (Markdown we made safe) linked to `url` when `linkable`, else `label` alone."""
    return f"[{label}]({url})" if linkable(url) else label


def md_url(url: str, *, in_table: bool = False) -> str:
    """A URL from untrusted data: a link when `linkable`, else shown as inert code."""
    return f"<{url}>" if linkable(url) else md_code(url, in_table=in_table)
