"""The severity gate: which open findings fail the check."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from mlsecops.core.findings import BaselineState, Finding, Kind, Severity
from mlsecops.errors import UsageError

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


def _label(threshold: Severity | None) -> str:
    return "NONE" if threshold is None else threshold.name


@dataclass(frozen=True)
class Gate:
    """Fails on open findings at or above `fail_on`; `None` never fails.

    `by_kind` overrides the threshold for some finding kinds (the policy's per-kind
    `fail-on`); `new_only` lets only findings that are not in the baseline fail.
    """

    fail_on: Severity | None = Severity.HIGH
    by_kind: tuple[tuple[Kind, Severity | None], ...] = ()
    new_only: bool = False

    @property
    def label(self) -> str:
        """The default threshold's name (the JSON report's `fail_on`)."""
        return _label(self.fail_on)

    @property
    def off(self) -> bool:
        """True when no finding of any kind can fail the gate."""
        return self.fail_on is None and all(t is None for _, t in self.by_kind)

    def describe(self) -> str:
        """`HIGH`, or `HIGH; model: MEDIUM; new findings only` when there is more to say."""
        parts = [self.label]
        parts += [f"{kind}: {_label(threshold)}" for kind, threshold in self.by_kind]
        if self.new_only:
            parts.append("new findings only")
        return "; ".join(parts)

    def threshold(self, kind: Kind) -> Severity | None:
        """The threshold findings of `kind` are judged by."""
        for name, threshold in self.by_kind:
            if name is kind:
                return threshold
        return self.fail_on

    def fails(self, finding: Finding) -> bool:
        """True when this one finding fails the check."""
        if finding.ignored:
            return False
        if self.new_only and finding.baseline is BaselineState.EXISTING:
            return False
        threshold = self.threshold(finding.kind)
        if threshold is None:
            return False
        # UNKNOWN never reaches a threshold: LOW is the lowest one a user can ask for.
        return finding.severity != Severity.UNKNOWN and finding.severity >= threshold

    def failing(self, findings: Iterable[Finding]) -> list[Finding]:
        """The findings that fail the check, in their order."""
        return [f for f in findings if self.fails(f)]
