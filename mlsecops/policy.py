"""The policy file (`.mlsecops.yml` or `--policy FILE`): ignore entries and defaults.

Errors name the file, the line and the fix, because a typo in a policy silently widening
what is ignored is exactly what a security gate must not let through.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from mlsecops.errors import UsageError
from mlsecops.findings import Finding
from mlsecops.schemas import describe, schema_errors

DEFAULT_POLICY_NAME = ".mlsecops.yml"


@dataclass(frozen=True)
class IgnoreEntry:
    id: str
    reason: str
    package: str = ""
    target: str = ""  # a glob over the finding's target
    expires: dt.date | None = None
    line: int = 0  # where the entry sits in the policy file, for messages

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding) -> bool:
        if finding.id != self.id:
            return False
        if self.package and finding.package.lower() != self.package.lower():
            return False
        return not self.target or fnmatch.fnmatchcase(finding.target, self.target)


@dataclass(frozen=True)
class Policy:
    source: str = ""  # the file it came from; "" for the empty default policy
    fail_on: str | None = None
    ignores: tuple[IgnoreEntry, ...] = ()


@dataclass(frozen=True)
class Triage:
    """Findings with ignores applied, and what the policy says about itself."""

    findings: tuple[Finding, ...]
    expired: tuple[IgnoreEntry, ...]
    stale: tuple[IgnoreEntry, ...]  # entries that matched no finding


def find_policy(explicit: Path | None, project: Path) -> Path | None:
    """`--policy FILE` (must exist), else `.mlsecops.yml` at the scanned path when present."""
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"policy file not found: {explicit}", "check the --policy path")
        return explicit
    default = project / DEFAULT_POLICY_NAME
    return default if default.is_file() else None


def load_policy(path: Path) -> Policy:
    """Parse and validate a policy file against the shipped schema."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read policy file {path}: {exc}", "fix the file") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise UsageError(
            f"policy file {path}{where} is not valid YAML: {problem}", "fix the YAML syntax"
        ) from exc
    if data is None:
        data = {}
    data = _dates_to_strings(data)
    errors = schema_errors(data, "policy.schema.json")
    if errors:
        first = errors[0]
        line = _line_of(node, list(first.absolute_path))
        raise UsageError(
            f"policy file {path}:{line}: {describe(first)}",
            "see the policy format in the README (version: 1, ignore: [{id, reason, ...}])",
        )
    ignores = []
    for index, raw in enumerate(data.get("ignore") or []):
        expires = None
        if "expires" in raw:
            try:
                expires = dt.date.fromisoformat(raw["expires"])
            except ValueError as exc:
                line = _line_of(node, ["ignore", index, "expires"])
                raise UsageError(
                    f"policy file {path}:{line}: expires {raw['expires']!r} is not a real date",
                    "write it as YYYY-MM-DD",
                ) from exc
        ignores.append(
            IgnoreEntry(
                id=raw["id"],
                reason=raw["reason"],
                package=raw.get("package", ""),
                target=raw.get("target", ""),
                expires=expires,
                line=_line_of(node, ["ignore", index]),
            )
        )
    return Policy(source=str(path), fail_on=data.get("fail-on"), ignores=tuple(ignores))


def apply_policy(
    findings: Sequence[Finding],
    policy: Policy,
    *,
    ignore_unfixed: bool = False,
    today: dt.date | None = None,
) -> Triage:
    """Mark findings ignored by live policy entries (and unfixed ones when asked)."""
    today = today or dt.date.today()
    live = [entry for entry in policy.ignores if not entry.expired(today)]
    used: set[int] = set()
    triaged = []
    for finding in findings:
        entry = next((e for e in live if e.matches(finding)), None)
        if entry is not None:
            used.add(id(entry))
            finding = replace(finding, ignored=True, ignore_reason=entry.reason)
        elif ignore_unfixed and not finding.fixed_version and finding.kind == "vulnerability":
            finding = replace(
                finding, ignored=True, ignore_reason="no fixed version (--ignore-unfixed)"
            )
        triaged.append(finding)
    return Triage(
        findings=tuple(triaged),
        expired=tuple(e for e in policy.ignores if e.expired(today)),
        stale=tuple(e for e in live if id(e) not in used),
    )


def _dates_to_strings(value: Any) -> Any:
    # YAML reads 2027-03-31 as a date; the schema (and JSON) speak strings.
    if isinstance(value, dict):
        return {k: _dates_to_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates_to_strings(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _line_of(node: yaml.Node | None, path: list[Any]) -> int:
    """1-based line of the YAML node at `path`, or of the deepest ancestor that exists."""
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
