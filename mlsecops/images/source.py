"""One container image as a Source: Trivy scans it, findings name the image as target.

Trivy looks at the image's packages (vulnerabilities) and at every layer and the image
config (secrets: a token in a file, in an ENV value, in the build history). The coverage
ledger holds the image as one entry: the packages Trivy listed in it, those it checked
against the DB, and why each other one was not checked.
"""

from __future__ import annotations

import contextlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.findings import TargetType
from mlsecops.core.inventory import Inventory
from mlsecops.core.scanners import ALL_SCANNERS, Scanner
from mlsecops.core.source import SourceResult
from mlsecops.errors import ToolError
from mlsecops.images.layers import Spot, read_prefixes
from mlsecops.images.targets import (
    ImageSource,
    ImageTarget,
    check_tarball,
    extract_oci_tarball,
)
from mlsecops.secretscan.trivy_secrets import secret_findings
from mlsecops.trivy.packages import image_inventory, inventory_packages
from mlsecops.trivy.results import SecretHit, TrivyRun
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
        with self._local_input() as local:
            run = self._run(local)
            prefixes = _layer_prefixes(run, local) if local is not None else {}
        name = self.image.name
        artifact = str(local) if local is not None else name
        findings = run.findings(lambda _target: name, TargetType.IMAGE)

        def prefix(target: str, hit: SecretHit) -> str:
            return prefixes.get((hit.layer, target.lstrip("/"), hit.offset or 0), "")

        # Trivy names a secret by the file it is in, or by the image itself for its config.
        findings += secret_findings(
            run,
            lambda _target: name,
            target_type=TargetType.IMAGE,
            location_of=lambda target: IMAGE_CONFIG if target == artifact else target,
            prefix=prefix,
        )
        ledger = image_ledger(name, run, self.scanners)
        inventory = Inventory(
            inventory_packages(run, lambda _target: name), (image_inventory(run, name),)
        )
        return SourceResult(tuple(findings), trivy_notes(run), (name,), ledger, inventory)

    @contextlib.contextmanager
    def _local_input(self) -> Iterator[Path | None]:
        """The docker-archive or OCI layout Trivy reads (an OCI tarball extracted for the
        scan's duration); None for a registry reference."""
        image = self.image
        if image.source is ImageSource.REFERENCE:
            yield None
            return
        assert image.path is not None
        if image.source is not ImageSource.OCI_TARBALL:
            yield image.path
            return
        with tempfile.TemporaryDirectory(prefix="mlsecops-oci-") as tmp:
            yield extract_oci_tarball(image.path, Path(tmp))

    def _run(self, local: Path | None) -> TrivyRun:
        """Trivy's run on the image; a refused archive we had not read in full is read now,
        so that a corrupt one is a usage error with our reason, not Trivy's failure."""
        if local is None:
            return self.trivy.image_reference(self.image.name, self.cwd, self.scanners)
        try:
            return self.trivy.image_input(local, self.cwd, self.scanners)
        except ToolError:
            if not self.image.checked_in_full:
                check_tarball(local)
            raise


def _layer_prefixes(run: TrivyRun, image: Path) -> dict[Spot, str]:
    """The first characters of every secret Trivy found in a layer of the local image."""
    spots = [
        (hit.layer, result.target.lstrip("/"), hit.offset or 0)
        for result in run.results
        for hit in result.secrets
        if hit.layer
    ]
    return read_prefixes(image, spots)


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
