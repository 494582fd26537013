"""Trivy's JSON report -> typed results (trivy/results.py): packages and findings per target.

Trivy's output has quirks we must survive: no `Results` at all, results with no
`Vulnerabilities`, several results for one target, the same CVE in several packages, and
optional fields that come and go between versions. Anything missing reads as empty.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from mlsecops.core.findings import Cvss, Finding, Kind, Severity
from mlsecops.trivy.json_values import dicts as _dicts
from mlsecops.trivy.json_values import listed, number
from mlsecops.trivy.json_values import text as _str
from mlsecops.trivy.parse_checks import misconfigurations, secrets
from mlsecops.trivy.results import ArtifactMetadata, Package, Result, ResultClass

# What the DB's text must look like to be kept (it goes into the ML-BOM as is).
_CVSS_VECTOR = re.compile(
    r"(CVSS:[234]\.[01]/)?[A-Za-z]{1,4}:[A-Za-z0-9.]{1,4}(/[A-Za-z]{1,4}:[A-Za-z0-9.]{1,4}){1,40}"
)
_CWE = re.compile(r"CWE-[0-9]{1,6}")


def parse_report(report: dict[str, Any]) -> tuple[Result, ...]:
    """Every result of a Trivy JSON report, with its packages and its findings."""
    return tuple(_result(result) for result in _dicts(report.get("Results")))


def parse_metadata(report: dict[str, Any]) -> ArtifactMetadata:
    """The report's `Metadata`: an image's digests and OS (empty for other scans)."""
    metadata = report.get("Metadata")
    if not isinstance(metadata, dict):
        return ArtifactMetadata()
    os_info = metadata.get("OS")
    os_name = ""
    if isinstance(os_info, dict) and _str(os_info.get("Family")):
        os_name = f"{_str(os_info.get('Family'))} {_str(os_info.get('Name'))}".strip()
    return ArtifactMetadata(
        image_id=_str(metadata.get("ImageID")),
        repo_digests=_strs(metadata.get("RepoDigests")),
        repo_tags=_strs(metadata.get("RepoTags")),
        diff_ids=_strs(metadata.get("DiffIDs")),
        os=os_name,
    )


def _result(result: dict[str, Any]) -> Result:
    target = _str(result.get("Target"))
    packages = tuple(_package(p) for p in _dicts(result.get("Packages")))
    lines = _package_lines(packages)
    findings = []
    for vuln, suppressed in _vulnerabilities(result):
        finding = _finding(vuln, target, _str(result.get("Type")), lines)
        if suppressed:
            finding = replace(finding, ignored=True, ignore_reason=suppressed)
        findings.append(finding)
    findings += misconfigurations(result, target)
    return Result(
        target=target,
        result_class=ResultClass.parse(_str(result.get("Class"))),
        type=_str(result.get("Type")),
        packages=packages,
        findings=tuple(findings),
        secrets=tuple(secrets(result)),
    )


def _package(package: dict[str, Any]) -> Package:
    identifier = package.get("Identifier")
    if not isinstance(identifier, dict):
        identifier = {}
    version = _str(package.get("Version"))
    source = None
    if _str(package.get("SrcName")):
        source = (
            _str(package.get("SrcName")),
            _str(package.get("SrcVersion")),
            _str(package.get("SrcRelease")),
            _int(package.get("SrcEpoch")),
        )
    return Package(
        name=_str(package.get("Name")),
        version=_str(package.get("Version")),
        uid=_str(identifier.get("UID")),
        purl=_str(identifier.get("PURL")),
        pkg_id=_str(package.get("ID")),
        lines=_first_span(package),
        dev=package.get("Dev") is True,
        path=_str(package.get("FilePath")),
        full_version=_full_version(version, _str(package.get("Release")), package.get("Epoch")),
        source=source,
    )


def _full_version(version: str, release: str, epoch: Any) -> str:
    """`epoch:version-release`, as Trivy gives an OS package's installed version."""
    if release:
        version = f"{version}-{release}"
    if isinstance(epoch, int) and epoch > 0:
        version = f"{epoch}:{version}"
    return version


def _first_span(package: dict[str, Any]) -> tuple[int, int] | None:
    """The first location's (start, end) line, when Trivy gives a sane one."""
    locations = list(_dicts(package.get("Locations")))
    if not locations:
        return None
    start = locations[0].get("StartLine")
    end = locations[0].get("EndLine", start)
    if not isinstance(start, int) or start < 1:
        return None
    return start, end if isinstance(end, int) and end >= start else start


def _package_lines(packages: tuple[Package, ...]) -> dict[str, tuple[int, int]]:
    """Manifest line spans per package, keyed by its UID and its ID (a vuln cites either)."""
    spans: dict[str, tuple[int, int]] = {}
    for package in packages:
        if package.lines is None:
            continue
        if package.uid:
            spans[package.uid] = package.lines
        if package.pkg_id:
            spans.setdefault(package.pkg_id, package.lines)
    return spans


def _vulnerabilities(result: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Each vulnerability, with why Trivy suppressed it ("" when it did not)."""
    return listed(result, "Vulnerabilities", "vulnerability")


def _finding(
    vuln: dict[str, Any], target: str, ecosystem: str, lines: dict[str, tuple[int, int]]
) -> Finding:
    """One vulnerability, named by Trivy's target (results.TrivyRun.findings renames it)."""
    package = _str(vuln.get("PkgName"))
    fixed = _str(vuln.get("FixedVersion"))
    identifier = vuln.get("PkgIdentifier")
    uid = _str(identifier.get("UID")) if isinstance(identifier, dict) else ""
    span = lines.get(uid) or lines.get(_str(vuln.get("PkgID")))
    return Finding(
        id=_str(vuln.get("VulnerabilityID")) or "UNKNOWN-ID",
        kind=Kind.VULNERABILITY,
        severity=Severity.parse(_str(vuln.get("Severity")) or "UNKNOWN"),
        target=target,
        title=_str(vuln.get("Title")),
        package=package,
        installed_version=_str(vuln.get("InstalledVersion")),
        fixed_version=fixed,
        description=_str(vuln.get("Description")),
        fix=f"upgrade {package} to {fixed}" if fixed else "no fixed version published yet",
        primary_url=_str(vuln.get("PrimaryURL")),
        references=tuple(r for r in vuln.get("References") or [] if isinstance(r, str)),
        cvss_score=_cvss_score(vuln),
        cvss=_cvss_ratings(vuln),
        cwes=tuple(c for c in _strs(vuln.get("CweIDs")) if _CWE.fullmatch(c)),
        line=span[0] if span else None,
        end_line=span[1] if span else None,
        # For image results the interesting detail is where in the image the package lives.
        location=_str(vuln.get("PkgPath")),
        ecosystem=ecosystem,
    )


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


def _cvss_ratings(vuln: dict[str, Any]) -> tuple[Cvss, ...]:
    """Every CVSS vector Trivy gives, per source (sorted) and version, newest version first."""
    cvss = vuln.get("CVSS")
    ratings: list[Cvss] = []
    for source, entry in sorted(cvss.items()) if isinstance(cvss, dict) else ():
        if not isinstance(entry, dict):
            continue
        for prefix in ("V40", "V3", "V2"):
            vector = _str(entry.get(f"{prefix}Vector"))
            if not _CVSS_VECTOR.fullmatch(vector):
                continue
            version = vector[5:8] if vector.startswith("CVSS:") else "2.0"
            score = _score(entry.get(f"{prefix}Score"))
            ratings.append(Cvss(str(source), version, vector, score))
    return tuple(ratings)


def _score(value: Any) -> float | None:
    """A CVSS score (0-10), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if 0 <= value <= 10 else None


def _strs(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str) and item)


def _int(value: Any) -> int:
    return number(value) or 0
