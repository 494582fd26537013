"""Build a real Trivy vulnerability DB (trivy.db + metadata.json) from advisories.

Trivy cannot download its DB here, so the tests write one: the buckets and JSON values
that trivy-db would have written, in a bbolt file from tests/support/bolt.py. The format
of tests/fixtures/advisories.yaml is described at the top of that file.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import yaml

from mlsecops.trivy.db_record import DbRecord, db_sha256, default_record_path, write_record

from .bolt import Bucket, write_bolt

DEFAULT_ADVISORIES = Path(__file__).resolve().parent.parent / "fixtures" / "advisories.yaml"

# The DB schema version this Trivy (0.76) expects; 1 or 3 make it refuse the DB.
SCHEMA_VERSION = 2

SEVERITIES = ("UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL")  # index = trivy-db's number
STATUSES = (  # index = trivy-db's number
    "unknown",
    "not_affected",
    "affected",
    "fixed",
    "under_investigation",
    "will_not_fix",
    "fix_deferred",
    "end_of_life",
)
_CVSS_KEYS = {
    "v2_vector": "V2Vector",
    "v2_score": "V2Score",
    "v3_vector": "V3Vector",
    "v3_score": "V3Score",
    "v40_vector": "V40Vector",
    "v40_score": "V40Score",
}


@dataclass(frozen=True)
class DataSource:
    """Where an ecosystem's advisories live in the DB and how Trivy names their source."""

    bucket: str
    id: str
    name: str
    url: str

    def as_json(self) -> dict[str, str]:
        return {"ID": self.id, "Name": self.name, "URL": self.url}


PIP = DataSource(
    bucket="pip::GitHub Security Advisory pip",
    id="ghsa",
    name="GitHub Security Advisory pip",
    url="https://github.com/advisories?query=type%3Areviewed+ecosystem%3Apip",
)


def data_source(ecosystem: str) -> DataSource:
    """The data source of "pip" or "debian N" (the bucket Trivy reads for Debian N)."""
    if ecosystem == "pip":
        return PIP
    if re.fullmatch(r"debian \d+", ecosystem):
        return DataSource(
            bucket=ecosystem,
            id="debian",
            name="Debian Security Tracker",
            url="https://salsa.debian.org/security-tracker-team/security-tracker",
        )
    raise ValueError(f"unsupported ecosystem {ecosystem!r} (use 'pip' or 'debian N')")


def normalize_pip_name(name: str) -> str:
    """Trivy's key for a Python package: lower-case, '_' -> '-' (dots are kept)."""
    return name.lower().replace("_", "-")


@dataclass(frozen=True)
class Advisory:
    """One vulnerability id in one ecosystem, affecting one or more packages."""

    id: str
    ecosystem: str
    packages: tuple[str, ...]
    vendor_ids: tuple[str, ...] = ()
    vulnerable: tuple[str, ...] = ()
    patched: tuple[str, ...] = ()
    fixed: str = ""
    status: str = ""
    severity: Mapping[str, str] = field(default_factory=dict)
    cvss: Mapping[str, Mapping[str, str | float]] = field(default_factory=dict)
    title: str = ""
    description: str = ""
    cwe_ids: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    published: str = ""
    last_modified: str = ""

    def __post_init__(self) -> None:
        source = data_source(self.ecosystem)  # also rejects unknown ecosystems
        if not self.packages:
            raise ValueError(f"{self.id}: no packages")
        if source is PIP:
            if not self.vulnerable:
                raise ValueError(f"{self.id}: a pip advisory needs vulnerable ranges")
            if self.fixed or self.status:
                raise ValueError(f"{self.id}: fixed/status are for debian; pip uses patched")
        else:
            if self.vulnerable or self.patched:
                raise ValueError(f"{self.id}: vulnerable/patched are for pip; debian uses fixed")
            if bool(self.fixed) == bool(self.status):
                raise ValueError(f"{self.id}: a debian advisory needs fixed OR status")
            if self.status and self.status not in STATUSES:
                raise ValueError(f"{self.id}: unknown status {self.status!r}")
        for source_id, level in self.severity.items():
            if level not in SEVERITIES:
                raise ValueError(f"{self.id}: unknown severity {level!r} for {source_id}")
        for source_id, scores in self.cvss.items():
            unknown = set(scores) - set(_CVSS_KEYS)
            if unknown:
                raise ValueError(f"{self.id}: unknown cvss keys {sorted(unknown)} ({source_id})")

    def advisory_json(self) -> dict[str, Any]:
        """The value stored under package -> id in the ecosystem's bucket."""
        if data_source(self.ecosystem) is PIP:
            return {
                "VendorIDs": list(self.vendor_ids),
                "PatchedVersions": list(self.patched),
                "VulnerableVersions": list(self.vulnerable),
            }
        if self.fixed:
            return {"FixedVersion": self.fixed}
        return {"Status": STATUSES.index(self.status)}

    def vulnerability_json(self) -> dict[str, Any]:
        """The value stored under the id in the `vulnerability` bucket."""
        source_id = data_source(self.ecosystem).id
        # The legacy top-level Severity: the data source's own rating, else NVD's.
        headline = self.severity.get(source_id) or self.severity.get("nvd") or "UNKNOWN"
        value: dict[str, Any] = {
            "Title": self.title,
            "Description": self.description,
            "Severity": headline,
            "CweIDs": list(self.cwe_ids),
            "VendorSeverity": {k: SEVERITIES.index(v) for k, v in self.severity.items()},
            "CVSS": {
                k: {_CVSS_KEYS[name]: score for name, score in scores.items()}
                for k, scores in self.cvss.items()
            },
            "References": list(self.references),
        }
        if self.published:
            value["PublishedDate"] = _go_time(self.published)
        if self.last_modified:
            value["LastModifiedDate"] = _go_time(self.last_modified)
        return {k: v for k, v in value.items() if v not in ("", [], {})}


def _go_time(text: str) -> str:
    """RFC 3339 as Go's encoding/json wants it; a bare date means midnight UTC."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text}T00:00:00Z"
    return text


def _text(value: object) -> str:
    # PyYAML turns unquoted dates into date/datetime objects; accept those too.
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


_FIELDS = set(Advisory.__dataclass_fields__)


def advisory_from_dict(entry: Mapping[str, Any]) -> Advisory:
    """One advisories.yaml entry -> Advisory; unknown keys are an error (typos hide data)."""
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ValueError(f"{entry.get('id', '?')}: unknown keys {sorted(unknown)}")
    tuples = ("packages", "vendor_ids", "vulnerable", "patched", "cwe_ids", "references")
    kwargs: dict[str, Any] = {}
    for key, value in entry.items():
        if key in tuples:
            kwargs[key] = tuple(_text(v) for v in (value or ()))
        elif key in ("severity", "cvss"):
            kwargs[key] = dict(value or {})
        else:
            kwargs[key] = _text(value)
    return Advisory(**kwargs)


def load_advisories(path: Path = DEFAULT_ADVISORIES) -> list[Advisory]:
    """Read an advisories YAML file (see tests/fixtures/advisories.yaml for the format)."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict) or not isinstance(document.get("advisories"), list):
        raise ValueError(f"{path}: expected a mapping with an 'advisories' list")
    return [advisory_from_dict(entry) for entry in document["advisories"]]


def db_buckets(advisories: Iterable[Advisory]) -> dict[bytes, Bucket]:
    """The bbolt buckets trivy-db would hold for these advisories."""
    sources: dict[bytes, bytes] = {}
    ecosystems: dict[bytes, dict[bytes, dict[bytes, bytes]]] = {}
    vulnerabilities: dict[bytes, bytes] = {}
    for advisory in advisories:
        source = data_source(advisory.ecosystem)
        bucket = source.bucket.encode()
        sources[bucket] = _json(source.as_json())
        packages = ecosystems.setdefault(bucket, {})
        value = _json(advisory.advisory_json())
        for package in advisory.packages:
            name = normalize_pip_name(package) if source is PIP else package
            ids = packages.setdefault(name.encode(), {})
            if advisory.id.encode() in ids:
                raise ValueError(f"{advisory.id} listed twice for {name} ({source.bucket})")
            ids[advisory.id.encode()] = value
        details = _json(advisory.vulnerability_json())
        if vulnerabilities.setdefault(advisory.id.encode(), details) != details:
            raise ValueError(f"{advisory.id}: two different sets of details")
    buckets: dict[bytes, Bucket] = {b"data-source": sources, b"vulnerability": vulnerabilities}
    buckets.update(ecosystems)
    return buckets


def _json(value: object) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def build_trivy_db_from(
    cache_dir: Path,
    advisories: Iterable[Advisory],
    *,
    now: datetime | None = None,
    inline_small: bool = False,
) -> Path:
    """Write cache_dir/db/trivy.db and metadata.json for `advisories`; return the db dir.

    Point Trivy at it with `--cache-dir cache_dir --skip-db-update`.
    """
    db_dir = cache_dir / "db"
    db_dir.mkdir(parents=True, exist_ok=True)
    write_bolt(db_dir / "trivy.db", db_buckets(advisories), inline_small=inline_small)
    stamp = (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    metadata = {
        "Version": SCHEMA_VERSION,
        # Far in the future, so even a Trivy run without --skip-db-update keeps this DB.
        "NextUpdate": "2999-12-31T00:00:00Z",
        "UpdatedAt": stamp,
        "DownloadedAt": stamp,
    }
    (db_dir / "metadata.json").write_text(json.dumps(metadata, indent=2) + "\n")
    # The record mlsecops writes when it downloads a DB: without it an offline scan cannot
    # date the DB (mlsecops/trivy/db_record.py), as for a cache nobody vouches for.
    built = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    record = DbRecord(db_sha256(db_dir / "trivy.db"), built, datetime(2999, 12, 31, tzinfo=UTC))
    write_record(default_record_path(cache_dir), record)
    return db_dir


def build_trivy_db(cache_dir: Path, advisories: Path = DEFAULT_ADVISORIES) -> Path:
    """Build the DB from an advisories YAML file (default: the fixture); return the db dir."""
    return build_trivy_db_from(cache_dir, load_advisories(advisories))


def synthetic_advisories(count: int, *, prefix: str = "mlpkg") -> list[Advisory]:
    """`count` made-up pip packages `{prefix}-00000`.., each vulnerable below 1.0.0.

    For size and speed checks (a DB with as many packages as the real one has pip entries).
    Ids are GHSA-shaped but fake: never mix them into assertions about real data.
    """
    width = max(5, len(str(count - 1)))
    return [
        Advisory(
            id=f"GHSA-fake-{index:0{width}d}",
            ecosystem="pip",
            packages=(f"{prefix}-{index:0{width}d}",),
            vulnerable=("< 1.0.0",),
            patched=("1.0.0",),
            severity={"ghsa": SEVERITIES[1 + index % 4]},
            title=f"synthetic advisory {index}",
        )
        for index in range(count)
    ]


# With all four, Trivy makes no network connection at all (no DB/Java DB download,
# no version check, no telemetry).
OFFLINE_FLAGS = (
    "--skip-db-update",
    "--skip-java-db-update",
    "--skip-version-check",
    "--disable-telemetry",
)


def run_trivy(trivy_bin: Path, cache_dir: Path, command: str, *args: str) -> dict[str, Any]:
    """Run Trivy offline with the vuln scanner and JSON output; return the parsed report.

    `run_trivy(bin, cache, "fs", "path/to/project")`,
    `run_trivy(bin, cache, "image", "--input", "image.tar")`. Raises TrivyFailed on a
    non-zero exit (Trivy then prints no report).
    """
    completed = subprocess.run(
        [
            str(trivy_bin),
            command,
            "--cache-dir",
            str(cache_dir),
            *OFFLINE_FLAGS,
            "--scanners",
            "vuln",
            "--format",
            "json",
            "--quiet",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if completed.returncode != 0:
        raise TrivyFailed(completed.returncode, completed.stderr)
    report: dict[str, Any] = json.loads(completed.stdout)
    return report


class TrivyFailed(Exception):
    """Trivy exited non-zero; `stderr` holds its log (the FATAL line says why)."""

    def __init__(self, returncode: int, stderr: str) -> None:
        super().__init__(f"trivy exited {returncode}: {stderr.strip()[-2000:]}")
        self.returncode = returncode
        self.stderr = stderr
