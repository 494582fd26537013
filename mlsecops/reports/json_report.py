"""The machine report (`--json`), validated against the shipped schema before it is written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from mlsecops import __version__
from mlsecops.core.coverage import Coverage
from mlsecops.core.db_status import DbStatus, DbTrust
from mlsecops.core.findings import BaselineState, Finding, Severity
from mlsecops.core.outcome import ScanOutcome
from mlsecops.core.text import has_surrogates, valid_unicode
from mlsecops.errors import ToolError
from mlsecops.paths import write_text_atomic
from mlsecops.reports.kinds import counts_by_kind
from mlsecops.schemas import describe, schema_errors
from mlsecops.triage.policy import IgnoreEntry

SCHEMA_VERSION = 1


def report_dict(outcome: ScanOutcome) -> dict[str, Any]:
    """The JSON report as plain data (see docs/interface.md for the fixed fields)."""
    failing = set(map(id, outcome.failing))
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "mlsecops", "version": __version__},
        "passed": outcome.passed,
        "fail_on": outcome.gate.label,
        "counts": outcome.counts(),
        "counts_by_kind": counts_by_kind(outcome.open_findings),
        "failing": len(outcome.failing),
        "ignored": len(outcome.ignored_findings),
        "targets": list(outcome.targets),
        "notes": list(outcome.notes),
        "policy": {
            "source": outcome.policy_source,
            "expired": [_entry(e) for e in outcome.expired_ignores],
            "stale": [_entry(e) for e in outcome.stale_ignores],
        },
        "gate": {
            "fail_on_by_kind": {kind: _label(t) for kind, t in outcome.gate.by_kind},
            "new_only": outcome.gate.new_only,
        },
        "baseline": _baseline(outcome),
        "coverage": _coverage(outcome.coverage),
        "db": _db(outcome.db),
        "findings": [_finding(f, id(f) in failing) for f in outcome.findings],
    }


def _db(status: DbStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {
        "updated_at": status.updated_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "age_days": round(status.age_days, 2),
        "max_age_days": status.max_age_days,
        "source": str(status.source),
        "trust": str(status.trust),
        "verified": status.trust is not DbTrust.METADATA,
        "sha256": status.sha256,
        "repository": status.repository,
        "cache_key": status.cache_key,
    }


def _coverage(coverage: Coverage) -> dict[str, Any]:
    """The ledger: files read, packages checked, and what was not checked, by reason."""
    return {
        "files": [
            {"path": f.path, "kind": f.kind, "packages": f.packages, "checked": f.checked}
            for f in coverage.files
        ],
        "packages_listed": coverage.packages_listed,
        "packages_checked": coverage.packages_checked,
        "not_checked_by_reason": {str(r): n for r, n in coverage.by_reason().items()},
        "not_checked": [
            {
                "reason": str(item.reason),
                "target": item.target,
                "name": item.name,
                "line": item.line,
                "detail": item.detail,
            }
            for item in coverage.not_checked
        ],
    }


def _label(threshold: Severity | None) -> str:
    return "NONE" if threshold is None else threshold.name


def _baseline(outcome: ScanOutcome) -> dict[str, Any]:
    """Against the --baseline report: how many findings are new, existing, fixed."""
    if not outcome.has_baseline:
        return {"source": "", "new": 0, "existing": 0, "fixed": []}
    return {
        "source": outcome.baseline_source,
        "new": len(outcome.new_findings),
        "existing": sum(1 for f in outcome.open_findings if f.baseline is BaselineState.EXISTING),
        "fixed": [
            {
                "id": e.id,
                "kind": e.kind,
                "package": e.package,
                "target": e.target,
                "installed_version": e.installed_version,
                "severity": e.severity,
            }
            for e in outcome.fixed_since_baseline
        ],
    }


def _finding(finding: Finding, fails_gate: bool) -> dict[str, Any]:
    return {
        "id": finding.id,
        "kind": str(finding.kind),
        "severity": finding.severity.name,
        "target": finding.target,
        "package": finding.package,
        "installed_version": finding.installed_version,
        "fixed_version": finding.fixed_version,
        "title": finding.title,
        "ignored": finding.ignored,
        "ignore_reason": finding.ignore_reason,
        "baseline": str(finding.baseline),
        "fails_gate": fails_gate,
        "description": finding.description,
        "fix": finding.fix,
        "primary_url": finding.primary_url,
        "references": list(finding.references),
        "cvss_score": finding.cvss_score,
        "line": finding.line,
        "end_line": finding.end_line,
        "location": finding.location,
        "member": list(finding.member),
        "ecosystem": finding.ecosystem,
        "properties": dict(finding.properties),
    }


def _entry(entry: IgnoreEntry) -> dict[str, Any]:
    data: dict[str, Any] = {"id": entry.id, "reason": entry.reason, "line": entry.line}
    if entry.package:
        data["package"] = entry.package
    if entry.target:
        data["target"] = entry.target
    if entry.expires:
        data["expires"] = entry.expires.isoformat()
    return data


def write_json_report(outcome: ScanOutcome, path: Path) -> None:
    """Validate, then write atomically: a reader never sees half a report."""
    data = report_dict(outcome)
    errors = schema_errors(data, "report.schema.json")
    if errors:  # a bug on our side, never the user's input
        raise ToolError(f"internal error: report fails its schema: {describe(errors[0])}")
    # No indent: it would switch json to its pure-Python encoder (jq pretty-prints it).
    text = json.dumps(data, ensure_ascii=False) + "\n"
    if has_surrogates(text):  # a note naming a non-UTF-8 file: make every string writable
        text = json.dumps(_valid_unicode(data), ensure_ascii=False) + "\n"
    write_text_atomic(path, text)


def _valid_unicode(value: Any) -> Any:
    if isinstance(value, str):
        return valid_unicode(value)
    if isinstance(value, dict):
        return {valid_unicode(k): _valid_unicode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_valid_unicode(v) for v in value]
    return value
