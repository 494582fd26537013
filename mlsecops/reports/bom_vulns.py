"""A scan's vulnerability findings as CycloneDX 1.6 `vulnerabilities`.

One entry per vulnerability id (and ignore decision): its ratings (the severity the gate
used, then every CVSS vector the advisory sources gave, with its method and source), its
CWEs, the components it affects (by bom-ref, at their installed version), the fix as the
recommendation, the advisory links, and, when it was ignored, the analysis: the ignore
entry's reason as the detail, and the state the entry claims (`state:` and `justification:`
in the policy); an ignore that claims nothing (no `state:`, a .trivyignore line,
--ignore-unfixed) is `in_triage`, the one state that asserts nothing about the finding.

Secrets, misconfigurations and model findings are not CycloneDX vulnerabilities (they have
no affected component version); models carry theirs as properties (reports/bom_models).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from mlsecops.core.findings import (
    ANALYSIS_JUSTIFICATION,
    ANALYSIS_STATE,
    IGNORE_EXPIRES,
    Cvss,
    Finding,
    Kind,
)
from mlsecops.deps.unpinned import UNPINNED_ID
from mlsecops.reports.bom_packages import prop, unique_props

# Advisory links go into `advisories[].url`, an iri-reference: keep plain http(s) URLs only
# (they come from the vulnerability DB, and one with a space would make the document invalid).
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")

RefFor = Callable[[Finding], str]
# CycloneDX's scoreMethod per CVSS version.
_METHODS = {"2.0": "CVSSv2", "3.0": "CVSSv3", "3.1": "CVSSv31", "4.0": "CVSSv4"}
DEFAULT_STATE = "in_triage"
# An ignore decision: ignored, the reason, then the analysis state, justification, expiry.
_Decision = tuple[bool, str, str, str, str]


def vulnerabilities(
    findings: Sequence[Finding], ref_for: RefFor, failing: Collection[int]
) -> list[dict[str, Any]]:
    """The `vulnerabilities` array; `failing` holds the `id()` of findings that fail the gate."""
    groups: dict[tuple[str, _Decision], list[Finding]] = {}
    for finding in findings:
        if finding.kind is Kind.VULNERABILITY and finding.id != UNPINNED_ID:
            groups.setdefault((finding.id, _decision(finding)), []).append(finding)
    entries = []
    refs: set[str] = set()
    for (vuln_id, decision), group in groups.items():
        ref = f"vulnerability:{vuln_id}"
        if ref in refs:  # the same id again under another ignore decision
            ref = f"{ref}#{len(refs)}"
        refs.add(ref)
        entry = _entry(ref, group, ref_for, failing)
        if decision[0]:
            entry["analysis"] = _analysis(decision)
        entries.append(entry)
    return entries


def _decision(finding: Finding) -> _Decision:
    marks = finding.properties
    return (
        finding.ignored,
        finding.ignore_reason,
        marks.get(ANALYSIS_STATE, ""),
        marks.get(ANALYSIS_JUSTIFICATION, ""),
        marks.get(IGNORE_EXPIRES, ""),
    )


def _analysis(decision: _Decision) -> dict[str, Any]:
    """CycloneDX's `analysis` of an ignored vulnerability: the claimed state, the reason."""
    _, reason, state, justification, expires = decision
    analysis: dict[str, Any] = {"state": state or DEFAULT_STATE}
    if justification:
        analysis["justification"] = justification
    detail = reason or "ignored"
    analysis["detail"] = f"{detail} (ignored until {expires})" if expires else detail
    return analysis


def ratings(finding: Finding) -> list[dict[str, Any]]:
    """The severity the gate used (with the score it came with), then each CVSS rating."""
    first: dict[str, Any] = {"severity": finding.severity.name.lower()}
    if finding.cvss_score is not None:
        first["score"] = finding.cvss_score
    return [first, *(_cvss_rating(cvss) for cvss in finding.cvss)]


def _cvss_rating(cvss: Cvss) -> dict[str, Any]:
    rating: dict[str, Any] = {"source": {"name": cvss.source}}
    if cvss.score is not None:
        rating["score"] = cvss.score
    rating["method"] = _METHODS.get(cvss.version, "other")
    rating["vector"] = cvss.vector
    return rating


def _entry(
    ref: str, group: list[Finding], ref_for: RefFor, failing: Collection[int]
) -> dict[str, Any]:
    first = group[0]
    entry: dict[str, Any] = {"bom-ref": ref, "id": first.id}
    entry["ratings"] = ratings(first)
    cwes = [int(cwe.removeprefix("CWE-")) for cwe in first.cwes]
    if cwes:
        entry["cwes"] = list(dict.fromkeys(cwes))
    if first.title:
        entry["description"] = first.title
    if first.description:
        entry["detail"] = first.description
    fixes = list(dict.fromkeys(f.fix for f in group if f.fix))
    if fixes:
        entry["recommendation"] = "; ".join(fixes)
    links = [first.primary_url, *first.references]
    advisories = [{"url": url} for url in dict.fromkeys(links) if _URL.fullmatch(url)]
    if advisories:
        entry["advisories"] = advisories
    entry["affects"] = _affects(group, ref_for)
    props = [prop("fixed-version", f.fixed_version) for f in group if f.fixed_version]
    props.append(prop("fails-gate", any(id(f) in failing for f in group)))
    entry["properties"] = unique_props(props)
    return entry


def _affects(group: list[Finding], ref_for: RefFor) -> list[dict[str, Any]]:
    """Each affected component once, with every installed version found affected."""
    versions: dict[str, list[str]] = {}
    for finding in group:
        listed = versions.setdefault(ref_for(finding), [])
        if finding.installed_version and finding.installed_version not in listed:
            listed.append(finding.installed_version)
    affects = []
    for ref, found in versions.items():
        target: dict[str, Any] = {"ref": ref}
        if found:
            target["versions"] = [{"version": v, "status": "affected"} for v in found]
        affects.append(target)
    return affects
