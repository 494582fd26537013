"""PyPI packages Trivy cannot find on its own, checked through one CycloneDX SBOM.

Trivy matches `pkg:pypi` components of a CycloneDX SBOM against its DB (`trivy sbom`), so
anything we can name as "this PyPI project at this exact version" (a conda package with a
PyPI twin, a version pip resolved, a package Trivy skipped in a lock file, a wheel URL) gets
the same advisories as a requirements.txt pin. deps/project.py gathers every such package
of a scan into one SBOM, so Trivy runs once for all of them. `Checker` is the seam: tests of
the readers fake it; the tests of this module use the real Trivy.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

from mlsecops import __version__
from mlsecops.core.findings import Finding
from mlsecops.deps.listing import normalise
from mlsecops.errors import ToolError
from mlsecops.trivy.results import TrivyRun


@dataclass(frozen=True)
class Component:
    """One PyPI project at one exact version."""

    name: str
    version: str

    @property
    def key(self) -> tuple[str, str]:
        """(normalised name, version)."""
        return normalise(self.name), self.version

    @property
    def purl(self) -> str:
        """The component's package URL."""
        # purl spec: pypi names are lower-case with `-`; `+` in a local version is encoded.
        return f"pkg:pypi/{normalise(self.name)}@{quote(self.version, safe='.-_~!')}"


@dataclass(frozen=True)
class Checked:
    """What the vulnerability DB holds for each component (every one checked has an entry,
    maybe empty), and what Trivy said about the run."""

    by_component: Mapping[tuple[str, str], tuple[Finding, ...]]
    notes: tuple[str, ...] = ()

    def findings(self, key: tuple[str, str]) -> tuple[Finding, ...]:
        """The findings for one (normalised name, version)."""
        return self.by_component.get(key, ())


class Checker(Protocol):
    """Looks packages up in the vulnerability DB (one `trivy sbom` run, or a test's fake)."""

    def check(self, components: Sequence[Component], subject: str) -> Checked:
        """Findings for every component; raises ToolError when one went unchecked."""
        ...


class SbomRunner(Protocol):
    """What the SBOM route needs from Trivy."""

    def sbom(self, sbom: Path, cwd: Path) -> TrivyRun:
        """`trivy sbom` on one CycloneDX file, run from `cwd`."""
        ...


@dataclass(frozen=True)
class SbomChecker:
    """The real Checker: `trivy sbom` run from the project (so its ignore files apply)."""

    trivy: SbomRunner
    cwd: Path

    def check(self, components: Sequence[Component], subject: str) -> Checked:
        """See scan_components."""
        if not components:
            return Checked({})
        return scan_components(self.trivy, components, subject, self.cwd)


# What Trivy says about every SBOM it did not write itself: not news about this scan.
_NOISE = (
    "third-party sbom may lead to inaccurate vulnerability detection",
    "recommend using trivy to generate sboms",
)


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
    trivy: SbomRunner, components: Sequence[Component], subject: str, cwd: Path
) -> Checked:
    """Run `trivy sbom` on the components; findings keyed by (normalised name, version).

    `cwd` is the project, so Trivy reads the project's .trivyignore as for its own scans.
    Trivy skips a component it cannot read with no more than a warning, and no findings
    would then read as "not vulnerable": a component missing from the report's package list
    (--list-all-pkgs lists every one) is a ToolError.
    """
    with tempfile.TemporaryDirectory(prefix="mlsecops-sbom-") as tmp:
        path = Path(tmp) / "sbom.cdx.json"
        path.write_text(json.dumps(cyclonedx(components, subject)), encoding="utf-8")
        run = trivy.sbom(path, cwd)
    warnings = [
        warning
        for warning in dict.fromkeys(run.warnings)
        if not any(noise in warning.lower() for noise in _NOISE)
    ]
    listed = _listed(run)
    missing = sorted(
        {c.key: c for c in components if c.key not in listed}.values(), key=lambda c: c.key
    )
    if missing:
        shown = ", ".join(f"{c.name} {c.version}" for c in missing[:10])
        if len(missing) > 10:
            shown += f" and {len(missing) - 10} more"
        said = f" (trivy: {'; '.join(warnings)})" if warnings else ""
        raise ToolError(
            f"trivy sbom did not check {len(missing)} package(s) of {subject}: {shown}{said}",
            "use the Trivy version mlsecops pins, and report the package names to mlsecops",
        )
    by_component: dict[tuple[str, str], list[Finding]] = {key: [] for key in listed}
    for finding in run.findings(lambda _target: subject):
        key = (normalise(finding.package), finding.installed_version)
        by_component.setdefault(key, []).append(finding)
    notes = tuple(f"{subject}: trivy: {warning}" for warning in warnings)
    return Checked({key: tuple(found) for key, found in by_component.items()}, notes)


def _listed(run: TrivyRun) -> set[tuple[str, str]]:
    """(normalised name, version) of every package Trivy listed."""
    return {(normalise(package.name), package.version) for _result, package in run.packages()}
