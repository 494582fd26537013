"""The ML-BOM built from hand-made outcomes, checked against the official CycloneDX 1.6 schema.

The real-Trivy path (a scan's document read back by `trivy sbom`) is in
tests/scan/test_sbom_cli.py; these tests pin the document's shape for each kind of input.
"""

from __future__ import annotations

import dataclasses
import json

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.findings import (
    ANALYSIS_JUSTIFICATION,
    ANALYSIS_STATE,
    IGNORE_EXPIRES,
    Cvss,
    Finding,
    Kind,
    Severity,
    TargetType,
)
from mlsecops.core.gate import Gate
from mlsecops.core.inventory import Image, Inventory, Model, ModelFile, Package
from mlsecops.core.outcome import ScanOutcome
from mlsecops.deps.unpinned import unpinned_finding
from mlsecops.integrity.manifest import FileEntry, Manifest
from mlsecops.reports.bom_models import bom_problem, model_bom
from mlsecops.reports.bom_packages import oci_purl
from mlsecops.reports.cyclonedx import build_bom
from tests.reports.outcomes import vuln
from tests.support.cyclonedx import bom_errors, components_by_ref, props

REQUESTS = "pkg:pypi/requests@2.19.1"
LIBC6 = "pkg:deb/debian/libc6@2.36-9%2Bdeb12u1?arch=amd64&distro=debian-12"
IMAGE = "registry.example.com/team/ml:1.0"
DIGEST = "sha256:" + "ab" * 32
FILES = (
    ModelFile("config.json", 27, "11" * 32, "text"),
    ModelFile("weights.pkl", 29, "22" * 32, "pickle"),
)


def _model_finding(target: str, severity: Severity) -> Finding:
    return Finding("MLS-PICKLE-GLOBAL", Kind.MODEL, severity, target, title="os.system")


def _outcome() -> ScanOutcome:
    packages = (
        Package("requests", "2.19.1", REQUESTS, "requirements.txt", "pip", 2),
        Package("requests", "2.19.1", REQUESTS, "requirements-dev.txt", "pip", 5),
        Package("requests", "2.19.1", REQUESTS, IMAGE, "python-pkg", path="site/METADATA"),
        Package(
            "libc6", "2.36-9+deb12u1", LIBC6, IMAGE, "debian", properties=(("src_name", "glibc"),)
        ),
        Package("cudatoolkit", "11.8", "pkg:conda/cudatoolkit@11.8", "environment.yml", "conda", 4),
    )
    image = Image(
        IMAGE, DIGEST, (f"registry.example.com/team/ml@{DIGEST}",), (IMAGE,), (), "debian 12"
    )
    model = Model("models/m", "directory", FILES, "sha256:" + "33" * 32, "m.mlsecops.json")
    findings = (
        vuln("CVE-2018-18074", Severity.HIGH, "requests", "2.19.1", "2.20.0", line=2, cvss=7.5),
        vuln(
            "CVE-2018-18074",
            Severity.HIGH,
            "requests",
            "2.19.1",
            "2.20.0",
            target=IMAGE,
            target_type=TargetType.IMAGE,
            line=None,
        ),
        dataclasses.replace(
            vuln("CVE-2023-4911", Severity.HIGH, "libc6", "2.36-9+deb12u1", "", target=IMAGE),
            references=("https://example.com/a b", "https://example.com/ok"),
        ),
        vuln("CVE-2023-32681", Severity.MEDIUM, "requests", "2.19.1", "2.31.0", ignored=True),
        unpinned_finding(
            package="numpy",
            spec=">=1.24",
            target="requirements.txt",
            line=3,
            ecosystem="pip",
            how_to_pin="pin it",
        ),
        _model_finding("models/m/weights.pkl", Severity.CRITICAL),
        _model_finding("models/other.pkl", Severity.CRITICAL),
    )
    coverage = Coverage(
        (FileRead("environment.yml", "conda", 1, 0),),
        (NotChecked(Unchecked.NO_PYPI_TWIN, "environment.yml", "cudatoolkit", 4),),
    )
    return ScanOutcome(
        findings,
        Gate(Severity.HIGH),
        project=".",
        coverage=coverage,
        inventory=Inventory(packages, (image,), (model,)),
    )


def _bom() -> dict:
    return build_bom(_outcome(), "2026-01-01T00:00:00Z", "00000000-0000-4000-8000-000000000000")


def test_the_document_is_valid_cyclonedx_1_6():
    text = json.dumps(_bom())
    assert bom_errors(text) == []
    assert json.loads(text)["specVersion"] == "1.6"


def test_a_package_listed_in_three_places_is_one_component_with_three_occurrences():
    requests = components_by_ref(_bom())[REQUESTS]
    assert (requests["name"], requests["version"], requests["purl"]) == (
        "requests",
        "2.19.1",
        REQUESTS,
    )
    assert requests["evidence"]["occurrences"] == [
        {"location": "requirements.txt", "line": 2},
        {"location": "requirements-dev.txt", "line": 5},
        {"location": "site/METADATA", "additionalContext": f"in image {IMAGE}"},
    ]


def test_unpinned_and_uncovered_dependencies_are_listed_as_not_checked():
    by_ref = components_by_ref(_bom())
    numpy = by_ref["unchecked:requirements.txt:numpy"]
    assert "version" not in numpy and "purl" not in numpy
    assert props(numpy, "mlsecops:not-checked") == ["unpinned"]
    assert props(numpy, "mlsecops:not-checked-detail") == [">=1.24"]
    cuda = by_ref["pkg:conda/cudatoolkit@11.8"]
    assert props(cuda, "mlsecops:not-checked") == ["no-pypi-twin"]


def test_an_image_is_a_container_pinned_by_digest_with_its_os_packages_under_its_os():
    bom = _bom()
    by_ref = components_by_ref(bom)
    container = by_ref[f"image:{IMAGE}"]
    assert container["type"] == "container"
    assert container["version"] == DIGEST
    assert container["purl"] == oci_purl(f"registry.example.com/team/ml@{DIGEST}")
    assert container["purl"].startswith("pkg:oci/ml@sha256%3A")
    assert props(container, "mlsecops:image-id") == [DIGEST]
    os_component = by_ref[f"image:{IMAGE}#os"]
    assert (os_component["type"], os_component["name"], os_component["version"]) == (
        "operating-system",
        "debian",
        "12",
    )
    dependencies = {d["ref"]: d["dependsOn"] for d in bom["dependencies"]}
    assert dependencies[f"image:{IMAGE}"] == [f"image:{IMAGE}#os", REQUESTS]
    assert dependencies[f"image:{IMAGE}#os"] == [LIBC6]
    assert props(by_ref[LIBC6], "aquasecurity:trivy:SrcName") == ["glibc"]
    assert dependencies["project"][-2:] == [f"image:{IMAGE}", "model:models/m"]


def test_a_model_carries_its_file_hashes_formats_manifest_digest_and_verdict():
    model = components_by_ref(_bom())["model:models/m"]
    assert model["type"] == "machine-learning-model"
    files = {c["name"]: c["hashes"] for c in model["components"]}
    assert files == {f.path: [{"alg": "SHA-256", "content": f.sha256}] for f in FILES}
    assert props(model, "mlsecops:model:format") == ["text", "pickle"]
    assert props(model, "mlsecops:integrity:manifest-digest") == ["sha256:" + "33" * 32]
    assert props(model, "mlsecops:model:verdict") == ["fail"]
    # Only its own findings: models/other.pkl is another model's.
    assert props(model, "mlsecops:model:finding") == [
        "MLS-PICKLE-GLOBAL CRITICAL models/m/weights.pkl: os.system"
    ]


def test_vulnerabilities_affect_components_and_carry_the_ignore_reason():
    bom = _bom()
    refs = components_by_ref(bom)
    vulns = {v["bom-ref"]: v for v in bom["vulnerabilities"]}
    assert {v["id"] for v in vulns.values()} == {
        "CVE-2018-18074",
        "CVE-2023-4911",
        "CVE-2023-32681",
    }
    redirect = vulns["vulnerability:CVE-2018-18074"]
    assert redirect["affects"] == [
        {"ref": REQUESTS, "versions": [{"version": "2.19.1", "status": "affected"}]}
    ]
    assert redirect["ratings"] == [{"severity": "high", "score": 7.5}]
    assert props(redirect, "mlsecops:fails-gate") == ["true"]
    assert all(a["ref"] in refs for v in vulns.values() for a in v["affects"])
    ignored = vulns["vulnerability:CVE-2023-32681"]
    # An ignore that claims no state is in triage: the one state that asserts nothing.
    assert ignored["analysis"] == {"state": "in_triage", "detail": "accepted risk"}
    assert props(ignored, "mlsecops:fails-gate") == ["false"]
    # A reference that is no valid IRI (a space) is left out rather than break the document.
    libc = vulns["vulnerability:CVE-2023-4911"]
    assert "https://example.com/a b" not in [a["url"] for a in libc["advisories"]]
    assert "https://example.com/ok" in [a["url"] for a in libc["advisories"]]


V31 = "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
V40 = "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:N/VA:N/SC:N/SI:N/SA:N"


def test_ratings_carry_every_cvss_vector_with_its_method_and_source_and_the_cwes():
    rated = dataclasses.replace(
        vuln("CVE-2018-18074", Severity.HIGH, "requests", "2.19.1", "2.20.0", cvss=7.5),
        cvss=(
            Cvss("ghsa", "4.0", V40, 8.7),
            Cvss("nvd", "3.1", V31, 7.5),
            Cvss("nvd", "2.0", "AV:N/AC:L/Au:N/C:P/I:N/A:N", None),
            Cvss("redhat", "3.0", "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
        ),
        cwes=("CWE-522", "CWE-200", "CWE-522"),
    )
    bom = build_bom(ScanOutcome((rated,), Gate(Severity.HIGH)))
    assert bom_errors(json.dumps(bom)) == []
    [entry] = bom["vulnerabilities"]
    assert entry["ratings"] == [
        {"severity": "high", "score": 7.5},
        {"source": {"name": "ghsa"}, "score": 8.7, "method": "CVSSv4", "vector": V40},
        {"source": {"name": "nvd"}, "score": 7.5, "method": "CVSSv31", "vector": V31},
        {
            "source": {"name": "nvd"},
            "method": "CVSSv2",
            "vector": "AV:N/AC:L/Au:N/C:P/I:N/A:N",
        },
        {
            "source": {"name": "redhat"},
            "score": 5.9,
            "method": "CVSSv3",
            "vector": "CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N",
        },
    ]
    assert entry["cwes"] == [522, 200]


def test_the_analysis_is_the_state_the_ignore_entry_claims_with_its_reason_and_expiry():
    def ignored(reason: str, **marks: str) -> Finding:
        found = vuln("CVE-2023-32681", Severity.MEDIUM, "requests", "2.19.1", "2.31.0")
        return dataclasses.replace(found, ignored=True, ignore_reason=reason, properties=marks)

    not_affected = ignored(
        "we never follow redirects",
        **{
            ANALYSIS_STATE: "not_affected",
            ANALYSIS_JUSTIFICATION: "code_not_reachable",
            IGNORE_EXPIRES: "2027-03-31",
        },
    )
    accepted = dataclasses.replace(
        ignored("accepted until the upgrade", **{ANALYSIS_STATE: "exploitable"}),
        target="requirements-dev.txt",
    )
    bom = build_bom(ScanOutcome((not_affected, accepted), Gate(Severity.HIGH)))
    assert bom_errors(json.dumps(bom)) == []
    assert [v["analysis"] for v in bom["vulnerabilities"]] == [
        {
            "state": "not_affected",
            "justification": "code_not_reachable",
            "detail": "we never follow redirects (ignored until 2027-03-31)",
        },
        {"state": "exploitable", "detail": "accepted until the upgrade"},
    ]


def test_a_vulnerable_package_missing_from_the_inventory_still_gets_a_component():
    finding = vuln("CVE-2018-18074", Severity.HIGH, "requests", "2.19.1", "2.20.0")
    bom = build_bom(ScanOutcome((finding,), Gate(Severity.HIGH)))
    assert bom_errors(json.dumps(bom)) == []
    (component,) = bom["components"]
    assert (component["name"], component["version"]) == ("requests", "2.19.1")
    assert bom["vulnerabilities"][0]["affects"][0]["ref"] == component["bom-ref"]


def test_hostile_names_stay_inside_strings_and_the_document_stays_valid():
    name = 'evil"\n\u202e<script>'
    package = Package(name, "1.0\n", f"pkg:pypi/{name}", "req\u0000.txt", "pip", 1)
    model = Model(name, "file", (ModelFile(name, 1, "44" * 32, "pickle"),))
    outcome = ScanOutcome(
        (_model_finding(name, Severity.LOW),),
        Gate(Severity.HIGH),
        inventory=Inventory((package,), (), (model,)),
    )
    text = json.dumps(build_bom(outcome))
    assert bom_errors(text) == []
    assert json.loads(text)["components"][0]["name"] == name


def _manifest() -> Manifest:
    return Manifest("directory", tuple(FileEntry(f.path, f.size, f.sha256) for f in FILES))


def test_the_hash_document_describes_its_manifest_and_a_changed_one_does_not():
    manifest = _manifest()
    model = Model("m", "directory", FILES, manifest.digest())
    text = json.dumps(model_bom(model, "2026-01-01T00:00:00Z"))
    assert bom_errors(text) == []
    assert bom_problem(text, manifest) is None
    other = Manifest("directory", manifest.files[:1])
    assert bom_problem(text, other) == "names another manifest digest"
    forged = json.loads(text)
    forged["metadata"]["component"]["components"][0]["hashes"][0]["content"] = "55" * 32
    assert bom_problem(json.dumps(forged), manifest) == (
        "lists other files or digests than the manifest"
    )
    assert bom_problem("[]", manifest) == "is not the CycloneDX document mlsecops hash writes"
