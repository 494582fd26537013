"""Advisories in Trivy's DB whose version bounds Trivy cannot compare, per package.

Trivy joins a pip advisory's vulnerable ranges with ` || ` and parses them with its PEP 440
library; when that fails it logs a warning and treats the package as NOT vulnerable to the
whole advisory. Worse, some bounds parse without an error but mean something else: in
`< 3.0.0-beta0` the pre-release label matches as `b` (the library tries the shortest label
first), and the left-over `eta0`... yields a second specifier `0` (an empty operator is
`==`), so no version is ever inside the range. Such advisories are dropped in silence.

This module reads the advisories of the packages a scan checked straight from trivy.db
(trivy/bolt.py), replays Trivy's parse, and names each advisory it would not apply, so the
coverage ledger can say so (unparseable-version) instead of the package reading as clean.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.trivy.bolt import BoltError, BoltFile, Bucket

_PIP_BUCKETS = b"pip::"
_MAX_BOUND = 256  # longer range strings are not checked (no real advisory has one)

# Trivy's PEP 440 version grammar. Alternations in the order Trivy's regexp tries them
# (shortest pre-release label first): that order is what misreads `-beta0` as `-b`.
_PRE = r"(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?(?:[0-9]+)?)?"
_POST = r"(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?(?:[0-9]+)?)?"
_DEV = r"(?:[-_.]?dev[-_.]?(?:[0-9]+)?)?"
_LOCAL = r"(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?"
_VERSION = rf"v?(?:(?:[0-9]+!)?[0-9]++(?:\.[0-9]++)*{_PRE}{_POST}{_DEV}){_LOCAL}"
_OPERATORS = r"===|==|!=|~=|>=|<=|>|<|=|"
_RELEASE = re.compile(r"^v?(?:[0-9]+!)?(?P<release>[0-9]+(?:\.[0-9]+)*)", re.IGNORECASE)
_ONE_VERSION = re.compile(rf"^\s*{_VERSION}\s*$", re.IGNORECASE)
_SPECIFIER = re.compile(rf"(?P<op>{_OPERATORS})\s*(?P<version>{_VERSION}(?:\.\*)?)", re.IGNORECASE)
# The segment check is case-sensitive in Trivy's library (its regexp has no (?i) flag).
_VALID_SEGMENT = re.compile(rf"^\s*(?:\s*(?:{_OPERATORS})\s*(?:{_VERSION}(?:\.\*)?)\s*,?)*\s*$")


def trivy_reads_version(version: str) -> bool:
    """Whether Trivy can parse an installed version at all."""
    return bool(_ONE_VERSION.match(version))


# Ranges in canonical PEP 440 form (what the advisory databases nearly always hold, and a
# patched version is a bare one), which Trivy reads as written: one match, no replay.
_CANONICAL_CLAUSE = (
    r"(?:[<>]=?|[=!]=)?\s*[0-9]+(?:\.[0-9]+)*(?:(?:a|b|rc)[0-9]+)?(?:\.post[0-9]+)?(?:\.dev[0-9]+)?"
)
_CANONICAL = re.compile(rf"^\s*{_CANONICAL_CLAUSE}(?:\s*,\s*{_CANONICAL_CLAUSE})*\s*$")


def why_not_compared(ranges: Sequence[str]) -> str:
    """Empty when Trivy reads these ranges as written; else how it fails or misreads them."""
    if all(_CANONICAL.match(r) for r in ranges):
        return ""
    for segment in " || ".join(ranges).split("||"):
        if segment.strip() == "*" or len(segment) > _MAX_BOUND:
            continue
        if not _VALID_SEGMENT.match(segment):
            return f"Trivy rejects the range {segment.strip()!r}"
        found = list(_SPECIFIER.finditer(segment))
        for match in found:
            problem = _operator_problem(match["op"], match["version"])
            if problem:
                return f"Trivy rejects {match[0].strip()!r} ({problem})"
        written = re.sub(r"[\s,]", "", segment)
        read = "".join(re.sub(r"\s", "", m[0]) for m in found)
        if written != read:
            shown = ", ".join(m[0].strip() for m in found)
            return f"Trivy misreads the range {segment.strip()!r} as {shown!r}"
    return ""


def _operator_problem(operator: str, version: str) -> str:
    wildcard = version.endswith(".*")
    base = version.removesuffix(".*")
    if operator == "===":
        return ""
    if operator in ("", "=", "==", "!="):
        if wildcard and ("+" in base or re.search(r"dev", base, re.IGNORECASE)):
            return "a wildcard with a dev or local version"
        return ""
    if wildcard:
        return "a wildcard with an ordering operator"
    if (
        operator == "~="
        and len(re.findall(r"^v?(?:[0-9]+!)?([0-9]+(?:\.[0-9]+)*)", base)[0].split(".")) < 2
    ):
        return "~= needs two release numbers"
    if "+" in base:
        return "a local version in an ordering bound"
    return ""


@dataclass(frozen=True)
class Uncompared:
    """One advisory Trivy would not apply to one package, and why."""

    advisory: str
    reason: str


class AdvisoryBounds:
    """Looks the checked packages' pip advisories up in trivy.db (see the module docstring)."""

    def __init__(self, db: Path) -> None:
        self.db = db

    def uncompared(
        self, packages: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[Uncompared]]:
        """(name as listed, version) -> the advisories Trivy cannot apply to it; packages
        whose every advisory Trivy reads are left out. No DB file: nothing to say."""
        if not self.db.is_file():
            return {}
        try:
            with BoltFile(self.db) as bolt:
                return _uncompared(bolt, list(dict.fromkeys(packages)))
        except (BoltError, OSError, ValueError):
            return {}  # a DB this reader cannot read: Trivy's own verdict stands


def _uncompared(
    bolt: BoltFile, packages: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], list[Uncompared]]:
    sources = [
        bucket
        for key, _value, is_bucket in bolt.items(bolt.root)
        if is_bucket and key.startswith(_PIP_BUCKETS)
        if (bucket := bolt.bucket(bolt.root, key)) is not None
    ]
    versions: dict[bytes, list[tuple[str, str]]] = {}
    for name, version in packages:
        versions.setdefault(_db_key(name), []).append((name, version))
    out: dict[tuple[str, str], list[Uncompared]] = {}
    for source in sources:
        for key, package in _packages(bolt, source, versions):
            advisories = [
                (advisory_id.decode(errors="replace"), {} if _plainly_read(raw) else _json(raw))
                for advisory_id, raw, is_bucket in bolt.items(package)
                if not is_bucket
            ]
            for name, version in versions[key]:
                problems = list(_problems(advisories, version))
                if problems:
                    out.setdefault((name, version), []).extend(problems)
    return out


def _db_key(name: str) -> bytes:
    return name.lower().replace("_", "-").encode()  # how trivy-db names a pip package


# Looking each package up costs a walk down the tree; past this many, reading the bucket's
# keys once is cheaper.
_WALK_FROM = 2000


def _packages(
    bolt: BoltFile, source: Bucket, wanted: Mapping[bytes, object]
) -> Iterable[tuple[bytes, Bucket]]:
    """(package key, its bucket) of each wanted package the data source has advisories for."""
    if len(wanted) < _WALK_FROM:
        for key in wanted:
            bucket = bolt.bucket(source, key)
            if bucket is not None:
                yield key, bucket
        return
    for key, value, is_bucket in bolt.items(source):
        if is_bucket and key in wanted:
            yield key, bolt.bucket_at(value)


def _problems(
    advisories: Sequence[tuple[str, Mapping[str, object]]], version: str
) -> Iterable[Uncompared]:
    readable_version = trivy_reads_version(version)
    for advisory_id, advisory in advisories:
        if not readable_version:
            reason = f"Trivy cannot parse the version {version!r}"
        else:
            reason = why_not_compared(_strings(advisory.get("VulnerableVersions")))
            reason = reason or why_not_compared(_strings(advisory.get("PatchedVersions")))
        if reason:
            yield Uncompared(advisory_id, reason)


_RAW_RANGES = re.compile(rb'"(?:VulnerableVersions|PatchedVersions)":\[(?P<items>[^\]\\]*)\]')
_RAW_ITEM = re.compile(rb'"([^"]*)"')
_RAW_CANONICAL = re.compile(_CANONICAL.pattern.encode())


def _plainly_read(raw: bytes) -> bool:
    """Every range of a stored advisory is canonical: decided on its bytes, no JSON parse
    (the common case, and most of the cost of a 20,000-package check otherwise)."""
    if b"\\" in raw:
        return False
    for ranges in _RAW_RANGES.finditer(raw):
        if not all(_RAW_CANONICAL.match(item) for item in _RAW_ITEM.findall(ranges["items"])):
            return False
    return True


def _json(raw: bytes) -> Mapping[str, object]:
    try:
        value = json.loads(raw)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
