"""Matching findings against a baseline report: added, fixed, moved, bumped."""

from __future__ import annotations

import json
from pathlib import Path

from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.triage.baseline import Baseline, BaselineEntry, compare, match


def vuln(id: str, package: str, target: str = "requirements.txt", version: str = "1.0") -> Finding:
    return Finding(
        id=id,
        kind=Kind.VULNERABILITY,
        severity=Severity.HIGH,
        target=target,
        package=package,
        installed_version=version,
    )


def entry(id: str, package: str, target: str = "requirements.txt") -> BaselineEntry:
    return BaselineEntry(kind="vulnerability", id=id, package=package, target=target)


def marks(findings: tuple[Finding, ...]) -> list[tuple[str, str, str]]:
    return [(f.id, f.target, f.baseline) for f in findings]


def test_added_and_fixed():
    baseline = Baseline("base.json", (entry("CVE-1", "requests"), entry("CVE-2", "pyyaml")))
    result = match([vuln("CVE-1", "requests"), vuln("CVE-3", "torch")], baseline)
    assert marks(result.findings) == [
        ("CVE-1", "requirements.txt", "existing"),
        ("CVE-3", "requirements.txt", "new"),
    ]
    assert result.fixed == (entry("CVE-2", "pyyaml"),)


def test_a_version_bump_that_keeps_the_vulnerability_is_not_new():
    baseline = Baseline("b", (entry("CVE-1", "requests"),))
    result = match([vuln("CVE-1", "Requests", version="2.0")], baseline)
    assert result.findings[0].baseline == "existing"


def test_a_moved_lock_file_is_not_new():
    baseline = Baseline("b", (entry("CVE-1", "requests", "requirements.txt"),))
    result = match([vuln("CVE-1", "requests", "services/api/requirements.txt")], baseline)
    assert result.findings[0].baseline == "existing"
    assert result.fixed == ()


def test_a_second_copy_in_a_new_file_is_new_and_the_exact_target_wins():
    baseline = Baseline("b", (entry("CVE-1", "requests", "b/requirements.txt"),))
    result = match(
        [
            vuln("CVE-1", "requests", "a/requirements.txt"),
            vuln("CVE-1", "requests", "b/requirements.txt"),
        ],
        baseline,
    )
    assert marks(result.findings) == [
        ("CVE-1", "a/requirements.txt", "new"),
        ("CVE-1", "b/requirements.txt", "existing"),
    ]


def test_kind_matters():
    baseline = Baseline("b", (BaselineEntry("model", "MLS-X", "", "m.pkl"),))
    result = match([Finding("MLS-X", Kind.SECRET, Severity.HIGH, "m.pkl")], baseline)
    assert result.findings[0].baseline == "new"


def test_missing_or_broken_baseline_makes_everything_new_with_a_note(tmp_path: Path):
    findings = [vuln("CVE-1", "requests")]
    result = compare(findings, tmp_path / "nope.json")
    assert result.findings[0].baseline == "new"
    assert result.notes == (
        f"baseline report {tmp_path / 'nope.json'} not found: every finding counts as new.",
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert "is not valid JSON" in compare(findings, broken).notes[0]
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"SchemaVersion": 2, "Results": []}))  # a Trivy report
    assert "is not an mlsecops JSON report" in compare(findings, other).notes[0]
    assert compare(findings, other).findings[0].baseline == "new"


def test_the_archive_member_is_part_of_the_exact_target():
    def model(member: str) -> Finding:
        return Finding(
            "MLS-PICKLE-DENY", Kind.MODEL, Severity.CRITICAL, "m.pt", package="os.system",
            member=(member,),
        )  # fmt: skip

    base = BaselineEntry("model", "MLS-PICKLE-DENY", "os.system", "m.pt", member=("b.pkl",))
    result = match([model("a.pkl"), model("b.pkl")], Baseline("b", (base,)))
    assert [(f.member, f.baseline) for f in result.findings] == [
        (("a.pkl",), "new"),
        (("b.pkl",), "existing"),
    ]
