"""A verdict as text for the terminal and as Markdown for the job summary.

Names in the model are attacker-controlled: the text form escapes anything unprintable (so a
name cannot forge extra lines), the Markdown form escapes HTML (so it cannot forge markup).
"""

from __future__ import annotations

import html

from mlsecops.integrity.relpath import show
from mlsecops.integrity.verify import Difference, Verdict

MARKDOWN_LIMIT = 200  # per group: a job summary must stay under GitHub's 1 MiB


def render_text(verdict: Verdict) -> str:
    """The lines `mlsecops verify` prints."""
    if verdict.passed:
        lines = [
            f"OK: {show(verdict.model)} matches the manifest: {plural(verdict.files, 'file')}, "
            f"{verdict.bytes:,} bytes",
            *(f"  {what}: {how}" for what, how in verdict.checks),
        ]
    else:
        lines = [
            f"FAILED: {verdict.count()} difference(s) between {show(verdict.model)} "
            "and the manifest"
        ]
        for title, items in verdict.groups():
            lines.append(f"  {title} ({len(items)}):")
            lines += [f"    {_text(item)}" for item in items]
    if verdict.origin:
        lines.append(f"made in: {show(verdict.origin)}")
    lines.append(f"manifest digest: {verdict.digest or '(no manifest)'}")
    return "\n".join(lines) + "\n"


def render_markdown(verdict: Verdict) -> str:
    """The job summary: files, bytes, digest, verdict, and on failure every difference."""
    head = "verified" if verdict.passed else f"FAILED, {verdict.count()} difference(s)"
    rows = [
        ("Model", f"<code>{html.escape(verdict.model)}</code>"),
        ("Files", f"{verdict.files:,}"),
        ("Bytes", f"{verdict.bytes:,}"),
        ("Manifest digest", f"<code>{verdict.digest or '(no manifest)'}</code>"),
        *((html.escape(what), html.escape(how)) for what, how in verdict.checks),
    ]
    if verdict.origin:
        rows.append(("Made in", html.escape(verdict.origin)))
    lines = [f"### Model integrity: {head}", "", "| | |", "| --- | --- |"]
    lines += [f"| {name} | {value} |" for name, value in rows]
    for title, items in verdict.groups():
        lines += ["", f"**{title} ({len(items)})**", ""]
        lines += [f"- {_markdown(item)}" for item in items[:MARKDOWN_LIMIT]]
        if len(items) > MARKDOWN_LIMIT:
            lines.append(f"- ... and {len(items) - MARKDOWN_LIMIT} more (see the step log)")
    return "\n".join(lines) + "\n"


def plural(count: int, noun: str) -> str:
    """`1 file`, `2 files`."""
    return f"{count:,} {noun}{'' if count == 1 else 's'}"


def _text(item: Difference) -> str:
    return show(item.path) + (f": {item.detail}" if item.detail else "")


def _markdown(item: Difference) -> str:
    name = f"<code>{html.escape(show(item.path))}</code>"
    return name + (f": {html.escape(item.detail)}" if item.detail else "")
