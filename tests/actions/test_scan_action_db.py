"""The scan action's DB cache, dated by its key, and the DB and dependency inputs.

The action restores Trivy's DB by the key prefix `mlsecops-trivy-db-v1-` and hands the key of
the entry it restored to the scan: that key (its date and trivy.db's SHA-256), never the
entry's own metadata.json, dates the DB. These runs execute action.yml's steps in order with
the real Trivy; actions/cache is a stand-in that restores a DB whose metadata.json is forged
to look fresh, and the DB registry is a local HTTP server (tests/support/oci_registry).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import pytest
import yaml

import entrypoint
from mlsecops.actions.inputs import variable
from mlsecops.actions.scan_inputs import read_config
from mlsecops.trivy.db_record import KEY_PREFIX, DbRecord, db_sha256, from_cache_key
from tests.actions.composite import StandIn, read_outputs
from tests.actions.conftest import REPO
from tests.actions.test_scan_action import check_step_env, failed_steps
from tests.support.oci_registry import Registry, db_layer, write_metadata

ACTION = yaml.safe_load((REPO / "action.yml").read_text())
NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
TOO_MANY = {"errors": [{"code": "TOOMANYREQUESTS", "message": "retry-after: 1s"}]}
QUIET_TRIVY = {"TRIVY_SKIP_VERSION_CHECK": "true", "TRIVY_DISABLE_TELEMETRY": "true"}


def key_for(sha: str, built: dt.datetime) -> str:
    """A key as the action saves one: the record's key and the run's cache-suffix."""
    return DbRecord(sha, built, built + dt.timedelta(hours=6)).cache_key() + "-99-1-0a1b2c3d"


class Cache:
    """actions/cache stand-ins: the DB restore gives one entry, saves are recorded."""

    def __init__(self, db_file: Path, key: str) -> None:
        self.db_file, self.key = db_file, key
        self.saved: list[dict[str, str]] = []

    def restore(self, with_: dict[str, str]) -> tuple[str, dict[str, str]]:
        if not with_["restore-keys"].startswith(KEY_PREFIX):
            return "success", {}  # the Trivy download: nothing cached
        db_dir = Path(with_["path"])
        db_dir.mkdir(parents=True, exist_ok=True)
        shutil.copy(self.db_file, db_dir / "trivy.db")
        # What whoever wrote the entry can put in it: "built now, next update in 2099".
        write_metadata(db_dir, updated=NOW, next_update=dt.datetime(2099, 1, 1, tzinfo=dt.UTC))
        return "success", {"cache-hit": "false", "cache-matched-key": self.key}

    def save(self, with_: dict[str, str]) -> str:
        self.saved.append(with_)
        return "success"

    def stand_ins(self) -> dict[str, StandIn]:
        return {"actions/cache/restore": self.restore, "actions/cache/save": self.save}


@pytest.fixture
def registry(httpserver) -> Registry:
    return Registry(httpserver)


@pytest.fixture
def empty_cache(runner) -> Path:
    """The action's own Trivy cache dir as a fresh runner has it: empty, no record."""
    cache = runner.runner_temp / "mlsecops-trivy-cache"
    shutil.rmtree(cache)
    cache.mkdir()
    return cache


def report_db(run) -> dict:
    return json.loads(Path(run.outputs["json-file"]).read_text())["db"]


def test_a_restored_db_with_a_fresh_key_is_used_without_a_download(
    runner, registry, trivy_cache, empty_cache
):
    db_file = trivy_cache / "db" / "trivy.db"
    built = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
    cache = Cache(db_file, key_for(db_sha256(db_file), built))
    limited = registry.answering("limited", 429, TOO_MANY)
    run = runner(
        "requirements",
        offline="false",
        cache="true",
        env={"TRIVY_DB_REPOSITORY": limited, **QUIET_TRIVY},
        stand_ins=cache.stand_ins(),
    )
    assert run.outputs["exit-code"] == "1", failed_steps(run)
    assert run.outputs["critical"] == "4"
    db = report_db(run)
    assert (db["source"], db["trust"]) == ("fresh cache", "cache key")
    assert 0.08 <= db["age_days"] < 0.13  # the key's date (2 hours ago), not metadata.json's
    assert registry.server.log == []  # no registry was asked
    assert run.step("Scan").env["MLSECOPS_TRIVY_DB_CACHE_KEY"] == cache.key
    # What the cache gave is not saved again.
    assert run.step_outputs["scan"]["db-cache-key"] == ""
    assert run.step("Save Trivy's DB").kind == "skipped" and cache.saved == []


@pytest.mark.parametrize(
    ("why", "built", "other_file"),
    [
        ("ten days old", NOW - dt.timedelta(days=10), False),
        ("dated in the future", dt.datetime(2099, 1, 1, tzinfo=dt.UTC), False),
        ("for another trivy.db", NOW - dt.timedelta(hours=1), True),
    ],
)
def test_a_restored_db_its_key_cannot_vouch_for_is_downloaded_afresh_and_saved(
    runner, registry, trivy_cache, empty_cache, tmp_path, why, built, other_file
):
    db_file = trivy_cache / "db" / "trivy.db"
    sha = "0" * 64 if other_file else db_sha256(db_file)
    cache = Cache(db_file, key_for(sha, built))
    good = registry.serving("aquasecurity", db_layer(db_file, tmp_path / "layer", updated=NOW))
    run = runner(
        "requirements",
        offline="false",
        cache="true",
        env={"TRIVY_DB_REPOSITORY": good, **QUIET_TRIVY},
        stand_ins=cache.stand_ins(),
    )
    assert run.outputs["exit-code"] == "1", (why, failed_steps(run))
    db = report_db(run)
    assert (db["source"], db["trust"]) == ("downloaded", "record"), why
    assert db["updated_at"] == NOW.strftime("%Y-%m-%dT%H:%M:%SZ")  # the registry's date
    assert registry.manifest_requests() == ["/v2/aquasecurity/trivy-db/manifests/2"]
    # Saved under the key the report names, with this run's suffix: a new entry.
    (saved,) = cache.saved
    suffix = run.step_outputs["setup"]["cache-suffix"]
    assert saved == {"path": f"{empty_cache}/db", "key": f"{db['cache_key']}-{suffix}"}
    record = from_cache_key(saved["key"])
    assert record is not None and record.sha256 == db_sha256(empty_cache / "db" / "trivy.db")
    restore = run.step("Restore Trivy's DB").with_
    assert restore["restore-keys"] == KEY_PREFIX and from_cache_key(restore["key"]) is None


def test_offline_the_restored_key_dates_the_db_and_max_db_age_days_bounds_it(
    runner, trivy_cache, empty_cache
):
    db_file = trivy_cache / "db" / "trivy.db"
    stale = Cache(db_file, key_for(db_sha256(db_file), NOW - dt.timedelta(days=10)))
    run = runner("requirements", cache="true", stand_ins=stale.stand_ins())
    assert run.outputs["exit-code"] == "3"
    error = run.outputs["error"]
    assert "10.0 days ago: older than the maximum of 7 days" in error
    assert "input max-db-age-days" in error and "--max-db-age-days" not in error
    assert run.step("Save Trivy's DB").kind == "skipped"
    again = runner(
        "requirements", cache="true", stand_ins=stale.stand_ins(), **{"max-db-age-days": "30"}
    )
    assert again.outputs["exit-code"] == "1", failed_steps(again)
    db = report_db(again)
    assert (db["source"], db["trust"], db["max_age_days"]) == ("offline cache", "cache key", 30)


def test_a_db_no_record_vouches_for_needs_accept_unverified_db(runner, tmp_path):
    own = tmp_path / "seeded-by-trivy"
    shutil.copytree(runner.runner_temp / "mlsecops-trivy-cache" / "db", own / "db")
    run = runner("clean", **{"trivy-cache-dir": str(own)})
    assert run.outputs["exit-code"] == "3"
    assert "accept-unverified-db: true" in run.outputs["error"]
    assert "input trivy-db-record" in run.outputs["error"]
    accepted = runner("clean", **{"trivy-cache-dir": str(own), "accept-unverified-db": "true"})
    assert accepted.outputs["exit-code"] == "0", failed_steps(accepted)
    assert report_db(accepted)["trust"] == "metadata only"
    # trivy-db-record names where the record is kept.
    record = runner.runner_temp / "mlsecops-trivy-cache" / "mlsecops-db-record.json"
    recorded = runner("clean", **{"trivy-cache-dir": str(own), "trivy-db-record": str(record)})
    assert recorded.outputs["exit-code"] == "0", failed_steps(recorded)
    assert report_db(recorded)["trust"] == "record"


# --- every new input, strictly checked before anything is installed -------------------------


def check(tmp_path: Path, **inputs: str) -> tuple[int, dict[str, str]]:
    """The check step alone (entrypoint `check`) with these inputs over the defaults."""
    output = tmp_path / "output"
    output.write_text("")
    env = {**check_step_env(), "GITHUB_OUTPUT": str(output)}
    env.update({variable(name): value for name, value in inputs.items()})
    return entrypoint.main(env, ["check"]), read_outputs(output)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "7 days", "nan", "inf", "1e9"])
def test_max_db_age_days_must_be_a_number_of_days_above_0(tmp_path, value):
    code, outputs = check(tmp_path, **{"max-db-age-days": value})
    assert code == 2
    assert outputs["error"] == (
        f"max-db-age-days {value!r} is not a number of days above 0; to fix: give a number of "
        "days, e.g. 7"
    )


@pytest.mark.parametrize(
    ("inputs", "error"),
    [
        ({"exclude": "'examples/*"}, 'cannot split the list "\'examples/*"'),
        (
            {"model-manifest": "model.manifest.json"},
            "input model-manifest links a model in the ML-BOM, and no input sbom-file was "
            "asked for; to fix: add input sbom-file with the file to write, or drop input "
            "model-manifest",
        ),
        (
            {"resolve": "true", "offline": "true"},
            "resolve: true asks pip for the package index, and offline: true touches no network",
        ),
    ],
)
def test_inputs_that_cannot_work_are_refused_by_the_check_step(tmp_path, inputs, error):
    code, outputs = check(tmp_path, **inputs)
    assert code == 2
    assert outputs["error"].startswith(error)


def test_every_new_input_reaches_the_scan_request():
    env = {
        **check_step_env(),
        variable("max-db-age-days"): "2.5",
        variable("accept-unverified-db"): "TRUE",
        variable("trivy-db-record"): "/keep/record.json",
        variable("trivy-db-cache-key"): "mlsecops-trivy-db-v1-x",
        variable("allow-source-builds"): "true",
        variable("skip-dev-deps"): "true",
        variable("exclude"): "examples/*\n'docs/my requirements.txt'",
        variable("sbom-file"): "bom.json",
        variable("model-manifest"): "a.json b.json",
    }
    scan = read_config(env).scan
    assert (scan.max_db_age_days, scan.accept_unverified_db) == (2.5, True)
    assert (scan.trivy_db_record, scan.trivy_db_cache_key) == (
        Path("/keep/record.json"),
        "mlsecops-trivy-db-v1-x",
    )
    assert (scan.allow_source_builds, scan.include_dev) == (True, False)
    assert scan.exclude == ("examples/*", "docs/my requirements.txt")
    assert scan.model_manifests == (Path("a.json"), Path("b.json"))
    defaults = read_config(check_step_env()).scan
    assert (defaults.max_db_age_days, defaults.accept_unverified_db) == (7.0, False)
    assert (defaults.allow_source_builds, defaults.include_dev, defaults.exclude) == (
        False,
        True,
        (),
    )


def test_skip_dev_deps_and_exclude_reach_the_scan(runner):
    def packages(**inputs: str) -> set[str]:
        run = runner("pipfile", **inputs)
        assert run.outputs["exit-code"] == "1", failed_steps(run)
        report = json.loads(Path(run.outputs["json-file"]).read_text())
        return {f["package"] for f in report["findings"]}

    assert "jinja2" in packages()  # in Pipfile.lock's develop section
    assert "jinja2" not in packages(**{"skip-dev-deps": "true"})
    # Globs are relative to `path`, the scanned directory (as the policy file's are).
    excluded = runner("requirements", exclude="requirements.txt")
    assert excluded.outputs["exit-code"] == "0", failed_steps(excluded)
    assert excluded.outputs["total"] == "0"


# --- the README's tables are action.yml's ----------------------------------------------------


def readme_table(header: str) -> list[list[str]]:
    text = (REPO / "README.md").read_text()
    start = text.index(header)
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_readme_inputs_table_is_action_ymls():
    rows = readme_table("| input | default | meaning |")
    names = [re.fullmatch(r"`([a-z-]+)`", row[0]).group(1) for row in rows]  # type: ignore[union-attr]
    assert sorted(names) == sorted(ACTION["inputs"]), set(names) ^ set(ACTION["inputs"])
    for name, row in zip(names, rows, strict=True):
        default = str(ACTION["inputs"][name].get("default", ""))
        if default in ("true", "false"):
            assert row[1] == f"`{default}`", name


def test_the_readme_outputs_table_is_action_ymls_on_every_exit_code():
    rows = readme_table("| output | exit 0 (passed) | exit 1 (gate failed) |")
    named = [re.findall(r"`([a-z-]+)`", row[0]) for row in rows]
    assert sorted(n for names in named for n in names) == sorted(ACTION["outputs"])
    assert all(len(row) == 5 and all(row) for row in rows), "one cell per exit code"
