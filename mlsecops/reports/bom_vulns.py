"""A scan's vulnerability findings as CycloneDX 1.6 `vulnerabilities`.

One entry per vulnerability id (and ignore decision): its rating, the components it
affects (by bom-ref, at their installed version), the fix as the recommendation, the
advisory links, and, when the policy ignored it, the policy's reason as the analysis.
The analysis carries no `state`: an ignore entry says why the finding may pass the gate,
not which CycloneDX state (not affected, will not fix, ...) is true.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from mlsecops.core.findings import Finding, Kind
from mlsecops.deps.unpinned import UNPINNED_ID
from mlsecops.reports.bom_packages import prop, unique_props

# Advisory links go into `advisories[].url`, an iri-reference: keep plain http(s) URLs only
# (they come from the vulnerability DB, and one with a space would make the document invalid).
_URL = re.compile(r"https?://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")

RefFor = Callable[[Finding], str]


def vulnerabilities(
    findings: Sequence[Finding], ref_for: RefFor, failing: Collection[int]
) -> list[dict[str, Any]]:
    """The `vulnerabilities` array; `failing` holds the `id()` of findings that fail the gate."""
    groups: dict[tuple[str, bool, str], list[Finding]] = {}
    for finding in findings:
        if finding.kind is Kind.VULNERABILITY and finding.id != UNPINNED_ID:
            key = (finding.id, finding.ignored, finding.ignore_reason)
            groups.setdefault(key, []).append(finding)
    entries = []
    refs: set[str] = set()
    for (vuln_id, ignored, reason), group in groups.items():
        ref = f"vulnerability:{vuln_id}"
        if ref in refs:  # the same id again under another ignore decision
            ref = f"{ref}#{len(refs)}"
        refs.add(ref)
        entry = _entry(ref, group, ref_for, failing)
        if ignored:
            entry["analysis"] = {"detail": reason or "ignored"}
        entries.append(entry)
    return entries


def _entry(
    ref: str, group: list[Finding], ref_for: RefFor, failing: Collection[int]
) -> dict[str, Any]:
    first = group[0]
    entry: dict[str, Any] = {"bom-ref": ref, "id": first.id}
    rating: dict[str, Any] = {"severity": first.severity.name.lower()}
    if first.cvss_score is not None:
        rating["score"] = first.cvss_score
    entry["ratings"] = [rating]
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
