"""The severity gate: which open findings fail the check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlsecops.errors import UsageError
from mlsecops.findings import Finding, Severity

FAIL_ON_CHOICES = ("LOW", "MEDIUM", "HIGH", "CRITICAL", "NONE")


def parse_fail_on(text: str) -> Severity | None:
    """`--fail-on` as a threshold; None means NONE (never fail)."""
    name = text.strip().upper()
    if name == "NONE":
        return None
    if name not in FAIL_ON_CHOICES:
        raise UsageError(
            f"--fail-on {text!r} is not a severity",
            "use one of " + ", ".join(FAIL_ON_CHOICES),
        )
    return Severity[name]


@dataclass(frozen=True)
class Gate:
    """Fails on open findings at or above `fail_on`; `None` never fails."""

    fail_on: Severity | None = Severity.HIGH

    @property
    def label(self) -> str:
        return "NONE" if self.fail_on is None else self.fail_on.name

    def fails(self, finding: Finding) -> bool:
        if finding.ignored or self.fail_on is None:
            return False
        # UNKNOWN never reaches a threshold: LOW is the lowest one a user can ask for.
        return finding.severity != Severity.UNKNOWN and finding.severity >= self.fail_on

    def failing(self, findings: Iterable[Finding]) -> list[Finding]:
        return [f for f in findings if self.fails(f)]
