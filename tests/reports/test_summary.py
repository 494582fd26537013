"""The Markdown job summary."""

from __future__ import annotations

from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.reports.summary import minimum_upgrades, render_summary
from tests.reports.outcomes import outcome, typical, vuln


def test_failing_summary_reads_top_down():
    text = render_summary(typical())
    lines = text.splitlines()
    assert lines[0] == "## ❌ mlsecops: FAILED"
    assert "**4** open finding(s) at or above **HIGH**" in text
    assert "| CRITICAL | HIGH | MEDIUM | LOW | UNKNOWN |" in text
    assert "| 2 | 2 | 1 | 1 | 0 |" in text
    # Gate failures come first, as a table, with the id linked to its advisory.
    fail_at = text.index("### Findings that fail the gate (4)")
    other_at = text.index("<details><summary><b>Other open findings</b> (2)</summary>")
    ignored_at = text.index("<details><summary><b>Ignored findings</b> (1)</summary>")
    assert fail_at < other_at < ignored_at
    assert "[CVE-2020-14343](https://avd.aquasec.com/nvd/cve-2020-14343)" in text
    assert "| pyyaml | 5.3 → 5.4 | `requirements.txt:3` |" in text
    assert "| scikit-learn | `requirements.txt:1` | accepted risk |" in text


def test_how_to_fix_lists_minimum_upgrades_one_per_package():
    text = render_summary(typical())
    fixes = text[text.index("### How to fix") : text.index("### Findings that fail")]
    assert "upgrade **pyyaml** 5.3 → **5.4**" in fixes
    assert "upgrade **requests** 2.19.1 → **2.20.0**" in fixes
    assert "**ray** 2.9.0 has no fixed version for CVE-2023-48022" in fixes
    assert fixes.count("requests") == 1


def test_minimum_upgrade_takes_the_highest_needed_and_the_right_release_line():
    findings = [
        vuln("CVE-A", Severity.HIGH, "urllib3", "2.0.5", "1.26.17, 2.0.6"),
        vuln("CVE-B", Severity.HIGH, "urllib3", "2.0.5", "2.0.7"),
        vuln("CVE-C", Severity.HIGH, "tensorflow", "2.5.1", "2.4.4, 2.5.2, 2.6.1"),
    ]
    upgrades = {u.package: u.to for u in minimum_upgrades(findings)}
    assert upgrades == {"urllib3": "2.0.7", "tensorflow": "2.5.2"}


def test_passing_summary():
    text = render_summary(outcome(vuln("CVE-1", Severity.LOW, "tqdm", "4.66.1", "4.66.3")))
    assert text.startswith("## ✅ mlsecops: PASSED")
    assert "### How to fix" not in text
    assert "Other open findings" in text


def test_gate_off_says_so():
    text = render_summary(outcome(*typical().findings, fail_on=None))
    assert "The gate is off" in text


def test_truncates_under_the_limit_with_a_visible_note():
    many = [
        vuln(f"CVE-2000-{i:05d}", Severity.HIGH, f"package-{i}", "1.0", "1.1") for i in range(3000)
    ]
    text = render_summary(outcome(*many), notes=["a note at the end"], limit=50_000)
    assert len(text.encode()) <= 52_000
    assert "**Truncated:**" in text
    assert "a note at the end" in text
    assert text.count("| HIGH |") < 3000


def test_real_budget_stays_under_github_limit():
    many = [
        vuln(f"CVE-2000-{i:05d}", Severity.HIGH, f"package-{i}", "1.0", "1.1", title="t" * 200)
        for i in range(20000)
    ]
    text = render_summary(outcome(*many))
    assert len(text.encode()) < 1024 * 1024
    assert "**Truncated:**" in text


def test_markdown_cells_are_escaped():
    evil = vuln("CVE-1", Severity.HIGH, "pkg|x", "1.0", "1.1", title="a | b\nc")
    text = render_summary(outcome(evil))
    assert "pkg\\|x" in text


def test_model_findings_get_a_fix_line_once_per_file():
    def pickle_call(offset: int) -> Finding:
        return Finding(
            id="MLS-PICKLE-DENY",
            kind=Kind.MODEL,
            severity=Severity.CRITICAL,
            target="models/weights.bin",
            package="posix.system",
            title="Pickle calls dangerous posix.system",
            location=f"opcode 12 at byte offset {offset}",
            fix="Do not unpickle this file; save the weights with safetensors",
        )

    text = render_summary(outcome(pickle_call(39), pickle_call(80)))
    fixes = text[text.index("### How to fix") : text.index("### Findings that fail")]
    assert fixes.count("models/weights.bin") == 1
    assert "save the weights with safetensors" in fixes
    assert "(opcode 12 at byte offset 39)" in text


def test_an_archive_member_is_shown_with_its_file():
    member = Finding(
        "MLS-PICKLE-DENY", Kind.MODEL, Severity.CRITICAL, "models/v1:final.pt",
        package="os.system", member=("archive/data.pkl",),
    )  # fmt: skip
    text = render_summary(outcome(member))
    assert "`models/v1:final.pt (archive member archive/data.pkl)`" in text


def test_our_own_rule_ids_link_to_their_section_of_the_rules_page():
    finding = Finding(
        "MLS-PICKLE-DENY", Kind.MODEL, Severity.CRITICAL, "m.pkl", package="os.system"
    )
    text = render_summary(outcome(finding))
    anchor = "docs/rules.md#mls-pickle-deny"
    assert (
        f"[MLS-PICKLE-DENY](https://github.com/mlsecops/mlsecops-action/blob/main/{anchor})" in text
    )
