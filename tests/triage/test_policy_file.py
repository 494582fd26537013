"""The policy file: every key read, every schema error named with file:line and the fix."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from mlsecops.core.findings import BaselineState, Finding, Kind, Severity
from mlsecops.deps.unpinned import UNPINNED_ID
from mlsecops.errors import UsageError
from mlsecops.triage.policy import Policy, apply_policy, build_gate, load_policy
from tests.support.scan_cli import one_line_error, scan_cli

GOOD = """\
version: 1
fail-on: HIGH
fail-on-by-kind:
  model: MEDIUM
  secret: NONE
sarif-severity: MEDIUM
model-scanner:
  allow-globals:
    - "mlteam.layers:Dense"
    - "mlteam.blocks.*"
ignore:
  - id: CVE-2018-18074
    reason: "no redirects to http in our client"
    package: requests
    target: "requirements*.txt"
    expires: 2027-03-31
  - id: MLS-UNPINNED
    reason: "dev tools float on purpose"
    target: "requirements-dev.txt"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".mlsecops.yml"
    path.write_text(text)
    return path


def test_every_key_is_read(tmp_path):
    policy = load_policy(write(tmp_path, GOOD))
    assert policy.fail_on == "HIGH"
    assert policy.fail_on_by_kind == (("model", "MEDIUM"), ("secret", "NONE"))
    assert policy.sarif_severity == "MEDIUM"
    assert policy.allow_globals == ("mlteam.layers:Dense", "mlteam.blocks.*")
    first, second = policy.ignores
    assert (first.id, first.package, first.target) == (
        "CVE-2018-18074",
        "requests",
        "requirements*.txt",
    )
    assert first.expires == dt.date(2027, 3, 31)
    assert (first.line, second.line) == (12, 17)
    assert second.expires is None


def test_fail_on_as_one_severity_and_empty_file(tmp_path):
    assert load_policy(write(tmp_path, "version: 1\nfail-on: CRITICAL\n")).fail_on == "CRITICAL"
    empty = load_policy(write(tmp_path, "version: 1\n"))
    assert (empty.fail_on, empty.fail_on_by_kind, empty.ignores) == (None, (), ())


def finding(
    kind: Kind, severity: Severity, baseline: BaselineState = BaselineState.NONE
) -> Finding:
    return Finding(id="X-1", kind=kind, severity=severity, target="t", baseline=baseline)


def test_gate_per_kind_and_flag_override(tmp_path):
    policy = load_policy(write(tmp_path, GOOD))
    gate = build_gate(policy, None)
    assert gate.fails(finding(Kind.MODEL, Severity.MEDIUM))
    assert not gate.fails(finding(Kind.VULNERABILITY, Severity.MEDIUM))
    assert gate.fails(finding(Kind.VULNERABILITY, Severity.HIGH))
    assert not gate.fails(finding(Kind.SECRET, Severity.CRITICAL))
    assert gate.describe() == "HIGH; model: MEDIUM; secret: NONE"
    assert not gate.off
    # --fail-on replaces the file's whole fail-on, per-kind entries included.
    flagged = build_gate(policy, "CRITICAL")
    assert not flagged.fails(finding(Kind.MODEL, Severity.HIGH))
    assert flagged.fails(finding(Kind.SECRET, Severity.CRITICAL))
    assert build_gate(Policy(), None).label == "HIGH"
    assert build_gate(Policy(), "NONE").off
    # Only new findings, when asked: an existing one never fails.
    new_only = build_gate(Policy(), None, new_only=True)
    assert not new_only.fails(
        finding(Kind.VULNERABILITY, Severity.CRITICAL, BaselineState.EXISTING)
    )
    assert new_only.fails(finding(Kind.VULNERABILITY, Severity.CRITICAL, BaselineState.NEW))
    assert new_only.fails(finding(Kind.VULNERABILITY, Severity.CRITICAL))


def test_ignore_unfixed_never_hides_an_unpinned_requirement():
    unpinned = Finding(
        id=UNPINNED_ID, kind=Kind.VULNERABILITY, severity=Severity.UNKNOWN, target="t"
    )
    unfixed = Finding(id="CVE-1", kind=Kind.VULNERABILITY, severity=Severity.HIGH, target="t")
    triage = apply_policy([unpinned, unfixed], Policy(), ignore_unfixed=True)
    assert [f.ignored for f in triage.findings] == [False, True]


def test_an_entry_marks_what_it_ignores_with_its_analysis_and_expiry(tmp_path):
    policy = load_policy(
        write(
            tmp_path,
            "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    expires: 2027-03-31\n"
            "    state: not_affected\n    justification: requires_configuration\n"
            "  - id: CVE-2\n    reason: r\n",
        )
    )
    findings = [
        Finding(id=i, kind=Kind.VULNERABILITY, severity=Severity.HIGH, target="t")
        for i in ("CVE-1", "CVE-2")
    ]
    triage = apply_policy(findings, policy, today=dt.date(2027, 1, 1))
    assert [f.properties for f in triage.findings] == [
        {
            "analysis-state": "not_affected",
            "analysis-justification": "requires_configuration",
            "ignore-expires": "2027-03-31",
        },
        {},
    ]


def test_ignore_package_names_match_as_pypi_normalises_them(tmp_path):
    policy = load_policy(
        write(
            tmp_path,
            "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    package: huggingface_hub\n",
        )
    )

    def vuln(package: str) -> Finding:
        return Finding(
            id="CVE-1", kind=Kind.VULNERABILITY, severity=Severity.HIGH, target="t", package=package
        )

    names = ["huggingface-hub", "Huggingface.Hub", "huggingface_hub", "huggingface-hubs"]
    triage = apply_policy([vuln(name) for name in names], policy)
    assert [f.ignored for f in triage.findings] == [True, True, True, False]


# (policy text, line the error must name, words the message must contain)
BAD = [
    pytest.param("- version: 1\n", 1, ["must be a YAML mapping"], id="not-a-mapping"),
    pytest.param("fail-on: HIGH\n", 1, ["'version' is missing", "version: 1"], id="no-version"),
    pytest.param("version: 2\n", 1, ["version: 2 is not allowed", "version: 1"], id="version-2"),
    pytest.param(
        "version: 1\nfail_on: HIGH\n",
        2,
        ["unknown key 'fail_on'", "did you mean 'fail-on'", "the keys are version, fail-on"],
        id="unknown-top-key",
    ),
    pytest.param(
        "version: 1\nfail-on: HIHG\n",
        2,
        ["fail-on: 'HIHG' is not allowed", "LOW, MEDIUM, HIGH, CRITICAL or NONE"],
        id="fail-on-typo",
    ),
    pytest.param(
        "version: 1\nfail-on: 3\n",
        2,
        ["fail-on: 3 is not allowed", "LOW, MEDIUM, HIGH, CRITICAL or NONE"],
        id="fail-on-number",
    ),
    pytest.param(
        "version: 1\nfail-on:\n  model: MEDIUM\n",
        3,
        ["fail-on: {'model': 'MEDIUM'} is not allowed", "LOW, MEDIUM"],
        id="fail-on-mapping",
    ),
    pytest.param(
        "version: 1\nfail-on-by-kind:\n  model: MEDIUM\n  modle: MEDIUM\n",
        4,
        ["fail-on-by-kind: unknown key 'modle'", "did you mean 'model'", "kinds: vulnerability"],
        id="fail-on-unknown-kind",
    ),
    pytest.param(
        "version: 1\nfail-on-by-kind:\n  model: SEVERE\n",
        3,
        ["fail-on-by-kind.model: 'SEVERE' is not allowed"],
        id="fail-on-kind-bad-severity",
    ),
    pytest.param(
        "version: 1\nfail-on-by-kind: MEDIUM\n",
        2,
        ["fail-on-by-kind must be a mapping, not 'MEDIUM'", "{model: MEDIUM}"],
        id="fail-on-by-kind-not-a-mapping",
    ),
    pytest.param(
        "version: 1\nsarif-severity: NONE\n",
        2,
        ["sarif-severity: 'NONE' is not allowed", "LOW, MEDIUM, HIGH or CRITICAL"],
        id="sarif-severity",
    ),
    pytest.param(
        "version: 1\nmodel-scanner: [a]\n",
        2,
        ["model-scanner must be a mapping, not a list", "allow-globals"],
        id="model-scanner-type",
    ),
    pytest.param(
        "version: 1\nmodel-scanner:\n  allow: []\n",
        3,
        ["model-scanner: unknown key 'allow'", "did you mean 'allow-globals'"],
        id="model-scanner-key",
    ),
    pytest.param(
        "version: 1\nmodel-scanner:\n  allow-globals: mlteam:Dense\n",
        3,
        ["model-scanner.allow-globals must be a list, not 'mlteam:Dense'"],
        id="allow-globals-not-a-list",
    ),
    pytest.param(
        "version: 1\nmodel-scanner:\n  allow-globals:\n    - ok:Name\n    - not a global()\n",
        5,
        ["model-scanner.allow-globals[1]: 'not a global()' is not a pickle global", "module:name"],
        id="allow-globals-pattern",
    ),
    pytest.param(
        "version: 1\nignore:\n  id: CVE-1\n",
        3,
        ["ignore must be a list, not a mapping", "`id` and `reason`"],
        id="ignore-not-a-list",
    ),
    pytest.param(
        "version: 1\nignore:\n  - CVE-1\n", 3, ["ignore[0] must be a mapping"], id="ignore-item"
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    package: x\n",
        3,
        ["ignore[0]: 'reason' is missing"],
        id="ignore-no-reason",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: ok\n  - reason: no id\n",
        5,
        ["ignore[1]: 'id' is missing"],
        id="ignore-no-id",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    expiry: 2027-01-01\n",
        5,
        ["ignore[0]: unknown key 'expiry'", "did you mean 'expires'"],
        id="ignore-unknown-key",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: ''\n",
        4,
        ["ignore[0].reason must not be empty"],
        id="ignore-empty-reason",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: 2024\n    reason: r\n",
        3,
        ["ignore[0].id must be text, not a number"],
        id="ignore-id-number",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    expires: 2027-3-31\n",
        5,
        ["ignore[0].expires: '2027-3-31' is not a date (YYYY-MM-DD)"],
        id="expires-pattern",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    expires: 2027-02-30\n",
        5,
        ["expires '2027-02-30' is not a real date", "YYYY-MM-DD"],
        id="expires-not-a-date",
    ),
    pytest.param(
        # Only an explicit tag makes a date (the loader reads a plain 2027-03-31 as text).
        "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    expires: !!timestamp 2027-03-31\n",
        5,
        ["ignore[0].expires must be text, not a date", "YYYY-MM-DD"],
        id="expires-tagged-timestamp",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    state: wont_fix\n",
        5,
        ["ignore[0].state", "wont_fix", "not_affected"],
        id="state-not-cyclonedx",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: r\n    state: exploitable\n"
        "    justification: code_not_reachable\n",
        3,
        ["a justification says why a finding does not affect you", "state: not_affected"],
        id="justification-without-not-affected",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: !!python/name:os.system x\n",
        4,
        ["is not valid YAML", "could not determine a constructor"],
        id="unsafe-tag",
    ),
    pytest.param(
        "version: 1\nignore:\n  - id: CVE-1\n    reason: [unclosed\n",
        5,
        ["is not valid YAML", "fix the YAML syntax"],
        id="yaml-syntax",
    ),
]


@pytest.mark.parametrize(("text", "line", "words"), BAD)
def test_every_schema_error_names_file_line_and_fix(tmp_path, text, line, words):
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as error:
        load_policy(path)
    message = error.value.one_line()
    assert f"policy file {path}:{line}" in message, message
    assert "; to fix: " in message, message
    for word in words:
        assert word in message, message


def test_a_bad_policy_is_exit_2_with_one_line(trivy_bin, trivy_cache, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / ".mlsecops.yml").write_text("version: 1\nignore:\n  - id: CVE-1\n")
    proc = scan_cli(trivy_bin, trivy_cache, str(project))
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert f"{project}/.mlsecops.yml:3" in line
    assert "'reason' is missing" in line
