"""Which scanners a scan runs: `--scanners vuln,secret,misconfig` (all three by default)."""

from __future__ import annotations

import enum

from mlsecops.errors import UsageError


class Scanner(enum.StrEnum):
    """One kind of check Trivy runs; the names are Trivy's own (`--scanners`)."""

    VULN = "vuln"  # vulnerable packages: dependency files, image packages
    SECRET = "secret"  # noqa: S105 (a scanner name) credentials: files, image layers, models
    MISCONFIG = "misconfig"  # Dockerfiles, Kubernetes / KServe / Helm manifests


ALL_SCANNERS: frozenset[Scanner] = frozenset(Scanner)


def parse_scanners(text: str) -> frozenset[Scanner]:
    """`vuln,secret` (commas or spaces) as a set; empty text means all three."""
    names = [name for name in text.replace(",", " ").split() if name]
    if not names:
        return ALL_SCANNERS
    chosen = set()
    for name in names:
        try:
            chosen.add(Scanner(name.strip().lower()))
        except ValueError:
            raise UsageError(
                f"--scanners: {name!r} is not a scanner",
                "use a comma-separated list of " + ", ".join(s.value for s in Scanner),
            ) from None
    return frozenset(chosen)


def scanner_list(scanners: frozenset[Scanner]) -> str:
    """The set as Trivy's `--scanners` value, in a stable order."""
    return ",".join(s.value for s in Scanner if s in scanners)
