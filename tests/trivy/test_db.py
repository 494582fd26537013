"""The DB step before an online scan, with the real Trivy against registries on 127.0.0.1.

pytest-httpserver plays the OCI registries: Trivy's registry client speaks plain HTTP to a
loopback address (after a failed TLS attempt), so `127.0.0.1:PORT/NAME/trivy-db:2` works as
a `--db-repository`. One repository answers 429 TOOMANYREQUESTS, one 500, one serves a real
DB artifact built by the tests. Trivy retries 429 and 5xx itself (about 4 s), so only two
tests pay for those; the others fail fast (404 MANIFEST_UNKNOWN, connection refused).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from mlsecops.core.db_status import DbTrust
from mlsecops.errors import ToolError, UsageError
from mlsecops.trivy.db import (
    DEFAULT_DB_REPOSITORIES,
    DbMetadata,
    DbPolicy,
    judge_offline,
    prepare_db,
    read_metadata,
    repositories_from_env,
    resolve_cache_dir,
)
from mlsecops.trivy.db_record import (
    DbRecord,
    db_sha256,
    default_record_path,
    read_record,
    write_record,
)
from mlsecops.trivy.locate import default_cache_dir
from mlsecops.trivy.run import fatal_cause
from tests.support.markdown import render
from tests.support.oci_registry import Registry, write_metadata
from tests.support.oci_registry import db_layer as make_db_layer
from tests.support.scan_cli import load_report, one_line_error, scan_cli

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "fixtures" / "projects"
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
REFUSED = "127.0.0.1:1/aquasecurity/trivy-db:2"  # nothing listens on port 1: fails at once
TOO_MANY = {  # what ghcr.io answers when rate-limited (trivy-action #389, #430)
    "errors": [{"code": "TOOMANYREQUESTS", "message": "retry-after: 1s, allowed: 44000/minute"}]
}
UNKNOWN = {"errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown"}]}


def cached_db(
    trivy_cache: Path, cache: Path, *, age: dt.timedelta, fresh: bool, recorded: bool = True
) -> Path:
    """A cache dir holding the test DB, built `age` ago; due for an update unless fresh.

    `recorded`: with the record mlsecops writes when it downloads a DB (beside db/).
    """
    db_dir = cache / "db"
    db_dir.mkdir(parents=True)
    shutil.copy(trivy_cache / "db" / "trivy.db", db_dir / "trivy.db")
    updated = NOW - age
    next_update = NOW + dt.timedelta(hours=6) if fresh else updated + dt.timedelta(hours=6)
    write_metadata(db_dir, updated=updated, next_update=next_update)
    if recorded:
        sha = db_sha256(db_dir / "trivy.db")
        write_record(default_record_path(cache), DbRecord(sha, updated, next_update, updated))
    return cache


@pytest.fixture(scope="session")
def db_layer(trivy_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """The trivy-db artifact's one layer (db.tar.gz), holding the test DB, built just now."""
    return make_db_layer(
        trivy_cache / "db" / "trivy.db", tmp_path_factory.mktemp("db-layer"), updated=NOW
    )


@pytest.fixture
def registry(httpserver: HTTPServer) -> Registry:
    return Registry(httpserver)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and never answers: a hung registry."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def no_scratch_left(cache: Path) -> bool:
    return not [p for p in cache.iterdir() if p.name.startswith(".mlsecops-db-")]


# --- the DB step ------------------------------------------------------------------------


def test_fresh_cached_db_means_no_download_at_all(trivy_bin, trivy_cache, registry, tmp_path):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(hours=2), fresh=True)
    ready = prepare_db(
        trivy_bin, cache, repositories=[registry.answering("limited", 429, TOO_MANY)]
    )
    assert (ready.how, ready.warnings) == ("fresh cache", ())
    assert registry.server.log == []


def test_rate_limited_mirror_falls_back_to_the_next_repository(
    trivy_bin, trivy_cache, registry, db_layer, tmp_path
):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(days=1), fresh=False)
    limited = registry.answering("limited", 429, TOO_MANY)
    good = registry.serving("aquasecurity", db_layer)
    ready = prepare_db(trivy_bin, cache, repositories=[limited, good, REFUSED])

    assert (ready.how, ready.status.repository, ready.warnings) == ("downloaded", good, ())
    metadata = read_metadata(cache)
    assert metadata is not None and metadata.updated_at == NOW
    # The download is recorded: its SHA-256 and the registry's dates, beside db/.
    record = read_record(default_record_path(cache))
    assert record is not None and record.sha256 == db_sha256(cache / "db" / "trivy.db")
    assert (record.updated_at, record.repository) == (NOW, good)
    assert (ready.status.trust, ready.status.updated_at) == (DbTrust.RECORD, NOW)
    assert no_scratch_left(cache)
    # Now fresh: the next scan downloads nothing.
    registry.server.clear_log()
    assert prepare_db(trivy_bin, cache, repositories=[limited, good]).how == "fresh cache"
    assert registry.server.log == []


def test_every_download_fails_with_a_recent_cached_db_warns(
    trivy_bin, trivy_cache, registry, tmp_path
):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(days=2), fresh=False)
    before = (cache / "db" / "trivy.db").read_bytes(), (cache / "db" / "metadata.json").read_text()
    broken = registry.answering("broken", 500, {"errors": []})
    ready = prepare_db(trivy_bin, cache, repositories=[broken, REFUSED])

    assert ready.how == "stale cache"
    (warning,) = ready.warnings
    day = (NOW - dt.timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert warning.startswith(f"scanning with the cached Trivy DB from {day} UTC: ")
    assert "every DB download failed: " in warning
    assert "127.0.0.1:1: connect: connection refused" in warning  # the last repository's error
    # The failed downloads left the cached DB exactly as it was.
    after = (cache / "db" / "trivy.db").read_bytes(), (cache / "db" / "metadata.json").read_text()
    assert after == before
    assert no_scratch_left(cache)


def test_every_download_fails_with_an_old_cached_db_is_a_tool_error(
    trivy_bin, trivy_cache, registry, tmp_path
):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(days=10), fresh=False)
    gone = registry.answering("gone", 404, UNKNOWN)
    with pytest.raises(ToolError) as caught:
        prepare_db(trivy_bin, cache, repositories=[gone, REFUSED])
    message = caught.value.one_line()
    assert message.startswith("cannot download the Trivy DB (")
    assert (
        f"{gone}: GET http://{registry.host}/v2/gone/trivy-db/manifests/2: MANIFEST_UNKNOWN"
        in message
    )
    assert f"{REFUSED}: Get " in message
    assert "and the cached DB is more than 3 days old" in message
    assert "scan with --offline" in message


def test_every_download_fails_with_no_cached_db_is_a_tool_error(trivy_bin, tmp_path):
    with pytest.raises(ToolError) as caught:
        prepare_db(trivy_bin, tmp_path / "cache", repositories=[REFUSED])
    assert "there is no cached DB in" in caught.value.one_line()
    assert no_scratch_left(tmp_path / "cache")


def test_hung_registry_times_out(trivy_bin, silent_port, tmp_path):
    repository = f"127.0.0.1:{silent_port}/aquasecurity/trivy-db:2"
    with pytest.raises(ToolError, match=f"{repository}: no DB within 1s"):
        prepare_db(trivy_bin, tmp_path / "cache", repositories=[repository], timeout_seconds=1)


def test_max_stale_days_is_a_parameter(trivy_bin, trivy_cache, tmp_path):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(days=2), fresh=False)
    with pytest.raises(ToolError, match="more than 1 days old"):
        prepare_db(trivy_bin, cache, repositories=[REFUSED], policy=DbPolicy(max_stale_days=1))


# --- what dates a cached DB (issue 11): never its own metadata.json alone ------------------


def forge_metadata(cache: Path, *, updated: dt.datetime) -> None:
    """What an attacker who can write the cache writes: NextUpdate far ahead."""
    write_metadata(
        cache / "db", updated=updated, next_update=dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    )


def test_forged_next_update_keeps_no_old_db_online(
    trivy_bin, trivy_cache, registry, db_layer, tmp_path
):
    cache = cached_db(
        trivy_cache, tmp_path / "cache", age=dt.timedelta(days=400), fresh=False, recorded=False
    )
    forge_metadata(cache, updated=NOW - dt.timedelta(days=400))
    good = registry.serving("aquasecurity", db_layer)
    ready = prepare_db(trivy_bin, cache, repositories=[good])
    assert ready.how == "downloaded"  # re-fetched, not kept until 2099
    assert ready.status.updated_at == NOW and ready.status.age_days < 1  # its real age
    assert registry.manifest_requests() == ["/v2/aquasecurity/trivy-db/manifests/2"]


def test_forged_metadata_on_a_swapped_db_is_not_believed(
    trivy_bin, trivy_cache, registry, db_layer, tmp_path
):
    # A record of our download exists, but trivy.db was replaced and its metadata says fresh.
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(hours=1), fresh=True)
    with (cache / "db" / "trivy.db").open("ab") as db:
        db.write(b"\0" * 4096)
    forge_metadata(cache, updated=NOW)
    good = registry.serving("aquasecurity", db_layer)
    assert prepare_db(trivy_bin, cache, repositories=[good]).how == "downloaded"


def test_no_vouched_db_and_no_download_fails_closed(trivy_bin, trivy_cache, registry, tmp_path):
    cache = cached_db(
        trivy_cache, tmp_path / "cache", age=dt.timedelta(hours=1), fresh=True, recorded=False
    )
    forge_metadata(cache, updated=NOW)
    with pytest.raises(ToolError) as caught:
        prepare_db(trivy_bin, cache, repositories=[REFUSED])
    assert "no record of mlsecops downloading the DB" in caught.value.one_line()


def test_a_cache_key_can_carry_the_record(trivy_bin, trivy_cache, registry, tmp_path):
    cache = cached_db(
        trivy_cache, tmp_path / "cache", age=dt.timedelta(hours=1), fresh=True, recorded=False
    )
    sha = db_sha256(cache / "db" / "trivy.db")
    key = DbRecord(sha, NOW - dt.timedelta(hours=1), NOW + dt.timedelta(hours=6)).cache_key()
    limited = registry.answering("limited", 429, TOO_MANY)
    ready = prepare_db(trivy_bin, cache, repositories=[limited], policy=DbPolicy(cache_key=key))
    assert (ready.how, ready.status.trust, ready.status.cache_key) == (
        "fresh cache",
        DbTrust.CACHE_KEY,
        key,
    )
    assert registry.server.log == []
    # A key for another file vouches for nothing.
    other = key.replace(sha, "0" * 64)
    with pytest.raises(ToolError, match="is not the file mlsecops recorded downloading"):
        prepare_db(trivy_bin, cache, repositories=[REFUSED], policy=DbPolicy(cache_key=other))


def test_offline_the_db_must_be_vouched_for_and_young(trivy_cache, tmp_path):
    young = cached_db(trivy_cache, tmp_path / "young", age=dt.timedelta(days=2), fresh=False)
    ready = judge_offline(young, DbPolicy())
    assert (ready.how, ready.status.trust) == ("offline cache", DbTrust.RECORD)
    assert 1.9 < ready.status.age_days < 2.1

    old = cached_db(trivy_cache, tmp_path / "old", age=dt.timedelta(days=10), fresh=False)
    with pytest.raises(ToolError) as caught:
        judge_offline(old, DbPolicy())
    message = caught.value.one_line()
    assert "10.0 days ago: older than the maximum of 7 days" in message
    assert "--max-db-age-days" in message
    assert judge_offline(old, DbPolicy(max_age_days=30)).status.age_days > 9

    unrecorded = cached_db(
        trivy_cache, tmp_path / "unrecorded", age=dt.timedelta(days=1), fresh=False, recorded=False
    )
    with pytest.raises(ToolError, match="cannot be dated: no record of mlsecops downloading"):
        judge_offline(unrecorded, DbPolicy())
    accepted = judge_offline(unrecorded, DbPolicy(accept_unverified=True))
    assert (accepted.status.trust, accepted.status.sha256) == (DbTrust.METADATA, "")
    # Accepting the metadata still ignores NextUpdate: an old UpdatedAt is old.
    forge_metadata(unrecorded, updated=NOW - dt.timedelta(days=400))
    with pytest.raises(ToolError, match="older than the maximum"):
        judge_offline(unrecorded, DbPolicy(accept_unverified=True))


def test_a_fifo_for_metadata_json_is_refused_not_read(trivy_cache, tmp_path):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(days=1), fresh=False)
    (cache / "db" / "metadata.json").unlink()
    os.mkfifo(cache / "db" / "metadata.json")
    with pytest.raises(UsageError, match="is a FIFO"):
        read_metadata(cache)


# --- the pieces -------------------------------------------------------------------------


def test_metadata_reads_trivys_timestamps(tmp_path):
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "trivy.db").write_bytes(b"")
    (tmp_path / "db" / "metadata.json").write_text(
        '{"Version":2,"NextUpdate":"2026-12-01T06:00:00Z","UpdatedAt":"2026-11-30T06:00:00Z",'
        '"DownloadedAt":"2026-11-30T07:49:01.283089004Z"}'
    )
    metadata = read_metadata(tmp_path)
    assert metadata == DbMetadata(
        2,
        dt.datetime(2026, 12, 1, 6, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC),
        dt.datetime(2026, 11, 30, 7, 49, 1, 283089, tzinfo=dt.UTC),
    )
    assert metadata.as_of == dt.datetime(2026, 11, 30, 6, tzinfo=dt.UTC)
    (tmp_path / "db" / "trivy.db").unlink()
    assert read_metadata(tmp_path) is None


def test_repositories_default_and_trivys_own_setting():
    assert DEFAULT_DB_REPOSITORIES == (
        "mirror.gcr.io/aquasec/trivy-db:2",
        "ghcr.io/aquasecurity/trivy-db:2",
        "public.ecr.aws/aquasecurity/trivy-db:2",
    )
    assert repositories_from_env({}) == DEFAULT_DB_REPOSITORIES
    assert repositories_from_env({"TRIVY_DB_REPOSITORY": " a/db:2, b/db:2 ,"}) == (
        "a/db:2",
        "b/db:2",
    )


def test_cache_dir_resolution(tmp_path, monkeypatch):
    assert resolve_cache_dir(tmp_path / "x", {"TRIVY_CACHE_DIR": "/elsewhere"}) == tmp_path / "x"
    assert resolve_cache_dir(None, {"TRIVY_CACHE_DIR": str(tmp_path)}) == tmp_path
    # Relative means relative to where mlsecops runs (Trivy runs elsewhere): made absolute.
    monkeypatch.chdir(tmp_path)
    assert resolve_cache_dir(None, {"TRIVY_CACHE_DIR": "tc"}) == tmp_path.resolve() / "tc"
    assert resolve_cache_dir(Path("c"), {}) == tmp_path.resolve() / "c"
    # The default is Trivy's own, whatever TRIVY_CACHE_DIR says: only resolve_cache_dir reads it.
    monkeypatch.setenv("TRIVY_CACHE_DIR", "tc")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "trivy"
    assert resolve_cache_dir(None, {}) == tmp_path.resolve() / "xdg" / "trivy"


def test_trivys_error_is_cut_to_its_cause():
    stderr = (
        "2026-11-30T07:54:02Z\tINFO\t[vulndb] Downloading artifact...\n"
        "2026-11-30T07:54:06Z\tFATAL\tFatal error\trun error: init error: DB error: failed to "
        "download vulnerability DB: OCI artifact error: failed to download vulnerability DB: "
        "failed to download artifact from any source: 1 error occurred:\n"
        "\t* OCI repository error: 1 error occurred:\n"
        "\t* GET https://ghcr.io/v2/aquasecurity/trivy-db/manifests/2: TOOMANYREQUESTS: "
        "retry-after: 1.2ms, allowed: 44000/minute\n\n\n\n"
    )
    assert fatal_cause(stderr) == (
        "GET https://ghcr.io/v2/aquasecurity/trivy-db/manifests/2: TOOMANYREQUESTS: "
        "retry-after: 1.2ms, allowed: 44000/minute"
    )


def test_every_cause_of_a_multi_error_is_kept():
    stderr = (
        "2026-11-30T07:54:02Z\tWARN\tsomething else\n"
        "2026-11-30T07:54:06Z\tFATAL\tFatal error\trun error: init error: DB error: failed to "
        "download artifact from any source: 2 errors occurred:\n"
        "\t* OCI repository error: 1 error occurred:\n"
        "\t* GET https://ghcr.io/v2/x: TOOMANYREQUESTS: slow down\n"
        "\n"
        "\t* OCI repository error: 1 error occurred:\n"
        "\t* GET https://public.ecr.aws/v2/x: dial tcp: connection refused\n\n\n"
    )
    assert fatal_cause(stderr) == (
        "GET https://ghcr.io/v2/x: TOOMANYREQUESTS: slow down; "
        "GET https://public.ecr.aws/v2/x: dial tcp: connection refused"
    )
    # Without a list of causes, the whole message (the last FATAL/ERROR entry, else the last line).
    assert fatal_cause(
        "2026-11-30T07:54:06Z\tFATAL\tFatal error\trun error: --skip-db-update cannot be "
        "specified on the first run\n"
    ) == ("run error: --skip-db-update cannot be specified on the first run")
    assert fatal_cause("2026-11-30T07:54:06Z\tERROR\tbad thing\n") == "bad thing"
    assert fatal_cause("panic: oops\n\n") == "panic: oops"
    assert fatal_cause("") == "no message"


# --- wired into `mlsecops scan` ---------------------------------------------------------


def scan_online(
    trivy_bin: Path, cache: Path, repositories: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`mlsecops scan` WITHOUT --offline, with Trivy's DB repositories set as users set them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIVY_")}
    env.update(
        PATH=f"{trivy_bin.parent}:/usr/bin:/bin",
        PYTHONPATH=str(REPO),
        TRIVY_DB_REPOSITORY=repositories,
        # Not under test, and each would be a connection of its own.
        TRIVY_SKIP_VERSION_CHECK="true",
        TRIVY_DISABLE_TELEMETRY="true",
    )
    return subprocess.run(
        [sys.executable, "-m", "mlsecops", "scan", "--trivy-cache-dir", str(cache), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_scan_with_a_recent_cached_db_proceeds_with_a_note(
    trivy_bin, trivy_cache, registry, tmp_path
):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(days=1), fresh=False)
    gone = registry.answering("gone", 404, UNKNOWN)
    out = tmp_path / "report.json"
    proc = scan_online(
        trivy_bin, cache, f"{gone},{REFUSED}", str(PROJECTS / "requirements"), "--json", str(out)
    )
    assert proc.returncode == 1, proc.stderr  # the project's findings, found with the cached DB
    report = json.loads(out.read_text())
    assert ("CVE-2025-32434", "torch") in {(f["id"], f["package"]) for f in report["findings"]}
    (note,) = [n for n in report["notes"] if "cached Trivy DB" in n]
    assert "every DB download failed" in note
    assert f"note: {note}" in proc.stdout
    assert registry.manifest_requests() == ["/v2/gone/trivy-db/manifests/2"]  # the scan: none


def test_scan_with_no_usable_db_exits_3_naming_every_repository(trivy_bin, registry, tmp_path):
    gone = registry.answering("gone", 404, UNKNOWN)
    proc = scan_online(trivy_bin, tmp_path / "cache", f"{gone},{REFUSED}", str(PROJECTS / "clean"))
    assert proc.returncode == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("mlsecops: error: cannot download the Trivy DB (")
    assert f"{gone}: " in lines[0] and f"{REFUSED}: " in lines[0]
    assert "there is no cached DB" in lines[0]


def test_scan_with_a_fresh_cached_db_touches_no_registry(
    trivy_bin, trivy_cache, registry, tmp_path
):
    cache = cached_db(trivy_cache, tmp_path / "cache", age=dt.timedelta(hours=1), fresh=True)
    proc = scan_online(
        trivy_bin, cache, registry.answering("limited", 429, TOO_MANY), str(PROJECTS / "clean")
    )
    assert proc.returncode == 0, proc.stderr
    assert "cached Trivy DB" not in proc.stdout
    assert registry.server.log == []


# --- the DB's date and age in every report -------------------------------------------------


def test_every_report_states_the_db_date_and_age(trivy_bin, trivy_cache, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    proc = scan_cli(
        trivy_bin, trivy_cache, str(PROJECTS / "clean"),
        "--json", str(out / "r.json"), "--summary", str(out / "s.md"),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    db = load_report(out / "r.json")["db"]
    assert (db["source"], db["trust"], db["verified"]) == ("offline cache", "record", True)
    assert db["age_days"] < 1 and db["max_age_days"] == 7
    assert db["sha256"] == db_sha256(trivy_cache / "db" / "trivy.db")
    assert db["cache_key"].startswith("mlsecops-trivy-db-v1-") and db["sha256"] in db["cache_key"]
    built = db["updated_at"][:16].replace("T", " ")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("db: "))
    assert f"Trivy DB built {built} UTC, 0." in line and "date verified by record" in line
    assert f"Trivy DB built {built} UTC" in render((out / "s.md").read_text(encoding="utf-8"))


def test_offline_an_undatable_db_exits_3_unless_accepted(trivy_bin, trivy_cache, tmp_path):
    cache = cached_db(
        trivy_cache, tmp_path / "cache", age=dt.timedelta(days=1), fresh=False, recorded=False
    )
    proc = scan_cli(trivy_bin, cache, str(PROJECTS / "clean"))
    assert proc.returncode == 3
    assert "the Trivy DB cannot be dated" in one_line_error(proc)
    out = tmp_path / "r.json"
    proc = scan_cli(
        trivy_bin, cache, str(PROJECTS / "clean"), "--accept-unverified-db", "--json", str(out)
    )
    assert proc.returncode == 0, proc.stderr
    db = load_report(out)["db"]
    assert (db["trust"], db["verified"], db["sha256"]) == ("metadata only", False, "")
    assert "date unverified: from its own metadata.json" in proc.stdout


def test_online_scan_with_a_forged_db_reports_the_real_age(
    trivy_bin, trivy_cache, registry, db_layer, tmp_path
):
    cache = cached_db(
        trivy_cache, tmp_path / "cache", age=dt.timedelta(days=400), fresh=False, recorded=False
    )
    forge_metadata(cache, updated=NOW - dt.timedelta(days=400))
    out = tmp_path / "r.json"
    good = registry.serving("aquasecurity", db_layer)
    proc = scan_online(trivy_bin, cache, good, str(PROJECTS / "clean"), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    db = load_report(out)["db"]
    assert (db["source"], db["trust"], db["repository"]) == ("downloaded", "record", good)
    assert db["age_days"] < 1
    assert read_record(default_record_path(cache)) is not None


def test_a_model_only_scan_has_no_db(tmp_path):
    (tmp_path / "empty").mkdir()
    model = tmp_path / "model.bin"
    model.write_bytes(b"\0" * 16)
    out = tmp_path / "r.json"
    proc = subprocess.run(
        [sys.executable, "-m", "mlsecops", "scan", str(tmp_path / "empty"), "--model", str(model),
         "--json", str(out)],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=120,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip
    assert proc.returncode in (0, 1), proc.stderr
    assert load_report(out)["db"] is None
    assert "db: " not in proc.stdout
