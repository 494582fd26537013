"""The Markdown job summary: verdict first, then what to fix, then everything else.

GitHub refuses a step summary over 1 MiB, so the summary is cut to fit with a visible note.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlsecops.findings import Finding, Kind
from mlsecops.outcome import ScanOutcome
from mlsecops.versions import minimum_fix, version_key

MAX_SUMMARY_BYTES = 1024 * 1024
# Leave room under GitHub's limit for the truncation note and anything appended later.
_BUDGET = MAX_SUMMARY_BYTES - 16 * 1024
MAX_FIX_LINES = 100


@dataclass(frozen=True)
class Upgrade:
    package: str
    target: str
    installed: str
    to: str  # "" when some failing vulnerability has no fix at all
    ids: tuple[str, ...]


def render_summary(outcome: ScanOutcome, notes: Sequence[str] = (), limit: int = _BUDGET) -> str:
    """The whole summary, cut to `limit` bytes at a row boundary when it must be."""
    head = _headline(outcome) + _counts(outcome) + _fixes(outcome)
    sections = [
        ("Findings that fail the gate", list(outcome.failing), False),
        ("Other open findings", _others(outcome), True),
        ("Ignored findings", list(outcome.ignored_findings), True),
    ]
    tail = _policy_notes(outcome) + _notes([*outcome.notes, *notes])
    text = head
    cut = 0
    for title, findings, collapsed in sections:
        if not findings:
            continue
        room = limit - len(text.encode()) - len(tail.encode())
        block, omitted = _findings_block(title, findings, collapsed, room)
        text += block
        cut += omitted
    if cut:
        text += f"\n> **Truncated:** {cut} more finding(s) are not listed here (GitHub "
        text += "limits a job summary to 1 MiB); the JSON report and SARIF have them all.\n"
    return text + tail


def _headline(outcome: ScanOutcome) -> str:
    gate = outcome.gate.label
    if outcome.passed:
        verdict = f"## ✅ mlsecops: PASSED\n\nNo open finding at or above **{gate}**"
    else:
        verdict = (
            f"## ❌ mlsecops: FAILED\n\n**{len(outcome.failing)}** open finding(s) at or above "
            f"**{gate}**"
        )
    if outcome.gate.fail_on is None:
        verdict = "## ✅ mlsecops: PASSED\n\nThe gate is off (`fail-on: NONE`)"
    scanned = ", ".join(f"`{t}`" for t in outcome.targets) or "nothing"
    ignored = len(outcome.ignored_findings)
    return f"{verdict} (gate: `fail-on {gate}`). Scanned: {scanned}. Ignored: {ignored}.\n\n"


def _counts(outcome: ScanOutcome) -> str:
    counts = outcome.counts()
    header = "| " + " | ".join(counts) + " |"
    rule = "|" + " --- |" * len(counts)
    row = "| " + " | ".join(str(n) for n in counts.values()) + " |"
    return f"{header}\n{rule}\n{row}\n\n"


def minimum_upgrades(findings: Sequence[Finding]) -> list[Upgrade]:
    """Per package and target: the smallest version that fixes every listed vulnerability."""
    groups: dict[tuple[str, str, str], list[Finding]] = {}
    for finding in findings:
        if finding.kind == Kind.VULNERABILITY and finding.package:
            key = (finding.package, finding.target, finding.installed_version)
            groups.setdefault(key, []).append(finding)
    upgrades = []
    for (package, target, installed), group in groups.items():
        needed = [minimum_fix(installed, f.fixed_version) for f in group]
        to = "" if "" in needed else max(needed, key=version_key)
        upgrades.append(Upgrade(package, target, installed, to, tuple(f.id for f in group)))
    return upgrades


def _fixes(outcome: ScanOutcome) -> str:
    upgrades = minimum_upgrades(outcome.failing)
    if not upgrades:
        return ""
    lines = ["### How to fix", ""]
    for up in upgrades[:MAX_FIX_LINES]:
        if up.to:
            lines.append(f"- `{up.target}`: upgrade **{up.package}** {up.installed} → **{up.to}**")
        else:
            lines.append(
                f"- `{up.target}`: **{up.package}** {up.installed} has no fixed version for "
                f"{', '.join(up.ids)}: remove it, or ignore with a reason in `.mlsecops.yml`"
            )
    if len(upgrades) > MAX_FIX_LINES:
        lines.append(f"- … and {len(upgrades) - MAX_FIX_LINES} more packages (see the table)")
    others = [f for f in outcome.failing if f.kind != Kind.VULNERABILITY]
    lines += [f"- `{f.target}`: {f.fix or f.title}" for f in others[:MAX_FIX_LINES]]
    return "\n".join(lines) + "\n\n"


def _others(outcome: ScanOutcome) -> list[Finding]:
    failing = set(map(id, outcome.failing))
    return [f for f in outcome.open_findings if id(f) not in failing]


def _findings_block(
    title: str, findings: list[Finding], collapsed: bool, room: int
) -> tuple[str, int]:
    ignored = title.startswith("Ignored")
    header = [
        "| Severity | ID | Package | Installed → Fixed | Target |",
        "| --- | --- | --- | --- | --- |",
    ]
    if ignored:
        header = [
            "| Severity | ID | Package | Target | Reason |",
            "| --- | --- | --- | --- | --- |",
        ]
    opening = (
        f"<details><summary><b>{title}</b> ({len(findings)})</summary>\n\n"
        if collapsed
        else f"### {title} ({len(findings)})\n\n"
    )
    closing = "\n</details>\n\n" if collapsed else "\n"
    text = opening + "\n".join(header) + "\n"
    used = len((text + closing).encode())
    shown = 0
    for finding in findings:
        row = (_ignored_row if ignored else _row)(finding) + "\n"
        if used + len(row.encode()) > room:
            break
        text += row
        used += len(row.encode())
        shown += 1
    return text + closing, len(findings) - shown


def _row(f: Finding) -> str:
    versions = f"{_cell(f.installed_version)} → {_cell(f.fixed_version or 'no fix')}"
    if f.kind != Kind.VULNERABILITY:
        versions = _cell(f.title)
    return f"| {f.severity.name} | {_link(f)} | {_cell(f.package)} | {versions} | {_where(f)} |"


def _ignored_row(f: Finding) -> str:
    return (
        f"| {f.severity.name} | {_link(f)} | {_cell(f.package)} | {_where(f)} | "
        f"{_cell(f.ignore_reason)} |"
    )


def _link(f: Finding) -> str:
    return f"[{_cell(f.id)}]({f.primary_url})" if f.primary_url else _cell(f.id)


def _where(f: Finding) -> str:
    return f"`{_cell(f.target)}{f':{f.line}' if f.line else ''}`"


def _policy_notes(outcome: ScanOutcome) -> str:
    lines = [
        f"- Ignore entry for `{e.id}` (line {e.line}) **expired** on {e.expires}: it no longer "
        "hides anything; renew it with a new reason or fix the finding."
        for e in outcome.expired_ignores
    ]
    lines += [
        f"- Ignore entry for `{e.id}` (line {e.line}) matched nothing: remove it if it is stale."
        for e in outcome.stale_ignores
    ]
    return "### Policy\n\n" + "\n".join(lines) + "\n\n" if lines else ""


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return "### Notes\n\n" + "\n".join(f"- {_cell(n)}" for n in notes) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").replace("\r", " ")
