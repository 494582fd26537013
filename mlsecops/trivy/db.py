"""Getting Trivy's vulnerability DB before a scan, so the scan itself never downloads.

Users of trivy-action hit `TOOMANYREQUESTS` from ghcr.io again and again (trivy-action
#389, #430). So, when not offline, this step runs before every scan:

- a cached DB Trivy itself would call fresh is used as it is: no connection at all;
- else the DB is downloaded from each repository in turn (the mirror Trivy defaults to
  first, then the other official ones) until one works;
- when every one fails, a cached DB from the last few days is still used, with a warning
  the reader sees; older or no DB is a tool error naming every repository's failure.

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
from dataclasses import dataclass, field
from pathlib import Path

from mlsecops.errors import ToolError
from mlsecops.trivy.locate import default_cache_dir
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
DEFAULT_TIMEOUT_SECONDS = 300  # per repository; the DB is ~70 MB
_DOWNLOADED_GRACE = dt.timedelta(hours=1)  # Trivy skips an update within an hour of one


@dataclass(frozen=True)
class DbMetadata:
    """`db/metadata.json`: what Trivy decides freshness by."""

    version: int | None
    next_update: dt.datetime | None = None
    updated_at: dt.datetime | None = None
    downloaded_at: dt.datetime | None = None

    def is_fresh(self, now: dt.datetime) -> bool:
        """Trivy's own rule: it would not download now (NextUpdate ahead, or just downloaded)."""
        if self.version != SCHEMA_VERSION:
            return False
        if self.next_update is not None and now < self.next_update:
            return True
        return self.downloaded_at is not None and now < self.downloaded_at + _DOWNLOADED_GRACE

    @property
    def as_of(self) -> dt.datetime | None:
        """How old the advisories are: UpdatedAt (when built), else DownloadedAt."""
        stamps = [s for s in (self.updated_at, self.downloaded_at) if s is not None]
        return min(stamps) if stamps else None


@dataclass(frozen=True)
class DbReady:
    """How the DB for this scan was got; `warnings` go into the scan's notes."""

    how: str  # "fresh cache" | "downloaded" | "stale cache"
    repository: str = ""
    warnings: tuple[str, ...] = field(default=())


def read_metadata(cache_dir: Path) -> DbMetadata | None:
    """The cached DB's metadata, or None when there is no usable trivy.db + metadata.json."""
    db_dir = cache_dir / "db"
    try:
        if not (db_dir / "trivy.db").is_file():
            return None
        data = json.loads((db_dir / "metadata.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
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


def prepare_db(
    binary: Path,
    cache_dir: Path,
    *,
    repositories: Sequence[str] | None = None,
    max_stale_days: float = DEFAULT_MAX_STALE_DAYS,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
    now: dt.datetime | None = None,
) -> DbReady:
    """Make sure cache_dir/db holds a DB a scan with --skip-db-update can use.

    `repositories` default: $TRIVY_DB_REPOSITORY, else DEFAULT_DB_REPOSITORIES, tried in
    order. Raises ToolError when every download fails and no cached DB is recent enough.
    """
    now = now or dt.datetime.now(dt.UTC)
    if repositories is None:
        repositories = repositories_from_env(os.environ)
    cached = read_metadata(cache_dir)
    if cached is not None and cached.is_fresh(now):
        return DbReady("fresh cache")

    failures: list[tuple[str, str]] = []
    for repository in repositories:
        problem = _download(binary, cache_dir, repository, timeout_seconds)
        if problem is None:
            return DbReady("downloaded", repository)
        failures.append((repository, problem))

    last_error = failures[-1][1] if failures else "no repository to download from"
    as_of = cached.as_of if cached is not None else None
    if (
        cached is not None
        and cached.version == SCHEMA_VERSION
        and as_of is not None
        and now - as_of <= dt.timedelta(days=max_stale_days)
    ):
        warning = (
            f"scanning with the cached Trivy DB from {as_of:%Y-%m-%d %H:%M} UTC: "
            f"every DB download failed: {last_error}"
        )
        return DbReady("stale cache", warnings=(warning,))

    tried = "; ".join(f"{repository}: {problem}" for repository, problem in failures)
    raise ToolError(
        f"cannot download the Trivy DB ({tried or last_error}) and "
        f"{_why_cache_unusable(cache_dir, cached, max_stale_days)}",
        "retry later (registries rate-limit, e.g. TOOMANYREQUESTS), or put a Trivy DB "
        "(db/trivy.db and db/metadata.json) into --trivy-cache-dir and scan with --offline",
    )


def _why_cache_unusable(cache_dir: Path, cached: DbMetadata | None, max_stale_days: float) -> str:
    db_dir = cache_dir / "db"
    if cached is None:
        return f"there is no cached DB in {db_dir}"
    if cached.version != SCHEMA_VERSION:
        return (
            f"the cached DB in {db_dir} has schema version {cached.version}, not {SCHEMA_VERSION}"
        )
    if cached.as_of is None:
        return f"the cached DB in {db_dir} does not say when it was built"
    return (
        f"the cached DB in {db_dir} is from {cached.as_of:%Y-%m-%d}, "
        f"more than {max_stale_days:g} days old"
    )


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
        os.replace(fetched / "trivy.db", db_dir / "trivy.db")
        os.replace(fetched / "metadata.json", db_dir / "metadata.json")
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
