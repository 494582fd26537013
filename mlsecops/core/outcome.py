"""The result of one scan: every finding, the gate that judged them, and what to tell people."""

from __future__ import annotations

from dataclasses import dataclass, field

from mlsecops.core.coverage import Coverage
from mlsecops.core.db_status import DbStatus
from mlsecops.core.findings import SEVERITIES_DESC, BaselineState, Finding
from mlsecops.core.gate import Gate
from mlsecops.core.inventory import Inventory
from mlsecops.paths import SourceRoots
from mlsecops.triage.baseline import BaselineEntry
from mlsecops.triage.policy import IgnoreEntry


@dataclass(frozen=True)
class ScanOutcome:
    """Everything a scan found and decided; every report is rendered from this alone."""

    findings: tuple[Finding, ...]  # sorted, most severe first; ignored ones included
    gate: Gate
    targets: tuple[str, ...] = ()
    project: str = ""  # the scanned project directory, as reports show paths
    notes: tuple[str, ...] = ()  # warnings a reader must see (skips, degraded modes)
    policy_source: str = ""
    expired_ignores: tuple[IgnoreEntry, ...] = ()
    stale_ignores: tuple[IgnoreEntry, ...] = ()
    sarif_severity: str | None = None  # the policy file's SARIF floor; the flag overrides it
    baseline_source: str = ""  # the --baseline report; "" when none was asked for
    fixed_since_baseline: tuple[BaselineEntry, ...] = ()
    coverage: Coverage = field(default_factory=Coverage)  # what was read and not checked
    inventory: Inventory = field(default_factory=Inventory)  # packages, images, models found
    # The repository root (and model roots) report locations are relative to; None: the
    # working directory (outcomes built by hand, in tests).
    roots: SourceRoots | None = None
    # The vulnerability DB the scan used (date, age, how got); None when Trivy did not run.
    db: DbStatus | None = None
    _failing: tuple[Finding, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_failing", tuple(self.gate.failing(self.findings)))

    @property
    def failing(self) -> tuple[Finding, ...]:
        """Open findings at or above the gate: the reason the check fails."""
        return self._failing

    @property
    def passed(self) -> bool:
        """True when nothing fails the gate: the exit code is 0."""
        return not self._failing

    @property
    def open_findings(self) -> tuple[Finding, ...]:
        """The findings no policy entry ignores: those counted and gated."""
        return tuple(f for f in self.findings if not f.ignored)

    @property
    def ignored_findings(self) -> tuple[Finding, ...]:
        """The findings a policy entry ignores, shown with its reason but never failing."""
        return tuple(f for f in self.findings if f.ignored)

    @property
    def has_baseline(self) -> bool:
        """True when the scan was compared with an earlier report."""
        return bool(self.baseline_source)

    @property
    def new_findings(self) -> tuple[Finding, ...]:
        """Open findings the baseline does not have (all open ones without a baseline)."""
        return tuple(f for f in self.open_findings if f.baseline is not BaselineState.EXISTING)

    def counts(self) -> dict[str, int]:
        """Open findings per severity, highest first."""
        counts = {severity.name: 0 for severity in SEVERITIES_DESC}
        for finding in self.open_findings:
            counts[finding.severity.name] += 1
        return counts
