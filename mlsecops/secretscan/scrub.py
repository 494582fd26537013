"""The last safety net before any report: no text of a scan's result holds a secret.

Secret findings are built redacted, and Trivy's own quotes of a file are never kept
(trivy/parse_checks); but other text comes from what was scanned: a model finding quotes a
pickle's call arguments (`os.system('curl -H "Authorization: Bearer hf_..."')`), a location
names a metadata key, a file or member name is whatever its author chose, a tool's warning
quotes a line. Every string of every finding, note and target passes `redact.scrub` here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from mlsecops.core.coverage import Coverage
from mlsecops.core.findings import Finding
from mlsecops.core.source import SourceResult
from mlsecops.secretscan.redact import scrub

# The text fields of a Finding; the others are enums, numbers and flags.
_TEXT_FIELDS = tuple(
    field.name
    for field in dataclasses.fields(Finding)
    if field.type in ("str", str) and field.name != "id"
)


def scrub_finding(finding: Finding, known: Sequence[str] = ()) -> Finding:
    """The finding with every text field (and property and member name) scrubbed, of rule
    matches and of the `known` secrets."""
    changes: dict[str, Any] = {}
    for name in _TEXT_FIELDS:
        value = getattr(finding, name)
        cleaned = scrub(value, known)
        if cleaned != value:
            changes[name] = cleaned
    references = tuple(scrub(r, known) for r in finding.references)
    if references != finding.references:
        changes["references"] = references
    member = tuple(scrub(m, known) for m in finding.member)
    if member != finding.member:
        changes["member"] = member
    properties = {k: scrub(v, known) for k, v in finding.properties.items()}
    if properties != finding.properties:
        changes["properties"] = properties
    return dataclasses.replace(finding, **changes) if changes else finding


def scrub_result(result: SourceResult) -> SourceResult:
    """The result with every finding, note, target and ledger entry scrubbed."""
    return dataclasses.replace(
        result,
        findings=tuple(scrub_finding(f) for f in result.findings),
        notes=tuple(scrub(n) for n in result.notes),
        targets=tuple(scrub(t) for t in result.targets),
        coverage=_scrub_coverage(result.coverage),
    )


def _scrub_coverage(coverage: Coverage) -> Coverage:
    # A reason's detail may quote a tool's message (pip's, about a requirement line).
    items = tuple(
        dataclasses.replace(item, name=scrub(item.name), detail=scrub(item.detail))
        for item in coverage.not_checked
    )
    return Coverage(coverage.files, items) if items != coverage.not_checked else coverage
