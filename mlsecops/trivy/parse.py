"""Trivy's JSON report -> findings.

Trivy's output has quirks we must survive: no `Results` at all, results with no
`Vulnerabilities`, several results for one target, the same CVE in several packages, and
optional fields that come and go between versions. Anything missing reads as empty.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from mlsecops.core.findings import Finding, Kind, Severity, TargetType

# Turns Trivy's per-result `Target` into the finding's target (a repo-relative file for a
# project scan, the image name for an image scan).
TargetNamer = Callable[[str], str]


def findings_from_report(
    report: dict[str, Any], name_target: TargetNamer, target_type: TargetType = TargetType.FILE
) -> list[Finding]:
    """Every vulnerability in a Trivy JSON report, de-duplicated."""
    seen: set[tuple[str, ...]] = set()
    findings: list[Finding] = []
    for result in _dicts(report.get("Results")):
        trivy_target = _str(result.get("Target"))
        lines = _package_lines(result)
        for vuln, suppressed in _vulnerabilities(result):
            finding = _finding(vuln, result, name_target(trivy_target), lines, target_type)
            if suppressed:
                finding = replace(finding, ignored=True, ignore_reason=suppressed)
            key = (
                finding.id,
                finding.target,
                finding.location,
                finding.package,
                finding.installed_version,
            )
            if key not in seen:
                seen.add(key)
                findings.append(finding)
    return findings


def _vulnerabilities(result: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each vulnerability, with why Trivy suppressed it ("" when it did not).

    With --show-suppressed, what `.trivyignore` / `.trivyignore.yaml` (or VEX) hid is
    listed under ExperimentalModifiedFindings; we keep it as an ignored finding.
    """
    for vuln in _dicts(result.get("Vulnerabilities")):
        yield vuln, ""
    for modified in _dicts(result.get("ExperimentalModifiedFindings")):
        hidden = modified.get("Finding")
        if modified.get("Type") != "vulnerability" or not isinstance(hidden, dict):
            continue
        source = _str(modified.get("Source")) or "Trivy"
        statement = _str(modified.get("Statement"))
        status = _str(modified.get("Status")) or "ignored"
        reason = f"{status} by {source}" + (f": {statement}" if statement else "")
        yield hidden, reason


def _finding(
    vuln: dict[str, Any],
    result: dict[str, Any],
    target: str,
    lines: dict[str, tuple[int, int]],
    target_type: TargetType,
) -> Finding:
    severity = Severity.parse(_str(vuln.get("Severity")) or "UNKNOWN")
    package = _str(vuln.get("PkgName"))
    installed = _str(vuln.get("InstalledVersion"))
    fixed = _str(vuln.get("FixedVersion"))
    identifier = vuln.get("PkgIdentifier")
    if not isinstance(identifier, dict):
        identifier = {}
    span = lines.get(_str(identifier.get("UID"))) or lines.get(_str(vuln.get("PkgID")))
    # For image results the interesting detail is where in the image the package lives.
    pkg_path = _str(vuln.get("PkgPath"))
    trivy_target = _str(result.get("Target"))
    location = pkg_path or (trivy_target if trivy_target != target else "")
    return Finding(
        id=_str(vuln.get("VulnerabilityID")) or "UNKNOWN-ID",
        kind=Kind.VULNERABILITY,
        severity=severity,
        target=target,
        target_type=target_type,
        title=_str(vuln.get("Title")),
        package=package,
        installed_version=installed,
        fixed_version=fixed,
        description=_str(vuln.get("Description")),
        fix=f"upgrade {package} to {fixed}" if fixed else "no fixed version published yet",
        primary_url=_str(vuln.get("PrimaryURL")),
        references=tuple(r for r in vuln.get("References") or [] if isinstance(r, str)),
        cvss_score=_cvss_score(vuln),
        line=span[0] if span else None,
        end_line=span[1] if span else None,
        location=location,
        ecosystem=_str(result.get("Type")),
    )


def _package_lines(result: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """Manifest line spans per package, keyed by its UID and its ID (a vuln cites either)."""
    spans: dict[str, tuple[int, int]] = {}
    for package in _dicts(result.get("Packages")):
        locations = list(_dicts(package.get("Locations")))
        if not locations:
            continue
        start = locations[0].get("StartLine")
        end = locations[0].get("EndLine", start)
        if not isinstance(start, int) or start < 1:
            continue
        span = (start, end if isinstance(end, int) and end >= start else start)
        identifier = package.get("Identifier")
        if isinstance(identifier, dict) and identifier.get("UID"):
            spans[_str(identifier["UID"])] = span
        if package.get("ID"):
            spans.setdefault(_str(package["ID"]), span)
    return spans


def _cvss_score(vuln: dict[str, Any]) -> float | None:
    """The CVSS score of the source Trivy took the severity from, else NVD's, else any."""
    cvss = vuln.get("CVSS")
    if not isinstance(cvss, dict):
        return None
    preferred = [_str(vuln.get("SeveritySource")), "nvd", *sorted(cvss)]
    for source in preferred:
        entry = cvss.get(source)
        if not isinstance(entry, dict):
            continue
        for field in ("V40Score", "V3Score", "V2Score"):
            score = entry.get(field)
            if isinstance(score, int | float) and 0 < score <= 10:
                return float(score)
    return None


def _dicts(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, dict))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""
