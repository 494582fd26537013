"""One container image as a Source: Trivy scans it, findings name the image as target."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.findings import TargetType
from mlsecops.core.source import SourceResult
from mlsecops.images.targets import ImageSource, ImageTarget, extract_oci_tarball
from mlsecops.trivy.results import TrivyRun
from mlsecops.trivy.run import Trivy, trivy_notes


@dataclass(frozen=True)
class ImageScan:
    """The image `image`, scanned by Trivy from `cwd` (where Trivy's ignore files are)."""

    trivy: Trivy
    image: ImageTarget
    cwd: Path

    def scan(self) -> SourceResult:
        """The image's vulnerabilities, with Trivy's warnings as notes."""
        run = self._run()
        findings = run.findings(lambda _target: self.image.name, TargetType.IMAGE)
        return SourceResult(tuple(findings), trivy_notes(run), (self.image.name,))

    def _run(self) -> TrivyRun:
        image = self.image
        if image.source is ImageSource.REFERENCE:
            return self.trivy.image_reference(image.name, self.cwd)
        assert image.path is not None
        if image.source is ImageSource.OCI_TARBALL:
            with tempfile.TemporaryDirectory(prefix="mlsecops-oci-") as tmp:
                layout = extract_oci_tarball(image.path, Path(tmp))
                return self.trivy.image_input(layout, self.cwd)
        return self.trivy.image_input(image.path, self.cwd)
