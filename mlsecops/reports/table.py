"""The human-readable table printed on stdout.

Inside the action stdout is the job log, where a line can be a workflow command: every
string from a finding or the policy goes through `log_text`, and the whole table through
`guard_output`.
"""

from __future__ import annotations

from mlsecops.core.findings import Finding, Kind
from mlsecops.core.outcome import ScanOutcome
from mlsecops.core.text import guard_output, log_text
from mlsecops.reports.coverage_lines import coverage_lines
from mlsecops.reports.kinds import RULE_COLUMN, TITLES, WHAT_COLUMN, by_kind, what, where

_COLUMNS = ("SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "TARGET")
_MAX_WIDTH = 48


def render_table(outcome: ScanOutcome) -> str:
    """Findings most severe first (open, then ignored), then a one-line verdict.

    Each kind of finding has its own table (a heading per kind when there is more than one):
    a secret's row shows its redacted form, never the secret.
    """
    lines: list[str] = []
    groups = by_kind(outcome.open_findings)
    for kind, findings in groups:
        if len(groups) > 1:
            lines += [""] if lines else []
            lines.append(f"{TITLES[kind]} ({len(findings)}):")
        lines += _table(findings) if kind is Kind.VULNERABILITY else _other_table(kind, findings)
    if outcome.ignored_findings:
        lines += ["", "Ignored:"]
        lines += [_ignored_line(f) for f in outcome.ignored_findings]
    for entry in outcome.expired_ignores:
        lines.append(f"note: policy ignore for {log_text(entry.id)} expired on {entry.expires}")
    for entry in outcome.stale_ignores:
        lines.append(
            f"note: policy ignore for {log_text(entry.id)} (line {entry.line}) matched nothing"
        )
    lines += [f"coverage: {log_text(line)}" for line in coverage_lines(outcome.coverage)]
    if outcome.db is not None:
        lines.append(f"db: {log_text(outcome.db.describe())}")
    lines += [f"note: {log_text(note)}" for note in outcome.notes]
    if outcome.has_baseline:
        new = len(outcome.new_findings)
        lines.append(
            f"baseline {log_text(outcome.baseline_source)}: {new} new, "
            f"{len(outcome.open_findings) - new} existing, "
            f"{len(outcome.fixed_since_baseline)} fixed"
        )
    if lines:
        lines.append("")
    lines.append(verdict_line(outcome))
    return guard_output("\n".join(lines) + "\n")


def _ignored_line(f: Finding) -> str:
    if f.kind is Kind.VULNERABILITY:
        found = " ".join(log_text(part) for part in (f.id, f.package, f.installed_version))
    else:
        found = f"{log_text(f.id)} ({log_text(what(f))})"
    return f"  {found} in {log_text(where(f))}: {log_text(f.ignore_reason)}"


def verdict_line(outcome: ScanOutcome) -> str:
    """`PASSED (fail-on HIGH): ...` or `FAILED (...)`: the table's last line."""
    counts = ", ".join(f"{n} {s}" for s, n in outcome.counts().items() if n) or "no open findings"
    if outcome.passed:
        return f"PASSED (fail-on {outcome.gate.describe()}): {counts}"
    return (
        f"FAILED (fail-on {outcome.gate.describe()}): {len(outcome.failing)} finding(s) "
        f"at or above the gate; {counts}"
    )


def _table(findings: list[Finding]) -> list[str]:
    raw_rows = [
        (
            f.severity.name,
            f.id,
            f"{f.package} (via {f.properties['via']})" if f.properties.get("via") else f.package,
            f.installed_version,
            f.fixed_version or "-",
            f.shown_target + (f":{f.line}" if f.line else ""),
        )
        for f in findings
    ]
    # Paths keep their end (file name and line), other cells their start.
    rows = [
        (*(_clip(log_text(cell)) for cell in row[:-1]), _clip_left(log_text(row[-1])))
        for row in raw_rows
    ]
    widths = [max(len(row[i]) for row in [_COLUMNS, *rows]) for i in range(len(_COLUMNS))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [_COLUMNS, *rows]
    ]


def _other_table(kind: Kind, findings: list[Finding]) -> list[str]:
    """Secrets, misconfigurations, model findings: severity, rule, what, where."""
    header = ("SEVERITY", RULE_COLUMN[kind].upper(), WHAT_COLUMN[kind].upper(), "WHERE")
    rows = [
        (
            f.severity.name,
            _clip(log_text(f.id)),
            _clip(log_text(what(f))),
            _clip_left(log_text(where(f))),
        )
        for f in findings
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_WIDTH else text[: _MAX_WIDTH - 1] + "…"


def _clip_left(text: str) -> str:
    limit = _MAX_WIDTH + 12
    return text if len(text) <= limit else "…" + text[-(limit - 1) :]
