"""`--baseline REPORT.json`: which findings a change brought in, and which it fixed.

The baseline is our own JSON report from the base branch. A finding is `existing` when the
baseline has the same kind, id and package (name compared normalised) in the same target;
failing that, in any target the baseline entry no longer matches (the lock file moved or was
renamed). The installed version is never compared: a bump that leaves the vulnerability in
place is not a new finding. Each baseline entry matches at most one finding, so a second
copy of a vulnerable package in a new file is new. Baseline entries matched by nothing
are `fixed`.

A baseline that is missing or unreadable never passes a change silently: every finding
counts as new, and a note says why. A path that is not a regular file (a FIFO, a device, a
directory) or a file over the size limit is refused outright (exit 2): that is no report
from a base branch but a mistake or an attack, and reading it could hang the scan.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlsecops.core.findings import BaselineState, Finding
from mlsecops.deps.listing import normalise
from mlsecops.errors import UsageError
from mlsecops.guarded.files import check_regular
from mlsecops.guarded.json_text import load_json
from mlsecops.guarded.limits import InputKind


@dataclass(frozen=True)
class BaselineEntry:
    """A finding of the baseline report, as far as matching needs it."""

    kind: str
    id: str
    package: str
    target: str
    installed_version: str = ""
    severity: str = ""
    member: tuple[str, ...] = ()  # the archive member inside `target`, outermost first

    @property
    def moved_key(self) -> tuple[str, ...]:
        """The finding's identity wherever it sits: kind, id and package."""
        return (self.kind, self.id, normalise(self.package))

    @property
    def exact_key(self) -> tuple[str, ...]:
        """The finding's identity in its place: the moved key plus target and archive member."""
        return (*self.moved_key, self.target, *self.member)


@dataclass(frozen=True)
class Baseline:
    """An earlier report's findings, and the file they came from."""

    source: str
    entries: tuple[BaselineEntry, ...]


@dataclass(frozen=True)
class Comparison:
    """The findings marked new or existing, the baseline's fixed ones, and notes on the match."""

    findings: tuple[Finding, ...]  # each marked new or existing
    fixed: tuple[BaselineEntry, ...]  # in the baseline, found no more
    notes: tuple[str, ...] = ()


def load_baseline(path: Path) -> tuple[Baseline | None, str]:
    """The baseline, or None and the reason it cannot be used."""
    # Imported here: jsonschema costs 0.25 s to import, and only a scan with --baseline needs it.
    from mlsecops.schemas import schema_errors

    if not os.path.lexists(path):
        return None, f"baseline report {path} not found"
    check_regular(path, InputKind.BASELINE)  # a FIFO, device or huge file: UsageError
    try:
        data = load_json(path, InputKind.BASELINE, "pass a report written by `mlsecops --json`")
    except UsageError as error:
        return None, error.problem
    errors = schema_errors(data, "report.schema.json")
    if errors:
        return None, f"baseline report {path} is not an mlsecops JSON report ({errors[0].message})"
    return Baseline(str(path), tuple(_entry(f) for f in data["findings"])), ""


def _entry(raw: dict[str, Any]) -> BaselineEntry:
    return BaselineEntry(
        kind=raw["kind"],
        id=raw["id"],
        package=raw["package"],
        target=raw["target"],
        installed_version=raw["installed_version"],
        severity=raw["severity"],
        member=tuple(raw.get("member", ())),
    )


def compare(findings: Sequence[Finding], path: Path) -> Comparison:
    """Mark every finding new or existing against the baseline report at `path`."""
    baseline, problem = load_baseline(path)
    if baseline is None:
        return Comparison(
            tuple(replace(f, baseline=BaselineState.NEW) for f in findings),
            (),
            (f"{problem}: every finding counts as new.",),
        )
    return match(findings, baseline)


def match(findings: Sequence[Finding], baseline: Baseline) -> Comparison:
    """Exact target first, then anywhere the baseline entry was not used up."""
    entries = baseline.entries
    used: set[int] = set()
    marked: list[BaselineState] = [BaselineState.NONE] * len(findings)
    for exact in (True, False):
        pool: dict[tuple[str, ...], list[int]] = {}
        for index, entry in enumerate(entries):
            if index not in used:
                key = entry.exact_key if exact else entry.moved_key
                pool.setdefault(key, []).append(index)
        for position, finding in enumerate(findings):
            candidates = pool.get(_key(finding, exact)) if not marked[position] else None
            if candidates:
                used.add(candidates.pop(0))
                marked[position] = BaselineState.EXISTING
    result = tuple(
        replace(f, baseline=_new_unless(mark)) for f, mark in zip(findings, marked, strict=True)
    )
    fixed = tuple(e for index, e in enumerate(entries) if index not in used)
    return Comparison(result, fixed)


def _new_unless(mark: BaselineState) -> BaselineState:
    return BaselineState.NEW if mark is BaselineState.NONE else mark


def _key(finding: Finding, exact: bool) -> tuple[str, ...]:
    moved = (str(finding.kind), finding.id, normalise(finding.package))
    return (*moved, finding.target, *finding.member) if exact else moved
