"""A verdict as text for the terminal and as Markdown for the job summary.

Names in the model are attacker-controlled: the text form goes through core/text's
`log_text` (a name cannot forge extra lines or workflow commands), the Markdown form through
`md_code`/`md_text` (a name cannot forge markup, links, images or mentions).
"""

from __future__ import annotations

from mlsecops.core.text import guard_output, md_code, md_text
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
    lines.append(f"manifest digest: {show(verdict.digest) or '(no manifest)'}")
    return guard_output("\n".join(lines) + "\n")


def render_markdown(verdict: Verdict) -> str:
    """The job summary: files, bytes, digest, verdict, and on failure every difference."""
    head = "verified" if verdict.passed else f"FAILED, {verdict.count()} difference(s)"
    rows = [
        ("Model", _code(verdict.model)),
        ("Files", f"{verdict.files:,}"),
        ("Bytes", f"{verdict.bytes:,}"),
        ("Manifest digest", _code(verdict.digest or "(no manifest)")),
        *((md_text(what), md_text(how)) for what, how in verdict.checks),
    ]
    if verdict.origin:
        rows.append(("Made in", md_text(verdict.origin)))
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
    return md_code(item.path) + (f": {md_text(item.detail)}" if item.detail else "")


def _code(text: str) -> str:
    return md_code(text, in_table=True)
