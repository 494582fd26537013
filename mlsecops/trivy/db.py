"""Getting Trivy's vulnerability DB before a scan, so the scan itself never downloads.

Users of trivy-action hit `TOOMANYREQUESTS` from ghcr.io again and again (trivy-action
#389, #430). So, when not offline, this step runs before every scan:

- a cached DB that a record vouches for (db_record: the SHA-256 and dates mlsecops saw when
  it downloaded that very file, kept outside the cached directory or in the cache key) and
  that Trivy would not rebuild yet is used as it is: no connection at all. The DB's own
  metadata.json never decides this: whoever writes the cache writes it too (issue 11);
- else the DB is downloaded from each repository in turn (the mirror Trivy defaults to
  first, then the other official ones) until one works, and the download is recorded;
- when every one fails, a vouched-for cached DB from the last few days is still used, with
  a warning the reader sees; older or no DB is a tool error naming every failure.

Offline (`judge_offline`) the cached DB must be vouched for (or the user accepts its own
metadata, --accept-unverified-db) and younger than the maximum age (--max-db-age-days,
default 7): else exit 3. Every report states the DB's date, age and what vouches for it.

Each repository gets its own Trivy run: one failure message per repository, and a download
goes to a scratch cache dir first, so a failed or interrupted one never damages the cached
DB the fallback depends on.

Only the vulnerability DB is handled. The Java DB is left to Trivy: `trivy fs` never needs
it (it does not look inside jars), and an image scan needs it only when the image has jars;
passing --skip-java-db-update would make exactly those scans fail on a first run ("the first
run cannot skip downloading Java DB", checked with Trivy 0.76).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlsecops.core.db_status import DEFAULT_MAX_AGE_DAYS, DbSource, DbStatus, DbTrust
from mlsecops.errors import ToolError
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind
from mlsecops.trivy.db_record import (
    DbRecord,
    db_sha256,
    default_record_path,
    from_cache_key,
    read_record,
    write_record,
)
from mlsecops.trivy.locate import default_cache_dir, require_offline_db
from mlsecops.trivy.run import cannot_run, fatal_cause

# The mirror Trivy itself tries first (Google's pull-through cache, rarely rate-limited),
# then Trivy's own two homes. Same order as Trivy's default, plus ECR as a third source.
DEFAULT_DB_REPOSITORIES = (
    "mirror.gcr.io/aquasec/trivy-db:2",
    "ghcr.io/aquasecurity/trivy-db:2",
    "public.ecr.aws/aquasecurity/trivy-db:2",
)
# Trivy's own setting for the repositories; honoured because our explicit --db-repository
# would otherwise silently override a mirror the user configured for Trivy.
REPOSITORIES_ENV = "TRIVY_DB_REPOSITORY"
SCHEMA_VERSION = 2  # the DB schema every Trivy 0.x reads
DEFAULT_MAX_STALE_DAYS = 3
_REBUILT_EVERY = dt.timedelta(hours=6)
_CLOCK_SKEW = dt.timedelta(hours=1)  # a record dated later than this after now is forged
DEFAULT_TIMEOUT_SECONDS = 300  # per repository; the DB is ~70 MB


@dataclass(frozen=True)
class DbMetadata:
    """`db/metadata.json`: what Trivy decides freshness by."""

    version: int | None
    next_update: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    downloaded_at: dt.datetime | None = None

    @property
    def as_of(self) -> dt.datetime | None:
        """How old the advisories are: UpdatedAt (when built), else DownloadedAt."""
        stamps = [s for s in (self.updated_at, self.downloaded_at) if s is not None]
        return min(stamps) if stamps else None


@dataclass(frozen=True)
class DbPolicy:
    """What a scan accepts of a DB: how old it may be, and what may vouch for its date."""

    max_age_days: float = DEFAULT_MAX_AGE_DAYS
    max_stale_days: float = DEFAULT_MAX_STALE_DAYS  # a cached DB used when downloads fail
    accept_unverified: bool = False  # date a DB by its own metadata.json (forgeable)
    record_path: Path | None = None  # default: db_record.default_record_path(cache_dir)
    cache_key: str = ""  # an actions/cache key carrying a record (db_record.from_cache_key)


@dataclass(frozen=True)
class DbReady:
    """How the DB for this scan was got, its status for the reports, and warnings (notes)."""

    how: DbSource
    status: DbStatus
    warnings: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class Vouched:
    """The cached DB's dates, and what vouches for them."""

    updated_at: dt.datetime
    next_update: dt.datetime | None
    trust: DbTrust
    sha256: str = ""
    repository: str = ""

    def status(self, how: DbSource, now: dt.datetime, policy: DbPolicy) -> DbStatus:
        """The DbStatus the reports show for this DB, got `how`."""
        record = DbRecord(self.sha256, self.updated_at, self.next_update or self.updated_at)
        return DbStatus(
            updated_at=self.updated_at,
            checked_at=now,
            source=how,
            trust=self.trust,
            sha256=self.sha256,
            repository=self.repository,
            max_age_days=policy.max_age_days,
            cache_key=record.cache_key() if self.sha256 else "",
        )

    def age_days(self, now: dt.datetime) -> float:
        """Days since the DB was built."""
        return (now - self.updated_at).total_seconds() / 86400


def read_metadata(cache_dir: Path) -> DbMetadata | None:
    """The cached DB's metadata, or None when there is no usable trivy.db + metadata.json."""
    db_dir = cache_dir / "db"
    if not (db_dir / "trivy.db").is_file() or not os.path.lexists(db_dir / "metadata.json"):
        return None
    # Guarded: Trivy reads this file too, so a FIFO or device here is refused (exit 2).
    text = read_text(db_dir / "metadata.json", InputKind.TRIVY_DB_METADATA, errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    version = data.get("Version")
    return DbMetadata(
        version=version if isinstance(version, int) else None,
        next_update=_timestamp(data.get("NextUpdate")),
        updated_at=_timestamp(data.get("UpdatedAt")),
        downloaded_at=_timestamp(data.get("DownloadedAt")),
    )


def repositories_from_env(environ: Mapping[str, str]) -> tuple[str, ...]:
    """$TRIVY_DB_REPOSITORY (comma-separated, as Trivy reads it), else the defaults."""
    configured = tuple(r.strip() for r in environ.get(REPOSITORIES_ENV, "").split(",") if r.strip())
    return configured or DEFAULT_DB_REPOSITORIES


def resolve_cache_dir(explicit: Path | None, environ: Mapping[str, str]) -> Path:
    """The cache dir to give Trivy, absolute: --trivy-cache-dir, else $TRIVY_CACHE_DIR (both
    relative to our working directory, not Trivy's), else Trivy's own default."""
    if explicit is None:
        configured = environ.get("TRIVY_CACHE_DIR", "").strip()
        explicit = Path(configured) if configured else default_cache_dir()
    return explicit.resolve()


def vouch(
    cache_dir: Path, policy: DbPolicy, now: dt.datetime | None = None
) -> tuple[Vouched | None, str]:
    """What vouches for the cached DB's date, or None and why nothing does.

    A record of our own download (or a cache key carrying one) whose SHA-256 matches
    trivy.db; else, only when the user accepts it, the DB's own metadata.json. A date after
    `now` (beyond clock skew) vouches for nothing: a forged key dated 2099 would otherwise
    never grow old.
    """
    now = now or dt.datetime.now(dt.UTC)
    db_file = cache_dir / "db" / "trivy.db"
    if not db_file.is_file():
        return None, f"there is no cached DB in {db_file.parent}"
    records = [(read_record(policy.record_path or default_record_path(cache_dir)), DbTrust.RECORD)]
    records.append((from_cache_key(policy.cache_key), DbTrust.CACHE_KEY))
    known = [(record, trust) for record, trust in records if record is not None]
    why = f"no record of mlsecops downloading the DB in {db_file.parent} vouches for its date"
    if known:
        sha = db_sha256(db_file)
        matching = [(record, trust) for record, trust in known if record.sha256 == sha]
        for record, trust in matching:
            if record.updated_at <= now + _CLOCK_SKEW:
                vouched = Vouched(record.updated_at, record.next_update, trust, sha)
                return replace(vouched, repository=record.repository), ""
        why = (
            f"the {matching[0][1]} for {db_file} dates it in the future "
            f"({matching[0][0].updated_at:%Y-%m-%d %H:%M} UTC)"
            if matching
            else f"{db_file} is not the file mlsecops recorded downloading (its SHA-256 differs)"
        )
    if policy.accept_unverified:
        metadata = read_metadata(cache_dir)
        as_of = metadata.as_of if metadata and metadata.version == SCHEMA_VERSION else None
        if as_of is not None and as_of <= now + _CLOCK_SKEW:
            return Vouched(as_of, None, DbTrust.METADATA), ""
        why = f"{why}, and its metadata.json gives no schema-{SCHEMA_VERSION} build date before now"
    return None, why


def key_to_save(cache_dir: Path, policy: DbPolicy, since: dt.datetime | None = None) -> str:
    """The cache key to save cache_dir's DB under when it was downloaded here, else "".

    Only our own record (never a cache key or metadata.json) makes a DB worth saving: one
    downloaded at or after `since` (when given), and still the file it recorded. A record the
    restored key (policy.cache_key) already carries is in the cache already (the same file
    with newer dates is not).
    """
    record = read_record(policy.record_path or default_record_path(cache_dir))
    if record is None or (since is not None and (record.downloaded_at or since) <= since):
        return ""
    db_file = cache_dir / "db" / "trivy.db"
    if not db_file.is_file() or db_sha256(db_file) != record.sha256:
        return ""
    restored = from_cache_key(policy.cache_key)
    if restored is not None and restored.cache_key() == record.cache_key():
        return ""
    return record.cache_key()


def judge_offline(cache_dir: Path, policy: DbPolicy, now: dt.datetime | None = None) -> DbReady:
    """The DB an --offline scan may use: present, dated by something it cannot forge, young.

    Raises ToolError (exit 3) otherwise: offline, an undatable or too old DB fails closed.
    """
    now = now or dt.datetime.now(dt.UTC)
    require_offline_db(cache_dir)
    vouched, why = vouch(cache_dir, policy, now)
    if vouched is None:
        raise ToolError(
            f"the Trivy DB cannot be dated: {why}",
            "let mlsecops download it once online into this --trivy-cache-dir (it records the "
            "download), pass the record with --trivy-db-record, or, if only you write this "
            "cache dir, pass --accept-unverified-db to date it by its own metadata.json",
        )
    age = vouched.age_days(now)
    if age > policy.max_age_days:
        raise ToolError(
            f"the Trivy DB in {cache_dir / 'db'} was built {vouched.updated_at:%Y-%m-%d %H:%M} "
            f"UTC, {age:.1f} days ago: older than the maximum of {policy.max_age_days:g} days",
            "scan online once to download a current DB, or raise the maximum with "
            "--max-db-age-days if you accept the risk",
        )
    return DbReady(DbSource.OFFLINE, vouched.status(DbSource.OFFLINE, now, policy))


def prepare_db(
    binary: Path,
    cache_dir: Path,
    *,
    repositories: Sequence[str] | None = None,
    policy: DbPolicy | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    now: dt.datetime | None = None,
) -> DbReady:
    """Make sure cache_dir/db holds a DB a scan with --skip-db-update can use.

    A cached DB is used without a download only when a record vouches for it and Trivy
    would not rebuild it yet; its own metadata.json never decides that. `repositories`
    default: $TRIVY_DB_REPOSITORY, else DEFAULT_DB_REPOSITORIES, tried in order. Raises
    ToolError when every download fails and no vouched-for cached DB is recent enough.
    """
    now = now or dt.datetime.now(dt.UTC)
    policy = policy or DbPolicy()
    if repositories is None:
        repositories = repositories_from_env(os.environ)
    vouched, why = vouch(cache_dir, policy, now)
    if vouched is not None and vouched.trust is not DbTrust.METADATA:
        due = vouched.next_update or vouched.updated_at + _REBUILT_EVERY
        if now < due and vouched.age_days(now) <= policy.max_age_days:
            return DbReady(DbSource.FRESH_CACHE, vouched.status(DbSource.FRESH_CACHE, now, policy))

    failures: list[tuple[str, str]] = []
    for repository in repositories:
        problem = _download(binary, cache_dir, repository, timeout_seconds)
        if problem is None:
            fetched = _record_download(cache_dir, policy, repository, now)
            return DbReady(DbSource.DOWNLOADED, fetched.status(DbSource.DOWNLOADED, now, policy))
        failures.append((repository, problem))

    last_error = failures[-1][1] if failures else "no repository to download from"
    limit = min(policy.max_stale_days, policy.max_age_days)
    if vouched is not None and vouched.age_days(now) <= limit:
        warning = (
            f"scanning with the cached Trivy DB from {vouched.updated_at:%Y-%m-%d %H:%M} UTC: "
            f"every DB download failed: {last_error}"
        )
        status = vouched.status(DbSource.STALE_CACHE, now, policy)
        return DbReady(DbSource.STALE_CACHE, status, (warning,))

    tried = "; ".join(f"{repository}: {problem}" for repository, problem in failures)
    unusable = why if vouched is None else f"the cached DB is more than {limit:g} days old"
    raise ToolError(
        f"cannot download the Trivy DB ({tried or last_error}) and {unusable}",
        "retry later (registries rate-limit, e.g. TOOMANYREQUESTS), or put a Trivy DB "
        "(db/trivy.db and db/metadata.json) into --trivy-cache-dir and scan with --offline",
    )


def _record_download(
    cache_dir: Path, policy: DbPolicy, repository: str, now: dt.datetime
) -> Vouched:
    """Write the record of a DB just downloaded: its SHA-256 and the registry's dates."""
    metadata = read_metadata(cache_dir)
    updated = (metadata.as_of if metadata else None) or now
    next_update = (metadata.next_update if metadata else None) or updated + _REBUILT_EVERY
    sha = db_sha256(cache_dir / "db" / "trivy.db")
    record = DbRecord(sha, updated, next_update, now, repository)
    write_record(policy.record_path or default_record_path(cache_dir), record)
    return Vouched(updated, next_update, DbTrust.RECORD, sha, repository)


def _download(binary: Path, cache_dir: Path, repository: str, timeout: float) -> str | None:
    """Download the DB from one repository into cache_dir/db; None, or why it failed."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    # Scratch inside cache_dir: the same filesystem, so the move into db/ is a rename.
    scratch = Path(tempfile.mkdtemp(prefix=".mlsecops-db-", dir=cache_dir))
    try:
        command = [
            str(binary),
            "image",
            "--download-db-only",
            "--cache-dir",
            str(scratch),
            "--db-repository",
            repository,
            "--no-progress",
            # Neither affects the DB; both would make network calls of their own.
            "--skip-version-check",
            "--disable-telemetry",
        ]
        try:
            proc = subprocess.run(
                command, capture_output=True, text=True, errors="replace", timeout=timeout
            )
        except subprocess.TimeoutExpired:
            return f"no DB within {timeout:g}s"
        except OSError as error:
            raise cannot_run(binary, error) from error
        if proc.returncode != 0:
            return fatal_cause(proc.stderr)
        fetched = scratch / "db"
        if not (fetched / "trivy.db").is_file() or not (fetched / "metadata.json").is_file():
            return "trivy exited 0 but wrote no db/trivy.db and db/metadata.json"
        db_dir = cache_dir / "db"
        db_dir.mkdir(exist_ok=True)
        # The DB before its metadata: a crash in between leaves a DB that merely looks old.
        (fetched / "trivy.db").replace(db_dir / "trivy.db")
        (fetched / "metadata.json").replace(db_dir / "metadata.json")
        return None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _timestamp(value: object) -> dt.datetime | None:
    """Trivy's RFC 3339 times as aware datetimes; None if absent or Go's zero time."""
    if not isinstance(value, str) or not value:
        return None
    try:
        # Python 3.11 reads Go's nanoseconds (truncated) and the "Z" suffix.
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if parsed.year <= 1:  # 0001-01-01T00:00:00Z: Go's "never"
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
