"""SARIF rules (`tool.driver.rules`): one descriptor per rule id a run reports.

mlsecops's own rules (`MLS-*`) take their title, help and help URL from the registry
(core/rules.py, documented in docs/rules.md); an advisory's rule takes them from the
advisory, with its primary URL as `helpUri`. Informational findings (UNKNOWN) are plain
notes: no security-severity and no `security` tag, so GitHub lists them as notes rather
than as Low security alerts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.core.rules import BY_ID, DOCS_URL, Rule, is_own_rule
from mlsecops.core.text import md_code, md_text, md_url, plain_text

MAX_DESCRIPTION = 1024
MAX_LISTED = 20  # findings listed in a rule's help

# A value inside GitHub's band for each severity, used when there is no CVSS score
# (or when the score's band disagrees with the severity that gates).
_BANDS: dict[Severity, tuple[float, float, float]] = {
    Severity.CRITICAL: (9.0, 10.0, 9.5),
    Severity.HIGH: (7.0, 8.9, 8.0),
    Severity.MEDIUM: (4.0, 6.9, 5.5),
    Severity.LOW: (0.1, 3.9, 2.0),
}
LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
}
# GitHub's `problem.severity` words for non-security rules.
_PROBLEM_SEVERITY = {"error": "error", "warning": "warning", "note": "recommendation"}

# How a finding's target is named in a rule's help: the same from any working directory.
Namer = Callable[[Finding], str]


def rule_descriptor(rule_id: str, group: Sequence[Finding], name_of: Namer) -> dict[str, Any]:
    """The rule for `rule_id`, described from the registry or from its most severe finding."""
    first = max(group, key=lambda f: f.severity)
    own = BY_ID.get(rule_id) if is_own_rule(rule_id) else None
    title = own.title if own else first.title or f"{rule_id} in {first.package or 'a target'}"
    description = own.help if own else first.description or title
    level = LEVELS[first.severity]
    informational = first.severity is Severity.UNKNOWN
    tags = [] if informational else ["security"]
    tags.append(str(first.kind))
    if first.kind is Kind.VULNERABILITY and not own:
        tags.append("dependency")
    if first.ecosystem:
        tags.append(first.ecosystem)
    properties: dict[str, Any] = {
        "tags": tags,
        "precision": "very-high",
        "problem.severity": _PROBLEM_SEVERITY[level],
    }
    if not informational:
        properties["security-severity"] = security_severity(first)
    return {
        "id": rule_id,
        "name": rule_name(rule_id, first.kind, own),
        "shortDescription": {"text": clip(plain_text(title, None), MAX_DESCRIPTION)},
        "fullDescription": {"text": clip(plain_text(description, None), MAX_DESCRIPTION)},
        "defaultConfiguration": {"level": level},
        "helpUri": help_uri(first, own),
        "help": {
            "text": _help_text(first, own, group, name_of),
            "markdown": _help_markdown(first, own, group, name_of),
        },
        "properties": properties,
    }


def rule_name(rule_id: str, kind: Kind, own: Rule | None) -> str:
    """A Pascal-case identifier (`MlsPickleDeny`, `VulnerabilityCve202014343`): GitHub
    shows it in the rule list, and SARIF asks for one identifier of capitalised words."""
    words = re.split(r"[^A-Za-z0-9]+", rule_id if own else f"{kind} {rule_id}")
    name = "".join(word[:1].upper() + word[1:].lower() for word in words if word)
    return name if name[:1].isalpha() else f"Rule{name}"


def help_uri(finding: Finding, own: Rule | None) -> str:
    """The rule's page: docs/rules.md for MLS-* rules, else the advisory's primary URL."""
    if own:
        return own.help_uri
    links = _links(finding)
    if links:
        return links[0]
    if finding.id.startswith("CVE-"):
        return f"https://nvd.nist.gov/vuln/detail/{finding.id}"
    if finding.id.startswith("GHSA-"):
        return f"https://github.com/advisories/{finding.id}"
    return DOCS_URL


def security_severity(finding: Finding) -> str:
    """GitHub's 0.1-10 score: the CVSS score when its band agrees with the gate's
    severity (so GitHub's label never contradicts the gate), else the band's middle."""
    low, high, middle = _BANDS[finding.severity]
    score = finding.cvss_score
    value = score if score is not None and low <= score <= high else middle
    return f"{value:.1f}"


def _affected(finding: Finding, name_of: Namer) -> str:
    where = name_of(finding)
    if finding.member:
        where += f" (archive member {' > '.join(finding.member)})"
    if finding.kind is Kind.VULNERABILITY and finding.installed_version:
        fixed = finding.fixed_version or "no fixed version yet"
        return f"{finding.package} {finding.installed_version} (fixed: {fixed}) in {where}"
    return f"{finding.package} in {where}" if finding.package else where


def _help_text(first: Finding, own: Rule | None, group: Sequence[Finding], name_of: Namer) -> str:
    lines = [own.title if own else first.title or first.id, ""]
    if own:
        lines += [own.help, ""]
    lines += [f"Affected: {_affected(f, name_of)}" for f in group[:MAX_LISTED]]
    if first.fix and not own:
        lines += ["", f"Fix: {first.fix}"]
    lines += [f"Reference: {url}" for url in _links(first)]
    # Plain text with untrusted parts on most lines: each line made plain on its own.
    return "\n".join(plain_text(line, None) for line in lines)


def _help_markdown(
    first: Finding, own: Rule | None, group: Sequence[Finding], name_of: Namer
) -> str:
    # Everything here but the registry's words is untrusted (advisories, package, file and
    # model names): core/text makes it inert, since GitHub renders help.markdown.
    lines = [f"**{md_text(own.title if own else first.title or first.id)}**", ""]
    if own:
        lines += [md_text(own.help), ""]  # helpUri links the rule's page
    elif first.description:
        lines += [md_text(first.description, limit=2000), ""]
    if first.kind is Kind.VULNERABILITY and not own:
        lines += ["| Package | Installed | Fixed | Target |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {md_text(f.package)} | {md_text(f.installed_version)} | "
            f"{md_text(f.fixed_version or 'none yet')} | {md_code(name_of(f), in_table=True)} |"
            for f in group[:MAX_LISTED]
        ]
    else:
        lines += [f"- {md_text(_affected(f, name_of))}" for f in group[:MAX_LISTED]]
    if first.fix and not own:
        lines += ["", f"**Fix:** {md_text(first.fix)}"]
    links = _links(first)
    if links:
        lines += ["", "References:", *[f"- {md_url(url)}" for url in links]]
    return "\n".join(lines)


def _links(finding: Finding) -> list[str]:
    urls = [finding.primary_url, *finding.references]
    return list(dict.fromkeys(u for u in urls if u.startswith(("https://", "http://"))))[:5]


def clip(text: str, limit: int) -> str:
    """`text` on one line, cut to `limit` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
