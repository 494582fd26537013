"""Fingerprints of SARIF results: what was found where, the same from any checkout.

GitHub code scanning follows an alert from run to run by its `partialFingerprints`: a
fingerprint that changes closes the alert and opens a new one, and results that share one
are merged into one alert. So the key holds what makes a finding this finding (its kind,
id and package, and its place: the file relative to the repository root, or to the model
root for a model outside it; the archive member; the package's directory inside an image)
and nothing that changes while the finding stays (the installed version, the line, the
working directory, the checkout path, a temporary directory). A key that still repeats
within one run (one pickle calling the same function twice) gets its occurrence number
after the hash, as GitHub's own line hashes do.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from pathlib import PurePosixPath

from mlsecops.core.findings import Finding, TargetType

FINGERPRINT_NAME = "mlsecopsFinding/v1"
# Directories whose name holds the installed version: the package's place is their parent.
_VERSIONED_DIRS = (".dist-info", ".egg-info")


def fingerprint(finding: Finding, place: str) -> str:
    """The hash of what identifies `finding`; `place` names its target stably (a
    repo-relative path, or the image's stable label)."""
    # The first four parts are those of every earlier release, so a finding outside archives
    # and images keeps the fingerprint (and the alert) it had.
    key = "|".join((str(finding.kind), finding.id, place, finding.package.lower()))
    if finding.member:
        key += "|" + json.dumps(finding.member, ensure_ascii=False)
    directory = image_package_dir(finding)
    if directory:
        key += "|image-path:" + directory
    return hashlib.sha256(key.encode()).hexdigest()


def fingerprints(findings: Sequence[Finding], places: Sequence[str]) -> list[str]:
    """One fingerprint per finding (in report order), unique within the run."""
    seen: Counter[str] = Counter()
    unique = []
    for finding, place in zip(findings, places, strict=True):
        digest = fingerprint(finding, place)
        seen[digest] += 1
        unique.append(digest if seen[digest] == 1 else f"{digest}:{seen[digest]}")
    return unique


def image_package_dir(finding: Finding) -> str:
    """Where in an image the package is installed, without its version: the site-packages
    directory of `.../requests-2.19.1.dist-info/METADATA`; "" outside images, and for OS
    packages (one copy per image)."""
    if finding.target_type is not TargetType.IMAGE or "/" not in finding.location:
        return ""
    parts = PurePosixPath(finding.location).parts
    for index, part in enumerate(parts):
        if part.endswith(_VERSIONED_DIRS):
            return "/".join(parts[:index])
    return finding.location
