"""What one Trivy run found, typed: the only shape of Trivy's output the rest of the code sees.

A run holds one Result per target Trivy reported (a dependency file, an image's OS or
language packages, an SBOM); each lists the packages Trivy saw there and the findings it
made about them. Findings come out of trivy/parse.py named by Trivy's own target; `findings`
renames them for the report (a repo-relative file, the image name) and drops duplicates.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from mlsecops.core.findings import Finding, Severity, TargetType

# Turns Trivy's per-result `Target` into the finding's target (a repo-relative file for a
# project scan, the image name for an image scan).
TargetNamer = Callable[[str], str]


class ResultClass(enum.StrEnum):
    """Trivy's `Class` of a result: what kind of thing the target is."""

    OS_PACKAGES = "os-pkgs"
    LANGUAGE_PACKAGES = "lang-pkgs"
    SECRET = "secret"  # noqa: S105 (Trivy's class name, not a password)
    CONFIG = "config"
    LICENSE = "license"
    UNKNOWN = ""

    @classmethod
    def parse(cls, text: str) -> ResultClass:
        """Trivy's class name; anything new reads as UNKNOWN rather than failing."""
        try:
            return cls(text)
        except ValueError:
            return cls.UNKNOWN


@dataclass(frozen=True)
class Package:
    """One package Trivy listed in a target (--list-all-pkgs lists every one it read)."""

    name: str  # as spelled in the target (`PyYAML`)
    version: str
    uid: str = ""  # Trivy's Identifier.UID: what a vulnerability cites
    purl: str = ""  # Trivy's Identifier.PURL
    pkg_id: str = ""  # Trivy's ID (`name@version`), when it gives one
    lines: tuple[int, int] | None = None  # first location's start and end line in the file
    dev: bool = False  # a development dependency (needs --include-dev-deps to be listed)
    path: str = ""  # inside an image: where the package lives
    # `version` with an OS package's epoch and release (`1:1.2.13.dfsg-1`), as findings
    # give the installed version; the same as `version` for language packages.
    full_version: str = ""
    # An OS package's source package (advisories are filed under it: glibc for libc6), as
    # (name, version, release, epoch); empty for language packages.
    source: tuple[str, str, str, int] | None = None


@dataclass(frozen=True)
class SecretHit:
    """One secret Trivy found in a target: the rule and the place, never the secret.

    Trivy's JSON holds the line around the secret (masked, but not reliably: a multi-line
    secret stays visible in its code lines), so nothing of that line is kept; the secret's
    length is read off Trivy's mask (one `*` per character) and its redacted form is made by
    the source that can read the file (secretscan/trivy_secrets).
    """

    rule_id: str
    category: str
    title: str
    severity: Severity
    start_line: int | None
    end_line: int | None
    offset: int | None  # bytes from the start of the file to the secret
    length: int  # characters; 0 when Trivy's mask does not tell (two secrets on one line)
    layer: str = ""  # in an image: the DiffID of the layer holding the file
    suppressed: str = ""  # why Trivy's ignore file hid it ("" when it did not)


@dataclass(frozen=True)
class Result:
    """One target of a Trivy run: the packages it holds and the findings made about them.

    `findings` are named by `target` (Trivy's name); `Package` lists every package read,
    vulnerable or not. Misconfiguration results have findings and no packages; secret
    results have `secrets` only (made into findings by secretscan/trivy_secrets).
    """

    target: str
    result_class: ResultClass
    type: str  # pip, poetry, uv, pipenv, debian, python-pkg, cyclonedx, dockerfile, ...
    packages: tuple[Package, ...] = ()
    findings: tuple[Finding, ...] = ()
    secrets: tuple[SecretHit, ...] = ()


@dataclass(frozen=True)
class ArtifactMetadata:
    """What Trivy says about the scanned artifact itself: an image's digests and OS."""

    image_id: str = ""  # sha256:<hex> of the image config
    repo_digests: tuple[str, ...] = ()  # NAME@sha256:<hex> of the manifest
    repo_tags: tuple[str, ...] = ()
    diff_ids: tuple[str, ...] = ()
    os: str = ""  # "debian 12"


@dataclass(frozen=True)
class TrivyRun:
    """Trivy's results and the warnings it logged while producing them."""

    results: tuple[Result, ...]
    warnings: tuple[str, ...] = ()
    metadata: ArtifactMetadata = ArtifactMetadata()

    def findings(
        self, name_target: TargetNamer, target_type: TargetType = TargetType.FILE
    ) -> list[Finding]:
        """Every finding of the run named for the report, each (id, place, package) once."""
        seen: set[tuple[str, ...]] = set()
        found: list[Finding] = []
        for result in self.results:
            target = name_target(result.target)
            for finding in _renamed(result, target, target_type):
                key = (
                    finding.id,
                    finding.target,
                    finding.location,
                    finding.package,
                    finding.installed_version,
                    # One misconfiguration check fails once per resource: same file, two lines.
                    str(finding.line),
                )
                if key not in seen:
                    seen.add(key)
                    found.append(finding)
        return found

    def packages(self) -> Iterator[tuple[Result, Package]]:
        """Every package of every result, with the result it is in."""
        for result in self.results:
            for package in result.packages:
                yield result, package


def _inner(result: Result) -> str:
    """Trivy's target as a place inside the image: for OS packages, just the OS.

    Trivy names an OS result `<what it read> (debian 12.7)`, and what it read may be a
    temporary directory (an OCI tarball is unpacked for it) or the tarball's path: neither
    belongs in a report that must read the same from run to run.
    """
    if result.result_class is ResultClass.OS_PACKAGES:
        _, paren, os_name = result.target.rpartition(" (")
        if paren and os_name.endswith(")"):
            return os_name[:-1]
    return result.target


def _renamed(result: Result, target: str, target_type: TargetType) -> Iterator[Finding]:
    # Where the finding sits inside the report's target: the package's path in an image,
    # else Trivy's own target when the report names it differently (`Python` in an image).
    # A file's Trivy target is the same file, named relative to what Trivy scanned: adding it
    # would only make the location depend on the working directory the scan ran from.
    renamed = result.target != target and target_type is TargetType.IMAGE
    inner = _inner(result) if renamed else ""
    for finding in result.findings:
        yield replace(
            finding, target=target, target_type=target_type, location=finding.location or inner
        )
