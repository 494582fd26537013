"""The record a DB cache key carries (what the action saves and restores under), no Trivy.

The scan action restores Trivy's DB by a key prefix and hands the matched key to the scan:
the key, not the entry's content, dates the DB. These are the rules the action relies on.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from mlsecops.core.db_status import DbTrust
from mlsecops.errors import ToolError
from mlsecops.trivy.db import DbPolicy, judge_offline, key_to_save
from mlsecops.trivy.db_record import (
    KEY_PREFIX,
    DbRecord,
    db_sha256,
    default_record_path,
    from_cache_key,
    write_record,
)
from tests.support.oci_registry import write_metadata

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def _now_is_when_the_test_runs() -> None:
    """NOW as each test starts, not when the module was collected: a long suite on a busy
    machine runs a test many minutes after collection, which would age every key."""
    global NOW  # the tests read it as a constant
    NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


SUFFIX = "-123456-1-0a1b2c3d"  # the action's cache-suffix: run id, attempt, random


def restored(trivy_cache: Path, cache: Path) -> str:
    """A cache dir as a restore leaves it (db/ only, no record, metadata saying 'fresh')."""
    (cache / "db").mkdir(parents=True)
    shutil.copy(trivy_cache / "db" / "trivy.db", cache / "db" / "trivy.db")
    write_metadata(cache / "db", updated=NOW, next_update=NOW + dt.timedelta(days=9999))
    return db_sha256(cache / "db" / "trivy.db")


def key(sha: str, *, built: dt.datetime, suffix: str = SUFFIX) -> str:
    return DbRecord(sha, built, built + dt.timedelta(hours=6)).cache_key() + suffix


def test_a_key_with_the_actions_suffix_carries_the_record():
    record = DbRecord("a" * 64, NOW, NOW + dt.timedelta(hours=6))
    for suffix in ("", SUFFIX, "-x", "-run.7_a-b"):
        parsed = from_cache_key(record.cache_key() + suffix)
        assert parsed is not None and parsed.cache_key() == record.cache_key()
    for bad in (" x", "-", "-a,b", "-a b", "x" + SUFFIX, "-" + "x" * 201):
        assert from_cache_key(record.cache_key() + bad) is None, bad
    assert record.cache_key().startswith(KEY_PREFIX)
    # A key the restore asks for exactly is never one of ours: it dates nothing.
    assert from_cache_key(f"{KEY_PREFIX}restore{SUFFIX}") is None


def test_a_fresh_key_dates_the_restored_db_and_a_stale_one_is_refused(trivy_cache, tmp_path):
    sha = restored(trivy_cache, tmp_path / "cache")
    fresh = key(sha, built=NOW - dt.timedelta(hours=2))
    ready = judge_offline(tmp_path / "cache", DbPolicy(cache_key=fresh))
    assert ready.status.trust is DbTrust.CACHE_KEY
    assert 2 / 24 <= ready.status.age_days < 3 / 24  # the key's date, not metadata.json's
    stale = key(sha, built=NOW - dt.timedelta(days=10))
    # metadata.json says built just now, next update in 27 years: never believed.
    with pytest.raises(ToolError, match=r"10\.0 days ago: older than the maximum of 7 days"):
        judge_offline(tmp_path / "cache", DbPolicy(cache_key=stale))
    assert judge_offline(tmp_path / "cache", DbPolicy(cache_key=stale, max_age_days=11))


def test_a_key_dated_in_the_future_vouches_for_nothing(trivy_cache, tmp_path):
    """A forged key dated 2099 would otherwise never grow old (its age is negative)."""
    sha = restored(trivy_cache, tmp_path / "cache")
    forged = key(sha, built=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
    with pytest.raises(ToolError, match="dates it in the future"):
        judge_offline(tmp_path / "cache", DbPolicy(cache_key=forged))
    # Clock skew of a few minutes between machines is not forgery.
    skewed = key(sha, built=NOW + dt.timedelta(minutes=10))
    assert judge_offline(tmp_path / "cache", DbPolicy(cache_key=skewed)).status.age_days == 0


def test_metadata_dated_in_the_future_is_not_accepted_either(trivy_cache, tmp_path):
    restored(trivy_cache, tmp_path / "cache")
    later = NOW + dt.timedelta(days=30)
    write_metadata(tmp_path / "cache" / "db", updated=later, next_update=later)
    with pytest.raises(ToolError, match="no schema-2 build date before now"):
        judge_offline(tmp_path / "cache", DbPolicy(accept_unverified=True))


def test_only_a_db_this_machine_downloaded_is_saved_and_only_once(trivy_cache, tmp_path):
    cache = tmp_path / "cache"
    sha = restored(trivy_cache, cache)
    # Restored, no record of a download here: nothing to save.
    assert key_to_save(cache, DbPolicy(cache_key=key(sha, built=NOW))) == ""
    record = DbRecord(sha, NOW, NOW + dt.timedelta(hours=6), NOW)
    write_record(default_record_path(cache), record)
    # Downloaded here (a record of it): saved under the record's key...
    assert key_to_save(cache, DbPolicy()) == record.cache_key()
    # ...also when the restored key was for the same file but older dates...
    older = key(sha, built=NOW - dt.timedelta(days=10))
    assert key_to_save(cache, DbPolicy(cache_key=older)) == record.cache_key()
    # ...but not when the restored key already carries exactly this record.
    same = record.cache_key() + SUFFIX
    assert key_to_save(cache, DbPolicy(cache_key=same)) == ""
    # A trivy.db changed after the download is not the recorded file: never saved.
    with (cache / "db" / "trivy.db").open("ab") as db:
        db.write(b"\0" * 4096)
    assert key_to_save(cache, DbPolicy()) == ""


def test_a_db_downloaded_before_since_is_not_saved_again(trivy_cache, tmp_path):
    """An earlier call of the action in the same job downloaded (and saved) it."""
    cache = tmp_path / "cache"
    sha = restored(trivy_cache, cache)
    record = DbRecord(sha, NOW, NOW + dt.timedelta(hours=6), NOW)
    write_record(default_record_path(cache), record)
    assert key_to_save(cache, DbPolicy(), since=NOW - dt.timedelta(seconds=1)) != ""
    assert key_to_save(cache, DbPolicy(), since=NOW + dt.timedelta(seconds=1)) == ""
