"""PyPI packages Trivy cannot find on its own, scanned through a CycloneDX SBOM.

Trivy matches `pkg:pypi` components of a CycloneDX SBOM against its DB (`trivy sbom`), so
anything we can name as "this PyPI project at this exact version" (a conda package with a
PyPI twin, a version pip resolved) gets the same advisories as a requirements.txt pin.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from mlsecops import __version__
from mlsecops.findings import Finding
from mlsecops.requirements_txt import normalise
from mlsecops.trivy.parse import findings_from_report
from mlsecops.trivy.run import Trivy, TrivyRun


@dataclass(frozen=True)
class Component:
    """One PyPI project at one exact version."""

    name: str
    version: str

    @property
    def key(self) -> tuple[str, str]:
        return normalise(self.name), self.version

    @property
    def purl(self) -> str:
        # purl spec: pypi names are lower-case with `-`; `+` in a local version is encoded.
        return f"pkg:pypi/{normalise(self.name)}@{quote(self.version, safe='.-_~!')}"


@dataclass(frozen=True)
class SbomScan:
    """Findings per component key, and the Trivy run (for its warnings)."""

    findings: tuple[tuple[tuple[str, str], Finding], ...]
    run: TrivyRun


def cyclonedx(components: Sequence[Component], subject: str) -> dict[str, Any]:
    """A minimal CycloneDX 1.5 JSON document: one library component per package."""
    unique = list({c.key: c for c in components}.values())
    body = [
        {
            "type": "library",
            "bom-ref": c.purl,
            "name": c.name,
            "version": c.version,
            "purl": c.purl,
        }
        for c in sorted(unique, key=lambda c: c.key)
    ]
    serial = uuid.uuid5(uuid.NAMESPACE_URL, subject + json.dumps(body, sort_keys=True))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "tools": {
                "components": [{"type": "application", "name": "mlsecops", "version": __version__}]
            },
            "component": {"type": "application", "bom-ref": "subject", "name": subject},
        },
        "components": body,
        "dependencies": [{"ref": "subject", "dependsOn": [c["bom-ref"] for c in body]}],
    }


def scan_components(
    trivy: Trivy, components: Sequence[Component], subject: str, cwd: Path
) -> SbomScan:
    """Run `trivy sbom` on the components; each finding keyed by (normalised name, version).

    `cwd` is the project, so Trivy reads the project's .trivyignore as for its own scans.
    """
    with tempfile.TemporaryDirectory(prefix="mlsecops-sbom-") as tmp:
        path = Path(tmp) / "sbom.cdx.json"
        path.write_text(json.dumps(cyclonedx(components, subject)), encoding="utf-8")
        run = trivy.sbom(path, cwd)
    findings = findings_from_report(run.report, lambda _target: subject)
    keyed = tuple(((normalise(f.package), f.installed_version), f) for f in findings)
    return SbomScan(keyed, run)
