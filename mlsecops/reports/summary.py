"""The Markdown job summary: verdict first, then what to fix, then everything else.

GitHub refuses a step summary over 1 MiB, so the summary is cut to fit with a visible note.
Every string from a finding, the policy or the baseline goes through core/text (`md_code` for
names, `md_text` for prose): the summary is also the PR comment, read by the whole team.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mlsecops.core.findings import BaselineState, Finding, Kind
from mlsecops.core.outcome import ScanOutcome
from mlsecops.core.rules import BY_ID, is_own_rule
from mlsecops.core.text import md_code, md_link, md_text
from mlsecops.core.versions import minimum_fix, version_key
from mlsecops.reports.coverage_lines import coverage_lines
from mlsecops.reports.kinds import (
    RULE_COLUMN,
    TITLES,
    WHAT_COLUMN,
    by_kind,
    counts_by_kind,
    what,
    where,
)

MAX_SUMMARY_BYTES = 1024 * 1024
# Leave room under GitHub's limit for the truncation note and anything appended later.
_BUDGET = MAX_SUMMARY_BYTES - 16 * 1024
MAX_FIX_LINES = 100


@dataclass(frozen=True)
class Upgrade:
    """One package to upgrade in one file: the version that fixes every failing finding in it."""

    package: str
    target: str
    installed: str
    to: str  # "" when some failing vulnerability has no fix at all
    ids: tuple[str, ...]


def render_summary(outcome: ScanOutcome, notes: Sequence[str] = (), limit: int = _BUDGET) -> str:
    """The whole summary, cut to `limit` bytes at a row boundary when it must be."""
    head = _headline(outcome) + _baseline_line(outcome) + _counts(outcome) + _fixes(outcome)
    sections = _sections(outcome)
    tail = _fixed_block(outcome) + _policy_notes(outcome) + _coverage(outcome)
    tail += _notes([*outcome.notes, *notes])
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


def _sections(outcome: ScanOutcome) -> list[tuple[str, list[Finding], bool]]:
    """Failing first, then the rest; against a baseline, new findings apart from existing."""
    ignored = ("Ignored findings", list(outcome.ignored_findings), True)
    if not outcome.has_baseline:
        return [
            ("Findings that fail the gate", list(outcome.failing), False),
            ("Other open findings", _others(outcome), True),
            ignored,
        ]
    failing, others = list(outcome.failing), _others(outcome)
    return [
        (
            "New findings that fail the gate",
            [f for f in failing if f.baseline is BaselineState.NEW],
            False,
        ),
        (
            "Existing findings that fail the gate",
            [f for f in failing if f.baseline is not BaselineState.NEW],
            False,
        ),
        ("Other new findings", [f for f in others if f.baseline is BaselineState.NEW], False),
        (
            "Existing findings (already in the baseline)",
            [f for f in others if f.baseline is not BaselineState.NEW],
            True,
        ),
        ignored,
    ]


def _baseline_line(outcome: ScanOutcome) -> str:
    if not outcome.has_baseline:
        return ""
    new = len(outcome.new_findings)
    existing = len(outcome.open_findings) - new
    fixed = len(outcome.fixed_since_baseline)
    only = " Only new findings can fail the gate." if outcome.gate.new_only else ""
    return (
        f"Against the baseline {md_code(outcome.baseline_source)}: **{new} new**, {existing} "
        f"existing, {fixed} fixed.{only}\n\n"
    )


def _fixed_block(outcome: ScanOutcome) -> str:
    fixed = outcome.fixed_since_baseline
    if not fixed:
        return ""
    rows = [
        f"| {md_text(e.severity)} | {md_text(e.id)} | {md_text(e.package)} | {_code(e.target)} |"
        for e in fixed[:MAX_FIX_LINES]
    ]
    if len(fixed) > MAX_FIX_LINES:
        rows.append(f"| … | {len(fixed) - MAX_FIX_LINES} more (see the JSON report) | | |")
    return (
        f"<details><summary><b>Fixed since the baseline</b> ({len(fixed)})</summary>\n\n"
        "| Severity | ID | Package | Target |\n| --- | --- | --- | --- |\n"
        + "\n".join(rows)
        + "\n\n</details>\n\n"
    )


def _headline(outcome: ScanOutcome) -> str:
    gate = outcome.gate.describe()
    if outcome.passed:
        verdict = f"## ✅ mlsecops: PASSED\n\nNo open finding at or above **{gate}**"
    else:
        verdict = (
            f"## ❌ mlsecops: FAILED\n\n**{len(outcome.failing)}** open finding(s) at or above "
            f"**{gate}**"
        )
    if outcome.gate.off:
        verdict = "## ✅ mlsecops: PASSED\n\nThe gate is off (`fail-on: NONE`)"
    scanned = ", ".join(md_code(t) for t in outcome.targets) or "nothing"
    ignored = len(outcome.ignored_findings)
    db = f"\n\n{md_text(outcome.db.describe())}." if outcome.db is not None else ""
    return f"{verdict} (gate: `fail-on {gate}`). Scanned: {scanned}. Ignored: {ignored}.{db}\n\n"


def _counts(outcome: ScanOutcome) -> str:
    """Open findings per severity: one row per kind found (when more than one), then all."""
    counts = outcome.counts()
    header = "| | " + " | ".join(counts) + " |"
    rule = "| --- |" + " --- |" * len(counts)
    per_kind = counts_by_kind(outcome.open_findings)
    rows = [
        f"| {TITLES[kind]} | " + " | ".join(str(per_kind[str(kind)][s]) for s in counts) + " |"
        for kind, _ in by_kind(outcome.open_findings)
    ]
    total = "| **All** | " + " | ".join(str(n) for n in counts.values()) + " |"
    body = [*rows, total] if len(rows) > 1 else [total]
    return "\n".join([header, rule, *body]) + "\n\n"


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
    others = [f for f in outcome.failing if f.kind != Kind.VULNERABILITY]
    if not upgrades and not others:
        return ""
    lines = ["### How to fix", ""]
    for up in upgrades[:MAX_FIX_LINES]:
        if up.to:
            lines.append(
                f"- {md_code(up.target)}: upgrade **{md_text(up.package)}** "
                f"{md_text(up.installed)} → **{md_text(up.to)}**"
            )
        else:
            lines.append(
                f"- {md_code(up.target)}: **{md_text(up.package)}** {md_text(up.installed)} has "
                f"no fixed version for {', '.join(md_text(i) for i in up.ids)}: remove it, or "
                "ignore with a reason in `.mlsecops.yml`"
            )
    if len(upgrades) > MAX_FIX_LINES:
        lines.append(f"- … and {len(upgrades) - MAX_FIX_LINES} more packages (see the table)")
    lines += _other_fixes(others)
    return "\n".join(lines) + "\n\n"


def _other_fixes(failing: list[Finding]) -> list[str]:
    """One line per file (and kind): a poisoned pickle with ten dangerous calls needs one
    fix, not ten; a file with three secrets, one rotation line."""
    groups: dict[tuple[str, Kind], list[Finding]] = {}
    for finding in failing:
        groups.setdefault((finding.target, finding.kind), []).append(finding)
    lines = []
    for (target, kind), group in list(groups.items())[:MAX_FIX_LINES]:
        if kind is Kind.SECRET:
            fix = (
                f"{len(group)} secret(s) (see Secrets below): revoke each at its provider and "
                "issue a new one, then load it at run time from a secret store"
            )
        else:
            fix = md_text(group[0].fix or group[0].title)
        lines.append(f"- {md_code(target)}: {fix}")
    return lines


def _others(outcome: ScanOutcome) -> list[Finding]:
    failing = set(map(id, outcome.failing))
    return [f for f in outcome.open_findings if id(f) not in failing]


def _findings_block(
    title: str, findings: list[Finding], collapsed: bool, room: int
) -> tuple[str, int]:
    """A section: one table per kind of finding, rows cut to `room` bytes; (text, omitted)."""
    ignored = title.startswith("Ignored")
    opening = (
        f"<details><summary><b>{title}</b> ({len(findings)})</summary>\n\n"
        if collapsed
        else f"### {title} ({len(findings)})\n\n"
    )
    closing = "\n</details>\n\n" if collapsed else "\n"
    text = opening
    used = len((text + closing).encode())
    shown = 0
    groups = by_kind(findings)
    full = False
    for kind, group in groups:
        heading = f"**{TITLES[kind]}** ({len(group)})\n\n" if len(groups) > 1 else ""
        parts = [heading + "\n".join(_header(kind, ignored)) + "\n"]
        parts += [_row(finding, ignored) + "\n" for finding in group]
        for index, part in enumerate(parts):
            full = used + len(part.encode()) > room
            if full:
                break
            text += part
            used += len(part.encode())
            shown += 1 if index else 0
        if full:
            break
        text += "\n"
        used += 1
    return text.rstrip("\n") + "\n" + closing, len(findings) - shown


def _header(kind: Kind, ignored: bool) -> list[str]:
    """A kind's table header (ignored findings get the reason instead of the fix)."""
    if kind is Kind.VULNERABILITY:
        columns = ["Severity", "ID", "Package", "Installed → Fixed", "Target"]
        if ignored:
            columns = ["Severity", "ID", "Package", "Target", "Reason"]
    else:
        columns = ["Severity", RULE_COLUMN[kind], WHAT_COLUMN[kind], "Where"]
        columns += ["Reason"] if ignored else []
    return ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]


def _row(f: Finding, ignored: bool = False) -> str:
    if f.kind is not Kind.VULNERABILITY:
        cells = [f.severity.name, _link(f), md_text(what(f)), _code(where(f))]
        cells += [md_text(f.ignore_reason)] if ignored else []
        return "| " + " | ".join(cells) + " |"
    if ignored:
        return _ignored_row(f)
    versions = f"{md_text(f.installed_version)} → {md_text(f.fixed_version or 'no fix')}"
    if not f.installed_version:
        # A requirement with no version at all (not checked): say what and where.
        versions = md_text(f.title + (f" ({f.location})" if f.location else ""))
    return f"| {f.severity.name} | {_link(f)} | {_package(f)} | {versions} | {_where(f)} |"


def _package(f: Finding) -> str:
    # A transitive dependency (--resolve) names the requirement that pulls it in.
    via = f.properties.get("via")
    return md_text(f"{f.package} (via {via})" if via else f.package)


def _ignored_row(f: Finding) -> str:
    return (
        f"| {f.severity.name} | {_link(f)} | {md_text(f.package)} | {_where(f)} | "
        f"{md_text(f.ignore_reason)} |"
    )


def _link(f: Finding) -> str:
    # An advisory links to its database; one of our own rules to its section of docs/rules.md.
    own = BY_ID.get(f.id) if is_own_rule(f.id) else None
    return md_link(md_text(f.id), f.primary_url or (own.help_uri if own else ""))


def _where(f: Finding) -> str:
    return _code(f.shown_target + (f":{f.line}" if f.line else ""))


def _policy_notes(outcome: ScanOutcome) -> str:
    lines = [
        f"- Ignore entry for {md_code(e.id)} (line {e.line}) **expired** on {e.expires}: it no "
        "longer "
        "hides anything; renew it with a new reason or fix the finding."
        for e in outcome.expired_ignores
    ]
    lines += [
        f"- Ignore entry for {md_code(e.id)} (line {e.line}) matched nothing: remove it if it "
        "is stale."
        for e in outcome.stale_ignores
    ]
    return "### Policy\n\n" + "\n".join(lines) + "\n\n" if lines else ""


def _coverage(outcome: ScanOutcome) -> str:
    lines = coverage_lines(outcome.coverage)
    if not lines:
        return ""
    return "### Coverage\n\n" + "\n".join(f"- {md_text(line)}" for line in lines) + "\n\n"


def _notes(notes: Sequence[str]) -> str:
    if not notes:
        return ""
    return "### Notes\n\n" + "\n".join(f"- {md_text(n)}" for n in notes) + "\n"


def _code(text: str) -> str:
    return md_code(text, in_table=True)
