"""The policy file (`.mlsecops.yml` or `--policy FILE`): ignore entries, gate and report settings.

Errors name the file, the line and the fix, because a typo in a policy silently widening
what is ignored is exactly what a security gate must not let through.
"""

from __future__ import annotations

import datetime as dt
import difflib
import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from mlsecops.core.findings import (
    ANALYSIS_JUSTIFICATION,
    ANALYSIS_STATE,
    IGNORE_EXPIRES,
    Finding,
    Kind,
)
from mlsecops.core.gate import Gate, parse_fail_on
from mlsecops.deps.listing import normalise
from mlsecops.deps.unpinned import UNPINNED_ID
from mlsecops.errors import UsageError
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind
from mlsecops.guarded.yaml_text import GuardedLoader, yaml_problem
from mlsecops.schemas import schema_errors

if TYPE_CHECKING:
    import jsonschema  # imported for real only when a policy is invalid (mlsecops.schemas)

DEFAULT_POLICY_NAME = ".mlsecops.yml"
KINDS = tuple(str(kind) for kind in Kind)
KEYS = ("version", "fail-on", "fail-on-by-kind", "sarif-severity", "model-scanner", "ignore")

# The fix for a schema error, by the top-level key it sits under.
_FIXES = {
    "": "start the file with `version: 1`; the keys are " + ", ".join(KEYS),
    "version": "write `version: 1`",
    "fail-on": "write LOW, MEDIUM, HIGH, CRITICAL or NONE",
    "fail-on-by-kind": "write a severity (LOW, MEDIUM, HIGH, CRITICAL or NONE) per finding kind, "
    "e.g. `fail-on-by-kind: {model: MEDIUM}` (kinds: " + ", ".join(KINDS) + ")",
    "sarif-severity": "write LOW, MEDIUM, HIGH or CRITICAL",
    "model-scanner": 'write `model-scanner: {allow-globals: ["module:name", ...]}` '
    "(a pickle global as `module:name` or `module.name`; `*` matches within a name part)",
    "ignore": "each entry is a mapping with `id` and `reason` (both required) and optionally "
    "`package`, `target` (a glob), `expires` (YYYY-MM-DD), `state` (CycloneDX's analysis "
    "state: not_affected, false_positive, exploitable, in_triage, resolved) and, with "
    "`state: not_affected`, `justification` (code_not_present, code_not_reachable, ...)",
}


class _Loader(GuardedLoader):
    """Guarded YAML (no aliases, bounded depth, text keys) that keeps dates as text, so
    `expires: 2027-02-30` is an error we explain (the stock loader raises a bare ValueError
    building that date)."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in GuardedLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class IgnoreEntry:
    """One `ignore:` entry of the policy file: an id, why, and how far it reaches."""

    id: str
    reason: str
    package: str = ""
    target: str = ""  # a glob over the finding's target
    expires: dt.date | None = None
    line: int = 0  # where the entry sits in the policy file, for messages
    # CycloneDX's impact analysis of an ignored vulnerability, for the ML-BOM: what the
    # entry claims (not_affected, false_positive, exploitable, ...) and, for not_affected,
    # why; an entry that claims nothing is in_triage (reports/bom_vulns).
    state: str = ""
    justification: str = ""

    def marks(self) -> dict[str, str]:
        """What the entry adds to a finding it ignores: its analysis and its expiry."""
        marks = {ANALYSIS_STATE: self.state, ANALYSIS_JUSTIFICATION: self.justification}
        marks[IGNORE_EXPIRES] = self.expires.isoformat() if self.expires else ""
        return {key: value for key, value in marks.items() if value}

    def expired(self, today: dt.date) -> bool:
        """True after the entry's `expires` date: it then matches nothing."""
        return self.expires is not None and today > self.expires

    def matches(self, finding: Finding) -> bool:
        """True when the entry covers `finding`: same id, and its package and target if given."""
        if finding.id != self.id:
            return False
        if self.package and normalise(finding.package) != normalise(self.package):
            return False
        return not self.target or fnmatch.fnmatchcase(finding.target, self.target)


@dataclass(frozen=True)
class Policy:
    """The policy file read: ignores, gate settings and report settings."""

    source: str = ""  # the file it came from; "" for the empty default policy
    fail_on: str | None = None  # every kind not in fail_on_by_kind
    fail_on_by_kind: tuple[tuple[Kind, str], ...] = ()
    sarif_severity: str | None = None
    allow_globals: tuple[str, ...] = ()  # extra pickle globals the model scanner trusts
    ignores: tuple[IgnoreEntry, ...] = ()
    exclude: tuple[str, ...] = ()  # globs: dependency files not scanned


@dataclass(frozen=True)
class Triage:
    """Findings with ignores applied, and what the policy says about itself."""

    findings: tuple[Finding, ...]
    expired: tuple[IgnoreEntry, ...]
    stale: tuple[IgnoreEntry, ...]  # entries that matched no finding


def find_policy(explicit: Path | None, project: Path) -> Path | None:
    """`--policy FILE` (must exist), else `.mlsecops.yml` at the scanned path when present.

    Present means anything by that name (even a broken symlink): a `.mlsecops.yml` that is a
    directory, a FIFO or a device is a policy the user meant to apply, so it is an error
    (raised when it is read), never skipped as absent.
    """
    if explicit is not None:
        if not os.path.lexists(explicit):
            raise UsageError(f"policy file not found: {explicit}", "check the --policy path")
        return explicit
    default = project / DEFAULT_POLICY_NAME
    return default if os.path.lexists(default) else None


def build_gate(policy: Policy, fail_on_flag: str | None, *, new_only: bool = False) -> Gate:
    """The gate. `--fail-on` (flag or action input) replaces the file's `fail-on` and
    `fail-on-by-kind` both: NONE on the command line must mean "never fail"."""
    if fail_on_flag is not None:
        return Gate(parse_fail_on(fail_on_flag), new_only=new_only)
    by_kind = tuple((kind, parse_fail_on(level)) for kind, level in policy.fail_on_by_kind)
    return Gate(parse_fail_on(policy.fail_on or "HIGH"), by_kind, new_only)


def load_policy(path: Path) -> Policy:
    """Parse and validate a policy file against the shipped schema."""
    text = read_text(path, InputKind.POLICY)
    # Parsed once: the node tree gives error lines, the data built from it is validated.
    try:
        loader = _Loader(text)  # reads the text: an unprintable character fails already here
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        where, problem = yaml_problem(exc)
        raise UsageError(
            f"policy file {path}{where} is not valid YAML: {problem}", "fix the YAML syntax"
        ) from exc
    if data is None:
        data = {}
    errors = schema_errors(data, "policy.schema.json")
    if errors:
        line, problem, fix = _explain(errors[0], node)
        raise UsageError(f"policy file {path}:{line}: {problem}", fix)
    by_kind = data.get("fail-on-by-kind") or {}
    return Policy(
        source=str(path),
        fail_on=data.get("fail-on"),
        fail_on_by_kind=tuple((kind, by_kind[str(kind)]) for kind in Kind if str(kind) in by_kind),
        sarif_severity=data.get("sarif-severity"),
        allow_globals=tuple((data.get("model-scanner") or {}).get("allow-globals") or ()),
        ignores=tuple(_ignores(data.get("ignore") or [], node, path)),
        exclude=tuple(data.get("exclude") or ()),
    )


def _ignores(
    raw_entries: list[dict[str, Any]], node: yaml.Node | None, path: Path
) -> list[IgnoreEntry]:
    ignores = []
    for index, raw in enumerate(raw_entries):
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
                state=raw.get("state", ""),
                justification=raw.get("justification", ""),
            )
        )
        if ignores[-1].justification and ignores[-1].state != "not_affected":
            raise UsageError(
                f"policy file {path}:{ignores[-1].line}: a justification says why a finding "
                "does not affect you, so it needs `state: not_affected`",
                "add `state: not_affected` to the entry, or remove its justification",
            )
    return ignores


def apply_policy(
    findings: Sequence[Finding],
    policy: Policy,
    *,
    ignore_unfixed: bool = False,
    today: dt.date | None = None,
) -> Triage:
    """Mark findings ignored by live policy entries (and unfixed ones when asked).

    A finding Trivy already suppressed (.trivyignore) keeps Trivy's reason; a policy entry
    matching it still counts as used, so it is not reported as stale.
    """
    today = today or dt.date.today()
    live = [entry for entry in policy.ignores if not entry.expired(today)]
    used: set[int] = set()
    triaged = []
    for finding in findings:
        entry = next((e for e in live if e.matches(finding)), None)
        if entry is not None:
            used.add(id(entry))
            if not finding.ignored:
                marks = {**finding.properties, **entry.marks()}
                finding = replace(
                    finding, ignored=True, ignore_reason=entry.reason, properties=marks
                )
        elif ignore_unfixed and _unfixed(finding) and not finding.ignored:
            finding = replace(
                finding, ignored=True, ignore_reason="no fixed version (--ignore-unfixed)"
            )
        triaged.append(finding)
    return Triage(
        findings=tuple(triaged),
        expired=tuple(e for e in policy.ignores if e.expired(today)),
        stale=tuple(e for e in live if id(e) not in used),
    )


def _unfixed(finding: Finding) -> bool:
    # An unpinned requirement has no fixed version either, but it is not a vulnerability
    # waiting for a fix: --ignore-unfixed must not hide it.
    return (
        finding.kind == Kind.VULNERABILITY
        and not finding.fixed_version
        and finding.id != UNPINNED_ID
    )


def _explain(error: jsonschema.ValidationError, node: yaml.Node | None) -> tuple[int, str, str]:
    """The line, the problem and the fix for one schema error, in a user's words."""
    path = list(error.absolute_path)
    top = str(path[0]) if path else ""
    fix = _FIXES.get(top, _FIXES[""])
    where = _where(path)
    instance: Any = error.instance
    validator = error.validator
    line = _line_of(node, path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    if validator == "additionalProperties":
        known = list(schema.get("properties", {}))
        unknown = sorted((k for k in instance if k not in known), key=str)
        key = str(unknown[0]) if unknown else "?"
        line = _key_line(node, path, key)
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        problem = f"{where}: unknown key {key!r}{hint}" if path else f"unknown key {key!r}{hint}"
        if not path:
            fix = "the keys are " + ", ".join(KEYS)
        return line, problem, fix
    if validator == "required":
        missing = [k for k in schema.get("required", []) if k not in instance]
        return line, f"{where}: {missing[0]!r} is missing", fix
    if validator == "type":
        if not path:
            return line, "the policy must be a YAML mapping", fix
        expected = {"object": "a mapping", "array": "a list", "string": "text"}
        shown = expected.get(str(error.validator_value), str(error.validator_value))
        return line, f"{where} must be {shown}, not {_yaml_type(instance)}", fix
    if validator in ("enum", "const"):
        return line, f"{where}: {instance!r} is not allowed", fix
    if validator == "pattern":
        what = "a date (YYYY-MM-DD)" if path[-1] == "expires" else "a pickle global"
        return line, f"{where}: {instance!r} is not {what}", fix
    if validator == "minLength":
        return line, f"{where} must not be empty", fix
    return line, f"{where}: {error.message}", fix


def _where(path: list[Any]) -> str:
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return where or "the file"


def _yaml_type(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if value is None:
        return "empty"
    if isinstance(value, dt.date):
        return "a date"
    return f"{value!r}"


def _key_line(node: yaml.Node | None, path: list[Any], key: str) -> int:
    """The line of `key` in the mapping at `path` (not of its value)."""
    line = _line_of(node, path)
    for part in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            node = node.value[part] if part < len(node.value) else None
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if k.value == key:
                return int(k.start_mark.line) + 1
    return line


def _line_of(node: yaml.Node | None, path: list[Any]) -> int:
    """1-based line of the YAML node at `path`, or of the deepest ancestor that exists.

    A mapping key in `path` as the last element points at the key itself.
    """
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == part), None)
            if pair is not None:
                line = pair[0].start_mark.line + 1
                child = pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            child = node.value[part] if part < len(node.value) else None
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line
