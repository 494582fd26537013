"""What mlsecops saw when it downloaded a Trivy DB, kept where the DB cache cannot rewrite it.

A cached DB's own metadata.json says how old it is and when Trivy should next update it;
whoever can write the cache can write that file too (`NextUpdate: 2099` keeps a 2020 DB in
use forever). So when mlsecops downloads a DB it writes a record: the SHA-256 of trivy.db and
the dates the registry's metadata gave at that moment. A later run trusts a cached DB's dates
only when trivy.db still has the recorded SHA-256.

The record is a small JSON file OUTSIDE the cached directory: by default
`<cache-dir>/mlsecops-db-record.json`, beside `db/` (the action caches `db/` only), or any
path given with `--trivy-db-record`. The same facts fit in a cache key (`cache_key`,
`from_cache_key`), so an actions/cache entry can carry them in its key, which its content
cannot change. A key may end in `-SUFFIX` (letters, digits, `.`, `_`, `-`): cache entries
cannot be overwritten, so the action saves each download under a key of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

from mlsecops.errors import UsageError
from mlsecops.guarded.json_text import load_json
from mlsecops.guarded.limits import InputKind
from mlsecops.paths import write_text_atomic

RECORD_NAME = "mlsecops-db-record.json"
KEY_PREFIX = "mlsecops-trivy-db-v1-"
_STAMP = "%Y%m%dT%H%M%SZ"
_STAMP_RE = r"\d{8}T\d{6}Z"
_KEY = re.compile(
    re.escape(KEY_PREFIX)
    + rf"(?P<updated>{_STAMP_RE})-(?P<next>{_STAMP_RE})-(?P<sha>[0-9a-f]{{64}})"
    + r"(?:-[A-Za-z0-9._-]{1,200})?"
)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class DbRecord:
    """The facts about one downloaded trivy.db that its cache cannot vouch for alone."""

    sha256: str
    updated_at: dt.datetime  # the registry's UpdatedAt when it was downloaded
    next_update: dt.datetime  # the registry's NextUpdate then: no newer DB before it
    downloaded_at: dt.datetime | None = None
    repository: str = ""

    def cache_key(self) -> str:
        """An actions/cache key carrying the record: prefix, dates, SHA-256."""
        return f"{KEY_PREFIX}{self.updated_at:{_STAMP}}-{self.next_update:{_STAMP}}-{self.sha256}"


def default_record_path(cache_dir: Path) -> Path:
    """`<cache-dir>/mlsecops-db-record.json`: beside db/, outside what the action caches."""
    return cache_dir / RECORD_NAME


def from_cache_key(key: str) -> DbRecord | None:
    """The record a cache key carries (a `-SUFFIX` after it is allowed), or None when the key
    is not one of ours."""
    match = _KEY.fullmatch(key.strip())
    if match is None:
        return None
    return DbRecord(
        sha256=match["sha"],
        updated_at=_parse_stamp(match["updated"]),
        next_update=_parse_stamp(match["next"]),
    )


def read_record(path: Path) -> DbRecord | None:
    """The record at `path`; None when there is none. A malformed one is a UsageError."""
    if not os.path.lexists(path):
        return None
    data = load_json(path, InputKind.DB_RECORD, f"delete {path}; the next download rewrites it")
    try:
        return DbRecord(
            sha256=str(data["sha256"]),
            updated_at=dt.datetime.fromisoformat(data["updated_at"]),
            next_update=dt.datetime.fromisoformat(data["next_update"]),
            downloaded_at=dt.datetime.fromisoformat(data["downloaded_at"]),
            repository=str(data.get("repository", "")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(
            f"Trivy DB record {path} is not one mlsecops wrote ({type(exc).__name__}: {exc})",
            f"delete {path}; the next download rewrites it",
        ) from exc


def write_record(path: Path, record: DbRecord) -> None:
    """Write `record` to `path` atomically."""
    data = {
        "sha256": record.sha256,
        "updated_at": record.updated_at.isoformat(),
        "next_update": record.next_update.isoformat(),
        "downloaded_at": (record.downloaded_at or dt.datetime.now(dt.UTC)).isoformat(),
        "repository": record.repository,
        "cache_key": record.cache_key(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, json.dumps(data, indent=2) + "\n")


def db_sha256(db_file: Path) -> str:
    """SHA-256 of trivy.db, read without following a link or blocking on a FIFO."""
    digest = hashlib.sha256()
    fd = os.open(db_file, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return ""
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _parse_stamp(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, _STAMP).replace(tzinfo=dt.UTC)
