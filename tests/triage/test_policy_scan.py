"""The policy at work on real scans: ignores matching, expired and stale; .trivyignore files;
fail-on per finding kind; the SARIF floor; pickle globals the project trusts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.scan_cli import findings_by_id, load_report, scan_cli

REQUIREMENTS = "requests==2.19.1\nPyYAML==5.3.1\ntqdm==4.66.1\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "requirements.txt").write_text(REQUIREMENTS)
    return root


def test_ignore_matching_expired_and_stale(trivy_bin, trivy_cache, project, tmp_path):
    (project / ".mlsecops.yml").write_text(
        "version: 1\n"
        "ignore:\n"
        "  - id: CVE-2018-18074\n"
        "    reason: no redirects to http in our client\n"
        "    package: requests\n"
        "    target: '*requirements*.txt'\n"
        "    expires: 2999-12-31\n"
        "  - id: CVE-2020-14343\n"
        "    reason: we only load trusted YAML\n"
        "    expires: 2020-01-01\n"
        "  - id: CVE-2023-32681\n"
        "    reason: wrong package on purpose\n"
        "    package: urllib3\n"
        "  - id: CVE-1999-0001\n"
        "    reason: long gone\n"
    )
    out, summary = tmp_path / "r.json", tmp_path / "s.md"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--json", str(out), "--summary", str(summary)
    )
    data = load_report(out)
    found = findings_by_id(data)
    # Matching: hidden with its reason, out of the counts and the gate.
    requests = found[("CVE-2018-18074", "requests")]
    assert requests["ignored"] is True
    assert requests["ignore_reason"] == "no redirects to http in our client"
    assert requests["fails_gate"] is False
    # Expired: it hides nothing any more, so the CRITICAL finding fails the gate.
    pyyaml = found[("CVE-2020-14343", "PyYAML")]
    assert pyyaml["ignored"] is False
    assert pyyaml["fails_gate"] is True
    assert proc.returncode == 1, proc.stderr
    assert data["counts"]["CRITICAL"] == 1
    assert [e["id"] for e in data["policy"]["expired"]] == ["CVE-2020-14343"]
    assert data["policy"]["expired"][0]["line"] == 8
    # A package filter that does not match leaves the finding open; the entry is stale.
    assert found[("CVE-2023-32681", "requests")]["ignored"] is False
    stale = {(e["id"], e["line"]) for e in data["policy"]["stale"]}
    assert stale == {("CVE-2023-32681", 11), ("CVE-1999-0001", 14)}
    text = summary.read_text()
    assert "Ignore entry for `CVE-2020-14343` (line 8) **expired** on 2020-01-01" in text
    assert "Ignore entry for `CVE-1999-0001` (line 14) matched nothing" in text
    assert "note: policy ignore for CVE-2020-14343 expired on 2020-01-01" in proc.stdout


def test_trivyignore_still_works_and_is_reported(trivy_bin, trivy_cache, project, tmp_path):
    (project / ".trivyignore").write_text("# accepted\nCVE-2020-14343\n")
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    found = findings_by_id(load_report(out))
    pyyaml = found[("CVE-2020-14343", "PyYAML")]
    # Suppressed by Trivy, yet still in the report: ignored, with where the ignore came from.
    assert pyyaml["ignored"] is True
    assert pyyaml["ignore_reason"] == "ignored by .trivyignore"
    assert pyyaml["line"] == 2
    assert proc.returncode == 1  # requests' HIGH finding is still open
    assert "ignored by .trivyignore" in proc.stdout


def test_trivyignore_yaml_is_read_and_wins_over_the_plain_file(
    trivy_bin, trivy_cache, project, tmp_path
):
    (project / ".trivyignore.yaml").write_text(
        "vulnerabilities:\n"
        "  - id: CVE-2018-18074\n"
        "    statement: no redirects to http in our client\n"
        "  - id: CVE-2020-14343\n"
        "    statement: trusted YAML only\n"
    )
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = load_report(out)
    found = findings_by_id(data)
    assert found[("CVE-2018-18074", "requests")]["ignore_reason"] == (
        "ignored by .trivyignore.yaml: no redirects to http in our client"
    )
    assert data["ignored"] == 2
    (project / ".trivyignore").write_text("CVE-2023-32681\n")
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = load_report(out)
    assert any(".trivyignore was not read" in note for note in data["notes"])
    assert findings_by_id(data)[("CVE-2023-32681", "requests")]["ignored"] is False


def test_fail_on_per_kind_and_the_flag_override(trivy_bin, trivy_cache, project, tmp_path):
    (project / "requirements.txt").write_text("tqdm==4.66.1\n")  # one LOW vulnerability
    model = tmp_path / "model.pkl"
    # A pickle that instantiates a class of the team's own code: a MEDIUM model finding.
    model.write_bytes(b"\x80\x02cmlteam.layers\nDense\nq\x00)\x81q\x01.")
    policy = project / ".mlsecops.yml"
    policy.write_text("version: 1\nfail-on: HIGH\nfail-on-by-kind:\n  model: MEDIUM\n")
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--model", str(model), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    failing = [(f["kind"], f["severity"]) for f in data["findings"] if f["fails_gate"]]
    assert failing == [("model", "MEDIUM")]
    assert data["gate"]["fail_on_by_kind"] == {"model": "MEDIUM"}
    assert "fail-on HIGH; model: MEDIUM" in proc.stdout
    # --fail-on on the command line replaces the whole policy fail-on.
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--model", str(model), "--fail-on", "HIGH"
    )
    assert proc.returncode == 0, proc.stderr
    # The project trusts its own class: allow-listed, no model finding at all.
    policy.write_text(
        "version: 1\nfail-on-by-kind: {model: MEDIUM}\n"
        "model-scanner:\n  allow-globals: ['mlteam.layers:Dense']\n"
    )
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--model", str(model), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    assert [f for f in load_report(out)["findings"] if f["kind"] == "model"] == []


def test_sarif_floor_from_the_policy_and_the_flag_override(
    trivy_bin, trivy_cache, project, tmp_path
):
    (project / ".mlsecops.yml").write_text("version: 1\nsarif-severity: CRITICAL\n")
    sarif = tmp_path / "r.sarif"
    scan_cli(trivy_bin, trivy_cache, str(project), "--sarif", str(sarif))
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"CVE-2020-14343"}
    scan_cli(trivy_bin, trivy_cache, str(project), "--sarif", str(sarif), "--sarif-severity", "LOW")
    results = json.loads(sarif.read_text())["runs"][0]["results"]
    assert len(results) == 4
