"""Advisories whose version bounds Trivy cannot compare are named, not dropped in silence.

The DB is built here (tests/support/trivydb.py) with bounds like those in the real PyPA
data; the real Trivy shows that it drops them, and the scan's ledger names each one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mlsecops.trivy.advisory_bounds import AdvisoryBounds, why_not_compared
from mlsecops.trivy.bolt import BoltFile
from tests.support.scan_cli import load_report, scan_cli
from tests.support.trivydb import Advisory, build_trivy_db_from, run_trivy

# Made-up ids: these packages and advisories exist only in this test's DB.
ADVISORIES = [
    Advisory(
        id="GHSA-test-beta-0001", ecosystem="pip", packages=("alpha-lib",),
        vulnerable=(">= 2.0.0, < 3.0.0-beta0",), patched=("3.0.0",),
        severity={"ghsa": "HIGH"}, title="bound with a spelled-out pre-release",
    ),
    Advisory(
        id="GHSA-test-locl-0002", ecosystem="pip", packages=("bravo_lib",),
        vulnerable=("<= 2.6.0+cu124",), severity={"ghsa": "CRITICAL"}, title="local bound",
    ),
    Advisory(
        id="GHSA-test-fine-0003", ecosystem="pip", packages=("bravo_lib", "charlie"),
        vulnerable=("< 3.0",), patched=("3.0",), severity={"ghsa": "MEDIUM"}, title="fine",
    ),
]  # fmt: skip


@pytest.fixture(scope="module", params=[False, True], ids=["page-buckets", "inline-buckets"])
def cache(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Path:
    # Real trivy.db files keep small buckets inline; Trivy (bbolt) reads both forms.
    root = tmp_path_factory.mktemp("bounds-cache")
    build_trivy_db_from(root, ADVISORIES, inline_small=request.param)
    return root


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "requirements.txt").write_text("alpha-lib==2.5.0\nbravo_lib==2.0.0\ncharlie==1.0\n")
    return root


def test_trivy_drops_them_and_the_ledger_names_them(trivy_bin, cache, project, tmp_path):
    # What Trivy itself reports: only the advisory whose bounds it can read.
    report = run_trivy(trivy_bin, cache, "fs", str(project))
    found = {
        (v["PkgName"], v["VulnerabilityID"])
        for r in report["Results"]
        for v in r.get("Vulnerabilities", [])
    }
    assert found == {("bravo_lib", "GHSA-test-fine-0003"), ("charlie", "GHSA-test-fine-0003")}
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, cache, str(project), "--json", str(out), "--fail-on", "NONE")
    assert proc.returncode == 0, proc.stderr
    data = load_report(out)  # the ledger adds up
    items = {i["name"]: i for i in data["coverage"]["not_checked"]}
    assert set(items) == {"alpha-lib", "bravo_lib"}
    assert {i["reason"] for i in items.values()} == {"unparseable-version"}
    assert items["alpha-lib"]["line"] == 1
    assert items["alpha-lib"]["detail"].startswith("GHSA-test-beta-0001: Trivy misreads the range")
    assert items["bravo_lib"]["detail"] == (
        "GHSA-test-locl-0002: Trivy rejects '<= 2.6.0+cu124' (a local version in an ordering bound)"
    )
    [read] = data["coverage"]["files"]
    assert (read["packages"], read["checked"]) == (3, 1)
    # The advisories Trivy can read are still reported for the same package.
    assert ("GHSA-test-fine-0003", "bravo_lib") in {
        (f["id"], f["package"]) for f in data["findings"]
    }


@pytest.mark.parametrize(
    ("ranges", "problem"),
    [
        (["< 1.0"], ""),
        ([">= 1.0, < 1.2.3", ">= 2.0, < 2.0.1"], ""),
        (["< 3.0.0b0"], ""),
        (["< 3.0.0-rc1"], ""),
        (["< 3.0.0-beta0"], "misreads"),
        (["< 3.0.0.alpha1"], "misreads"),
        (["<= 2.6.0+cu124"], "local version"),
        (["< 1.0", ">= 2.0, < 2.1+local"], "local version"),
        (["< 2.0.0.final"], "rejects the range"),
        (["~= 1"], "two release numbers"),
        ([">= 1.*"], "wildcard"),
    ],
)
def test_trivys_reading_of_ranges_is_replayed(ranges, problem):
    reason = why_not_compared(ranges)
    assert (problem in reason and reason != "") if problem else reason == ""


def test_the_reader_walks_branch_pages_of_a_big_db(tmp_path):
    # 3,000 packages need several leaf pages under a branch page in every bucket.
    many = [
        Advisory(id=f"GHSA-many-{i:05d}", ecosystem="pip", packages=(f"pkg-{i:05d}",),
                 vulnerable=("< 1.0+local",) if i % 1000 == 7 else ("< 1.0",), title="x")
        for i in range(3000)
    ]  # fmt: skip
    build_trivy_db_from(tmp_path, many)
    db = tmp_path / "db" / "trivy.db"
    with BoltFile(db) as bolt:
        assert len(bolt.items(bolt.root)) == 3  # data-source, the pip bucket, vulnerability
    wanted = [(f"pkg-{i:05d}", "0.5") for i in range(3000)] + [("absent", "1.0")]
    found = AdvisoryBounds(db).uncompared(wanted)
    assert sorted(found) == [(f"pkg-{i:05d}", "0.5") for i in (7, 1007, 2007)]
