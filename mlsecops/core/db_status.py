"""The vulnerability DB a scan used: its date, its age, how it was got and how far to trust it.

Every report states this (the JSON `db` block, a summary line, a table line), because an old
DB passes every gate: advisories published after it was built are simply not there.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

from mlsecops.errors import UsageError

# A DB older than this is refused: online it is replaced, offline the scan fails (exit 3)
# unless --max-db-age-days raises it. Trivy's DB is rebuilt every 6 hours.
DEFAULT_MAX_AGE_DAYS = 7.0


class DbSource(enum.StrEnum):
    """How the DB for this scan was got."""

    FRESH_CACHE = "fresh cache"  # verified, and not yet due for Trivy's next rebuild
    DOWNLOADED = "downloaded"  # fetched from a registry for this scan
    STALE_CACHE = "stale cache"  # every download failed; a recent verified copy was used
    OFFLINE = "offline cache"  # --offline: the copy in the cache dir, never downloaded


class DbTrust(enum.StrEnum):
    """Where the DB's date comes from: what vouches for it."""

    # A record mlsecops wrote when it downloaded this very file (its SHA-256 matches),
    # kept outside the cached directory; or the same facts carried by the cache key.
    RECORD = "record"
    CACHE_KEY = "cache key"
    # Only the DB's own metadata.json, which whoever wrote the cache can forge; used only
    # when the user said so (--accept-unverified-db).
    METADATA = "metadata only"


def parse_max_age_days(text: str) -> float:
    """`--max-db-age-days` / the action input: a number of days above 0 ("" = the default)."""
    if not text.strip():
        return DEFAULT_MAX_AGE_DAYS
    try:
        days = float(text)
    except ValueError:
        days = -1.0
    if not 0 < days < 100_000:
        raise UsageError(
            f"max-db-age-days {text!r} is not a number of days above 0",
            f"give a number of days, e.g. {DEFAULT_MAX_AGE_DAYS:g}",
        )
    return days


@dataclass(frozen=True)
class DbStatus:
    """The DB as a report states it."""

    updated_at: dt.datetime  # when the DB was built (Trivy's UpdatedAt), UTC
    checked_at: dt.datetime  # when this scan judged it
    source: DbSource
    trust: DbTrust
    sha256: str = ""  # of trivy.db; "" when not computed (metadata only)
    repository: str = ""  # where it was downloaded from, when it was
    max_age_days: float = DEFAULT_MAX_AGE_DAYS
    cache_key: str = ""  # the key that carries the record (for an actions/cache entry)

    @property
    def age_days(self) -> float:
        """How old the advisories are, in days, at scan time (never negative)."""
        return max((self.checked_at - self.updated_at).total_seconds(), 0.0) / 86400

    def describe(self) -> str:
        """One line for people: date, age, how it was got, what vouches for the date."""
        verified = (
            "date unverified: from its own metadata.json"
            if self.trust is DbTrust.METADATA
            else f"date verified by {self.trust}"
        )
        via = f" from {self.repository}" if self.repository else ""
        return (
            f"Trivy DB built {self.updated_at:%Y-%m-%d %H:%M} UTC, {self.age_days:.1f} days "
            f"old ({self.source}{via}; {verified}; maximum age {self.max_age_days:g} days)"
        )
