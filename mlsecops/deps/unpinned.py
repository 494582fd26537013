"""Requirements that no scanner can check because they name no exact version.

Trivy skips them silently, so a file full of `numpy>=1.24` reads as clean. Each one becomes
one informational finding, `MLS-UNPINNED`: severity UNKNOWN, which is visible in every
report but never trips a gate (LOW is the lowest threshold), so pinning stays the user's
choice and `--resolve` the way to check them.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.deps.requirements_txt import RequirementsFile

UNPINNED_ID = "MLS-UNPINNED"


def unpinned_finding(
    *, package: str, spec: str, target: str, line: int | None, ecosystem: str, how_to_pin: str
) -> Finding:
    """The informational finding for one requirement without an exact version."""
    shown = spec or "(any version)"
    return Finding(
        id=UNPINNED_ID,
        kind=Kind.VULNERABILITY,
        severity=Severity.UNKNOWN,
        target=target,
        title=f"not checked: not pinned ({package} {shown})",
        package=package,
        description=(
            f"{package} {shown} names no exact version, so its vulnerabilities cannot be "
            "looked up: whichever version gets installed is unchecked."
        ),
        fix=how_to_pin,
        line=line,
        end_line=line,
        ecosystem=ecosystem,
        properties={"spec": shown},
    )


def requirements_unpinned(requirements: RequirementsFile, target: str) -> list[Finding]:
    """One finding per requirement Trivy will not match (no `==` clause)."""
    return [
        unpinned_finding(
            package=req.name,
            spec=req.spec,
            target=target,
            line=req.line,
            ecosystem="pip",
            how_to_pin=f"pin it ({req.name}==X.Y.Z) or use a lock file, or scan with --resolve "
            "to check the versions pip resolves today",
        )
        for req in requirements.requirements
        if not req.pinned
    ]


def unchecked_notes(target: str, entries: Iterable[tuple[str, int]]) -> list[str]:
    """One note per (text, line) that installs something without naming a package and
    version (`-e git+...`, a URL, a local path): no scanner can look it up."""
    return [
        f"{target}:{line}: pip entry {text!r} names no package and version; it is not checked"
        for text, line in entries
    ]
