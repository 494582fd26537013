"""Requirements that no scanner can check because they name no exact version.

Trivy skips them silently, so a file full of `numpy>=1.24` reads as clean. Each one becomes
one informational finding, `MLS-UNPINNED`: severity UNKNOWN, which is visible in every
report but never trips a gate (LOW is the lowest threshold), so pinning stays the user's
choice and `--resolve` the way to check them.
"""

from __future__ import annotations

from mlsecops.core.findings import Finding, Kind, Severity

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
