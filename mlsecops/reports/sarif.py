"""SARIF 2.1.0 for GitHub code scanning.

One run per file, always: since July 2025 GitHub refuses a file with several runs of the
same category, so every target of a scan goes into one run under one category.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlsecops import __version__
from mlsecops.core.findings import (
    BaselineState,
    Finding,
    Kind,
    Severity,
    TargetType,
    sorted_findings,
)
from mlsecops.core.outcome import ScanOutcome
from mlsecops.core.text import md_code, md_text, md_url
from mlsecops.reports import DEFAULT_SARIF_CATEGORY

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mlsecops/mlsecops-action"
DEFAULT_CATEGORY = DEFAULT_SARIF_CATEGORY

# GitHub keeps at most 5,000 results per run (by severity) and 10 MB of gzipped SARIF per
# upload; we stay inside both and report what we cut rather than have the upload refused.
MAX_RESULTS = 5000
MAX_GZIPPED_BYTES = 10 * 1000 * 1000
MAX_DESCRIPTION = 1024

# A value inside GitHub's band for each severity, used when there is no CVSS score
# (or when the score's band disagrees with the severity that gates).
_BANDS: dict[Severity, tuple[float, float, float]] = {
    Severity.CRITICAL: (9.0, 10.0, 9.5),
    Severity.HIGH: (7.0, 8.9, 8.0),
    Severity.MEDIUM: (4.0, 6.9, 5.5),
    Severity.LOW: (0.1, 3.9, 2.0),
    Severity.UNKNOWN: (0.1, 3.9, 0.1),
}
_LEVELS = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.UNKNOWN: "note",
}


@dataclass(frozen=True)
class SarifResult:
    """The SARIF document and what was left out of it, for the summary to say."""

    document: dict[str, Any]
    text: str  # the document serialised, as written to the file
    included: int
    below_floor: int
    cut_for_limits: int


def build_sarif(
    outcome: ScanOutcome,
    *,
    floor: Severity = Severity.LOW,
    category: str = DEFAULT_CATEGORY,
    max_results: int = MAX_RESULTS,
    max_gzipped_bytes: int = MAX_GZIPPED_BYTES,
) -> SarifResult:
    """Every open finding at or above `floor` (UNKNOWN counts as LOW), most severe first."""
    eligible = [f for f in sorted_findings(outcome.open_findings) if _rank(f) >= floor]
    below_floor = len(outcome.open_findings) - len(eligible)
    kept = eligible[:max_results]
    document = _document(kept, category)
    text = _serialise(document)
    # Halve what we keep until the gzipped file fits; rare, but an over-limit upload fails.
    while len(kept) > 1 and _gzipped_size(text, max_gzipped_bytes) > max_gzipped_bytes:
        kept = kept[: len(kept) // 2]
        document = _document(kept, category)
        text = _serialise(document)
    return SarifResult(document, text, len(kept), below_floor, len(eligible) - len(kept))


def _serialise(document: dict[str, Any]) -> str:
    # Compact on purpose: `indent` makes json fall back to its pure-Python encoder (4x slower).
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")) + "\n"


def _rank(finding: Finding) -> Severity:
    return Severity.LOW if finding.severity == Severity.UNKNOWN else finding.severity


def _gzipped_size(text: str, limit: int) -> int:
    raw = text.encode()
    if len(raw) <= limit:  # JSON only shrinks under gzip: when the raw text fits, so does it
        return len(raw)
    return len(gzip.compress(raw, compresslevel=6))


def _document(findings: Sequence[Finding], category: str) -> dict[str, Any]:
    rule_index: dict[str, int] = {}
    rules: list[dict[str, Any]] = []
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.id, []).append(finding)
    for rule_id, group in by_rule.items():
        rule_index[rule_id] = len(rules)
        rules.append(_rule(rule_id, group))
    results = [_result(f, rule_index[f.id]) for f in findings]
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mlsecops",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                # The category is what precedes the last "/": one category per file.
                "automationDetails": {"id": f"{category.rstrip('/')}/"},
                "columnKind": "utf16CodeUnits",
                "results": results,
            }
        ],
    }


def _rule(rule_id: str, group: list[Finding]) -> dict[str, Any]:
    first = max(group, key=lambda f: f.severity)
    title = first.title or f"{rule_id} in {first.package or first.target}"
    description = first.description or title
    tags = ["security", str(first.kind)]
    if first.kind == Kind.VULNERABILITY:
        tags.append("dependency")
    if first.ecosystem:
        tags.append(first.ecosystem)
    rule: dict[str, Any] = {
        "id": rule_id,
        "name": _rule_name(rule_id, first),
        "shortDescription": {"text": _clip(title, MAX_DESCRIPTION)},
        "fullDescription": {"text": _clip(description, MAX_DESCRIPTION)},
        "defaultConfiguration": {"level": _LEVELS[first.severity]},
        "help": {"text": _help_text(first, group), "markdown": _help_markdown(first, group)},
        "properties": {
            "tags": tags,
            "precision": "very-high",
            "problem.severity": _LEVELS[first.severity],
            "security-severity": _security_severity(first),
        },
    }
    if first.primary_url:
        rule["helpUri"] = first.primary_url
    return rule


def _rule_name(rule_id: str, finding: Finding) -> str:
    # GitHub shows `name` in the rule list; letters and digits only reads best there.
    words = re.split(r"[^A-Za-z0-9]+", f"{finding.kind} {rule_id}")
    return "".join(word[:1].upper() + word[1:] for word in words if word)


def _security_severity(finding: Finding) -> str:
    low, high, middle = _BANDS[finding.severity]
    score = finding.cvss_score
    # Keep the score when its band agrees with the severity that gates, so GitHub's
    # critical/high/medium/low label never contradicts the gate.
    value = score if score is not None and low <= score <= high else middle
    return f"{value:.1f}"


def _affected(finding: Finding) -> str:
    if finding.kind == Kind.VULNERABILITY:
        fixed = finding.fixed_version or "no fixed version yet"
        return f"{finding.package} {finding.installed_version} (fixed: {fixed})"
    return finding.package or finding.location or finding.target


def _help_text(first: Finding, group: list[Finding]) -> str:
    lines = [first.title or first.id, ""]
    lines += [f"Affected: {_affected(f)} in {f.target}" for f in group[:20]]
    if first.fix:
        lines += ["", f"Fix: {first.fix}"]
    lines += [f"Reference: {url}" for url in _links(first)]
    return "\n".join(lines)


def _help_markdown(first: Finding, group: list[Finding]) -> str:
    # Everything here but our own words is untrusted (advisories, package and model names):
    # core/text makes it inert, since GitHub renders help.markdown.
    lines = [f"**{md_text(first.title or first.id)}**", ""]
    if first.description:
        lines += [md_text(first.description, limit=2000), ""]
    if first.kind == Kind.VULNERABILITY:
        lines += ["| Package | Installed | Fixed | Target |", "| --- | --- | --- | --- |"]
        lines += [
            f"| {md_text(f.package)} | {md_text(f.installed_version)} | "
            f"{md_text(f.fixed_version or 'none yet')} | {md_code(f.target, in_table=True)} |"
            for f in group[:20]
        ]
    else:
        lines += [f"- {md_text(_affected(f))} in {md_code(f.target)}" for f in group[:20]]
    if first.fix:
        lines += ["", f"**Fix:** {md_text(first.fix)}"]
    links = _links(first)
    if links:
        lines += ["", "References:", *[f"- {md_url(url)}" for url in links]]
    return "\n".join(lines)


def _links(finding: Finding) -> list[str]:
    urls = [finding.primary_url, *finding.references]
    return list(dict.fromkeys(u for u in urls if u.startswith(("https://", "http://"))))[:5]


def _result(finding: Finding, rule_index: int) -> dict[str, Any]:
    uri, is_file = _artifact_uri(finding)
    region: dict[str, Any] = {"startLine": finding.line or 1}
    if finding.line and finding.end_line and finding.end_line > finding.line:
        region["endLine"] = finding.end_line
    result: dict[str, Any] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": _LEVELS[finding.severity],
        "message": {"text": _message(finding, is_file)},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri},
                    "region": region,
                },
                "message": {"text": finding.location or finding.target},
            }
        ],
        "partialFingerprints": {"mlsecopsFinding/v1": fingerprint(finding)},
        "properties": {"severity": finding.severity.name, "kind": str(finding.kind)},
    }
    if finding.baseline is not BaselineState.NONE:
        # SARIF's own word for a finding against a baseline: new, or unchanged.
        result["baselineState"] = "new" if finding.baseline is BaselineState.NEW else "unchanged"
    return result


def _message(finding: Finding, is_file: bool) -> str:
    where = "" if is_file else f" in image {finding.target}"
    if finding.member:
        where += f" in archive member {' > '.join(finding.member)}"
    if finding.kind == Kind.VULNERABILITY:
        fixed = finding.fixed_version or "none yet"
        text = (
            f"{finding.id} ({finding.severity.name}): {finding.package} "
            f"{finding.installed_version}{where}; fixed version: {fixed}."
        )
    else:
        text = f"{finding.id} ({finding.severity.name}): {finding.title or finding.package}{where}."
    # A model finding's location (archive member, opcode position) is not a line in the file,
    # so it belongs in the message for file targets too; a vulnerability's is the manifest line.
    if finding.location and (not is_file or finding.kind != Kind.VULNERABILITY):
        text += f" Found at {_sentence(finding.location)}"
    if finding.fix:
        text += f" Fix: {_sentence(finding.fix)}"
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."


def _artifact_uri(finding: Finding) -> tuple[str, bool]:
    """A repo-relative file, or for images a stable pseudo-path GitHub accepts."""
    if finding.target_type is TargetType.IMAGE:
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", finding.target).strip("_") or "image"
        return f"container-images/{safe}", False
    return finding.target.removeprefix("./"), True


def fingerprint(finding: Finding) -> str:
    """Stable across runs: what was found where, not which version or line it sits on today."""
    key = "|".join((str(finding.kind), finding.id, finding.target, finding.package.lower()))
    if finding.member:  # appended, so that findings outside archives keep their fingerprint
        key += "|" + json.dumps(finding.member)
    return hashlib.sha256(key.encode()).hexdigest()


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
