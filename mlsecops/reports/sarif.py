"""SARIF 2.1.0 for GitHub code scanning.

One run per file, always: since July 2025 GitHub refuses a file with several runs of the
same category, so every target of a scan goes into one run under one category.

Locations are relative to the repository root (`uriBaseId` `%SRCROOT%`, whose absolute
`file://` URI is in the run's `originalUriBaseIds`), or to the model root given for a model
outside the repository (`MODELROOT1`, ...), and percent-encoded (RFC 3986). So `results` are
the same bytes whichever directory the scan ran from; only `originalUriBaseIds` says where.
An archive member is a property of the location on the archive file, never part of its URI.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
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
from mlsecops.core.rules import is_own_rule
from mlsecops.core.text import plain_text
from mlsecops.paths import SRCROOT, SourceRoots
from mlsecops.reports import DEFAULT_SARIF_CATEGORY
from mlsecops.reports.fingerprints import FINGERPRINT_NAME, fingerprints
from mlsecops.reports.sarif_rules import LEVELS, rule_descriptor
from mlsecops.secretscan.findings import SECRET_PROPERTY

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mlsecops/mlsecops-action"
DEFAULT_CATEGORY = DEFAULT_SARIF_CATEGORY
IMAGES_DIR = "container-images"  # images have no file: a stable pseudo-path per image

# GitHub keeps at most 5,000 results per run (by severity) and 10 MB of gzipped SARIF per
# upload; we stay inside both and report what we cut rather than have the upload refused.
MAX_RESULTS = 5000
MAX_GZIPPED_BYTES = 10 * 1000 * 1000


@dataclass(frozen=True)
class SarifResult:
    """The SARIF document and what was left out of it, for the summary to say."""

    document: dict[str, Any]
    text: str  # the document serialised, as written to the file
    included: int
    below_floor: int
    cut_for_limits: int


@dataclass(frozen=True)
class _Located:
    """Where one finding is, named the same from any working directory."""

    artifact: dict[str, str]  # SARIF artifactLocation: uri (+ uriBaseId)
    name: str  # the place in words: repo-relative path, or the image's label
    is_file: bool


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
    roots = outcome.roots or SourceRoots(Path.cwd())
    kept = eligible[:max_results]
    document = _document(kept, category, roots)
    text = _serialise(document)
    # Halve what we keep until the gzipped file fits; rare, but an over-limit upload fails.
    while len(kept) > 1 and _gzipped_size(text, max_gzipped_bytes) > max_gzipped_bytes:
        kept = kept[: len(kept) // 2]
        document = _document(kept, category, roots)
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


def _document(findings: Sequence[Finding], category: str, roots: SourceRoots) -> dict[str, Any]:
    located = {id(f): _locate(f, roots) for f in findings}
    by_rule: dict[str, list[Finding]] = {}
    for finding in findings:
        by_rule.setdefault(finding.id, []).append(finding)
    rule_index = {rule_id: index for index, rule_id in enumerate(by_rule)}
    rules = [
        rule_descriptor(rule_id, group, lambda f: located[id(f)].name)
        for rule_id, group in by_rule.items()
    ]
    prints = fingerprints(findings, [located[id(f)].name for f in findings])
    results = [
        _result(f, rule_index[f.id], located[id(f)], fp)
        for f, fp in zip(findings, prints, strict=True)
    ]
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
                "originalUriBaseIds": {
                    base.id: {"uri": base.uri, "description": {"text": base.description}}
                    for base in roots.bases
                },
                "columnKind": "utf16CodeUnits",
                "results": results,
            }
        ],
    }


def _locate(finding: Finding, roots: SourceRoots) -> _Located:
    """A repo-relative file, or for an image a stable pseudo-path GitHub accepts."""
    if finding.target_type is TargetType.IMAGE:
        label = roots.image_label(finding.target)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("_") or "image"
        return _Located({"uri": f"{IMAGES_DIR}/{safe}", "uriBaseId": SRCROOT}, label, False)
    place = roots.place(finding.target)
    if place is None:  # outside the repository and every model root: no stable name exists
        absolute = Path(finding.target).absolute()
        return _Located({"uri": absolute.as_uri()}, absolute.as_posix(), True)
    return _Located({"uri": place.uri, "uriBaseId": place.base_id}, place.path, True)


def _result(finding: Finding, rule_index: int, where: _Located, fingerprint: str) -> dict[str, Any]:
    region: dict[str, Any] = {"startLine": finding.line or 1}
    if finding.line and finding.end_line and finding.end_line > finding.line:
        region["endLine"] = finding.end_line
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": where.artifact, "region": region}
    }
    if finding.member:
        member = plain_text(" > ".join(finding.member), limit=None)
        location["message"] = {"text": f"In archive member {member}."}
        location["properties"] = {"archiveMember": list(finding.member)}
    result: dict[str, Any] = {
        "ruleId": finding.id,
        "ruleIndex": rule_index,
        "level": LEVELS[finding.severity],
        # Composed of untrusted names and advisory text, around words of ours that hold no
        # bracket: made plain text as a whole (one line, no embedded link can form).
        "message": {"text": plain_text(_message(finding, where), limit=None)},
        "locations": [location],
        "partialFingerprints": {FINGERPRINT_NAME: fingerprint},
        "properties": {"severity": finding.severity.name, "kind": str(finding.kind)},
    }
    if finding.baseline is not BaselineState.NONE:
        # SARIF's own word for a finding against a baseline: new, or unchanged.
        result["baselineState"] = "new" if finding.baseline is BaselineState.NEW else "unchanged"
    return result


def _message(finding: Finding, where: _Located) -> str:
    place = "" if where.is_file else f" in image {where.name}"
    if finding.member:
        place += f" in archive member {' > '.join(finding.member)}"
    advisory = finding.kind is Kind.VULNERABILITY and not is_own_rule(finding.id)
    if advisory:
        fixed = finding.fixed_version or "none yet"
        text = (
            f"{finding.id} ({finding.severity.name}): {finding.package} "
            f"{finding.installed_version}{place}; fixed version: {fixed}."
        )
    else:
        label = "informational" if finding.severity is Severity.UNKNOWN else finding.severity.name
        # A secret's redacted form (4 characters and the length) says which one to rotate.
        shown = finding.properties.get(SECRET_PROPERTY, "") if finding.kind is Kind.SECRET else ""
        what = (finding.title or finding.package) + (f" ({shown})" if shown else "")
        text = f"{finding.id} ({label}): {what}{place}."
    # A model finding's location (opcode position) and an image package's path are not
    # lines in a file, so they go in the message; a dependency file's is its line.
    if finding.location and (not where.is_file or finding.kind is not Kind.VULNERABILITY):
        text += f" Found at {_sentence(finding.location)}"
    if finding.fix:
        text += f" Fix: {_sentence(finding.fix)}"
    return text


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else f"{text}."
