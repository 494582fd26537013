"""One container image as a Source: Trivy scans it, findings name the image as target.

Trivy looks at the image's packages (vulnerabilities) and at every layer and the image
config (secrets: a token in a file, in an ENV value, in the build history). The coverage
ledger holds the image as one entry: the packages Trivy listed in it, those it checked
against the DB, and why each other one was not checked.
"""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.findings import TargetType
from mlsecops.core.inventory import Inventory
from mlsecops.core.scanners import ALL_SCANNERS, Scanner
from mlsecops.core.source import SourceResult
from mlsecops.images.targets import ImageSource, ImageTarget, extract_oci_tarball
from mlsecops.secretscan.trivy_secrets import secret_findings
from mlsecops.trivy.packages import image_inventory, inventory_packages
from mlsecops.trivy.results import TrivyRun
from mlsecops.trivy.run import Trivy, trivy_notes

IMAGE_CONFIG = "image config (ENV, build history)"
# Package types Trivy lists in an image but never looks up in its DB (it says "supported
# for SBOM, not for vulnerability scanning"), and the warning naming any other such type.
_UNSCANNED_TYPES = frozenset({"conda-pkg", "conda-environment"})
_UNSUPPORTED = re.compile(r"not supported for vulnerability scanning.*?type=\"?([\w.-]+)")


@dataclass(frozen=True)
class ImageScan:
    """The image `image`, scanned by Trivy from `cwd` (where Trivy's ignore files are)."""

    trivy: Trivy
    image: ImageTarget
    cwd: Path
    scanners: frozenset[Scanner] = ALL_SCANNERS

    def scan(self) -> SourceResult:
        """The image's vulnerabilities and secrets, Trivy's warnings, its ledger, and its
        packages and digests as its inventory."""
        run, artifact = self._run()
        name = self.image.name
        findings = run.findings(lambda _target: name, TargetType.IMAGE)
        # Trivy names a secret by the file it is in, or by the image itself for its config.
        findings += secret_findings(
            run,
            lambda _target: name,
            target_type=TargetType.IMAGE,
            location_of=lambda target: IMAGE_CONFIG if target == artifact else target,
        )
        ledger = image_ledger(name, run, self.scanners)
        inventory = Inventory(
            inventory_packages(run, lambda _target: name), (image_inventory(run, name),)
        )
        return SourceResult(tuple(findings), trivy_notes(run), (name,), ledger, inventory)

    def _run(self) -> tuple[TrivyRun, str]:
        """Trivy's run, and the name Trivy gives the image itself (its config's target)."""
        image = self.image
        if image.source is ImageSource.REFERENCE:
            return self.trivy.image_reference(image.name, self.cwd, self.scanners), image.name
        assert image.path is not None
        if image.source is ImageSource.OCI_TARBALL:
            with tempfile.TemporaryDirectory(prefix="mlsecops-oci-") as tmp:
                layout = extract_oci_tarball(image.path, Path(tmp))
                return self.trivy.image_input(layout, self.cwd, self.scanners), str(layout)
        return self.trivy.image_input(image.path, self.cwd, self.scanners), str(image.path)


def image_ledger(name: str, run: TrivyRun, scanners: frozenset[Scanner]) -> Coverage:
    """The image as one ledger entry: every package Trivy listed in it, checked against the
    DB, or not checked and why (the vuln scanner was not asked for; Trivy has no data for
    that kind of package)."""
    unsupported = _UNSCANNED_TYPES | {
        match[1] for warning in run.warnings for match in _UNSUPPORTED.finditer(warning)
    }
    listed = 0
    unchecked: list[NotChecked] = []
    for result, package in run.packages():
        listed += 1
        item = f"{package.name} {package.version}".strip()
        if Scanner.VULN not in scanners:
            why = "the vuln scanner was not asked for (--scanners)"
            unchecked.append(NotChecked(Unchecked.EXCLUDED, name, item, detail=why))
        elif result.type in unsupported:
            why = f"Trivy has no vulnerability data for {result.type} packages"
            unchecked.append(NotChecked(Unchecked.SKIPPED_BY_TRIVY, name, item, detail=why))
    image = FileRead(name, "image", packages=listed, checked=listed - len(unchecked))
    return Coverage((image,), tuple(unchecked))
