"""Findings by kind, for the reports that group them: what each kind's rows show.

A vulnerability is a package at a version with a fix; a secret is a redacted credential at a
place; a misconfiguration and a model finding are a problem at a place. The summary and the
stdout table show each kind in its own table, with these columns; counts per kind feed the
JSON report and the action's outputs.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlsecops.core.findings import SEVERITIES_DESC, Finding, Kind, TargetType
from mlsecops.secretscan.findings import SECRET_PROPERTY

KINDS: tuple[Kind, ...] = (Kind.VULNERABILITY, Kind.SECRET, Kind.MISCONFIGURATION, Kind.MODEL)
TITLES = {
    Kind.VULNERABILITY: "Vulnerabilities",
    Kind.SECRET: "Secrets",
    Kind.MISCONFIGURATION: "Misconfigurations",
    Kind.MODEL: "Model files",
}
# Per kind: the column naming the finding's rule, and the one saying what was found.
RULE_COLUMN = {
    Kind.VULNERABILITY: "ID",
    Kind.SECRET: "Rule",
    Kind.MISCONFIGURATION: "Check",
    Kind.MODEL: "Rule",
}
WHAT_COLUMN = {
    Kind.VULNERABILITY: "Package",
    Kind.SECRET: "Secret (redacted)",
    Kind.MISCONFIGURATION: "Problem",
    Kind.MODEL: "Problem",
}


def by_kind(findings: Iterable[Finding]) -> list[tuple[Kind, list[Finding]]]:
    """The findings grouped by kind, in KINDS order (kinds with none left out), order kept."""
    groups: dict[Kind, list[Finding]] = {kind: [] for kind in KINDS}
    for finding in findings:
        groups.setdefault(finding.kind, []).append(finding)
    return [(kind, group) for kind, group in groups.items() if group]


def what(finding: Finding) -> str:
    """What was found: the package, the redacted secret, or the problem's title."""
    if finding.kind is Kind.VULNERABILITY:
        via = finding.properties.get("via")
        return f"{finding.package} (via {via})" if via else finding.package
    if finding.kind is Kind.SECRET:
        return f"{finding.title}: {finding.properties.get(SECRET_PROPERTY, '')}"
    return finding.title + (f" ({finding.location})" if finding.location else "")


def where(finding: Finding) -> str:
    """Where it is: the file (and line), or the image and the path inside it; for a secret
    also where inside the file (a pickle string, a metadata key)."""
    line = f":{finding.line}" if finding.line else ""
    if finding.kind is not Kind.SECRET or not finding.location:
        return finding.shown_target + line
    if finding.target_type is TargetType.IMAGE:
        return f"{finding.shown_target}: {finding.location}{line}"
    return f"{finding.shown_target}{line} ({finding.location})"


def counts_by_kind(findings: Iterable[Finding]) -> dict[str, dict[str, int]]:
    """Open findings per kind and severity (every kind, every severity, zeros included)."""
    counts = {str(kind): {s.name: 0 for s in SEVERITIES_DESC} for kind in KINDS}
    for finding in findings:
        if not finding.ignored:
            counts[str(finding.kind)][finding.severity.name] += 1
    return counts
