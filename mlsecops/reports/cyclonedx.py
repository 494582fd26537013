"""The ML-BOM (`--sbom`): one CycloneDX 1.6 JSON document for what a scan found.

What the project and its images are built from (every package the sources listed, with its
package URL and where it is listed: reports/bom_packages), what the models are
(reports/bom_models: SHA-256 as `mlsecops hash` records it, formats, the model scan's
verdict), and what is wrong with them (reports/bom_vulns). The project is the document's
subject; it depends on its packages, images and models, and each image on its packages.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from mlsecops.core.findings import Finding, Kind
from mlsecops.core.outcome import ScanOutcome
from mlsecops.paths import write_text_atomic
from mlsecops.reports.bom_models import (
    SCHEMA_URL,
    SPEC_VERSION,
    findings_of,
    model_component,
    model_ref,
    now,
    tool_component,
)
from mlsecops.reports.bom_packages import (
    PackageComponents,
    add_orphans,
    image_components,
    image_ref,
    package_components,
    prop,
    unpinned_findings,
)
from mlsecops.reports.bom_vulns import vulnerabilities

PROJECT_REF = "project"


def build_bom(outcome: ScanOutcome, timestamp: str = "", serial: str = "") -> dict[str, Any]:
    """The document as plain data (`timestamp` and `serial` default to now and a new UUID)."""
    failing = {id(f) for f in outcome.failing}
    inventory = outcome.inventory
    packages = package_components(
        inventory.packages, unpinned_findings(outcome.findings), outcome.coverage
    )
    add_orphans(packages, outcome.findings)
    images, image_dependencies = image_components(inventory.images, packages)
    model_findings = [f for f in outcome.findings if f.kind is Kind.MODEL]
    models = list({m.target: m for m in inventory.models}.values())
    model_components = [model_component(m, findings_of(m, model_findings), failing) for m in models]
    project_depends = _project_packages(packages, {i.name for i in inventory.images})
    project_depends += [image_ref(i) for i in {i.name: i for i in inventory.images}.values()]
    project_depends += [model_ref(m) for m in models]
    document: dict[str, Any] = {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial or uuid.uuid4()}",
        "version": 1,
        "metadata": _metadata(outcome, timestamp or now()),
        "components": packages.components + images + model_components,
        "dependencies": [{"ref": PROJECT_REF, "dependsOn": project_depends}, *image_dependencies],
    }

    def ref_for(finding: Finding) -> str:
        return packages.ref_for(finding) or ""

    found = vulnerabilities(outcome.findings, ref_for, failing)
    if found:
        document["vulnerabilities"] = found
    return document


def _project_packages(packages: PackageComponents, image_names: set[str]) -> list[str]:
    """The packages the project's own files list (not those only inside an image)."""
    refs = [
        ref
        for target, listed in packages.by_target.items()
        if target not in image_names
        for ref in listed
    ]
    return list(dict.fromkeys(refs))


def _metadata(outcome: ScanOutcome, timestamp: str) -> dict[str, Any]:
    name = Path(outcome.project or ".").resolve().name or "project"
    subject = {"type": "application", "bom-ref": PROJECT_REF, "name": name}
    return {
        "timestamp": timestamp,
        "tools": {"components": [tool_component()]},
        "component": subject,
        "properties": [
            prop("passed", outcome.passed),
            prop("fail-on", outcome.gate.label),
            prop("project", outcome.project or "."),
        ],
    }


def write_sbom(outcome: ScanOutcome, path: Path) -> None:
    """Write the document atomically, indented for people who open it."""
    text = json.dumps(build_bom(outcome), indent=2, ensure_ascii=False)
    write_text_atomic(path, text + "\n")
