"""The one interface of every source of findings: dependency files, images, model files.

A source scans what it was given and returns one SourceResult: its findings, the notes a
reader must see, the targets it scanned, its coverage ledger (what it read and what it
could not check, and why) and its inventory (the packages, images and models it found
there, for the bill of materials). scan.py adds the results up; nothing else needs to know which
source a finding came from. Tests fake a Source to test the pipeline without Trivy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from mlsecops.core.coverage import Coverage
from mlsecops.core.findings import Finding
from mlsecops.core.inventory import Inventory


@dataclass(frozen=True)
class SourceResult:
    """What one source found, said and covered; results add up with `+`."""

    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    targets: tuple[str, ...] = ()  # what was scanned, as reports name it
    coverage: Coverage = field(default_factory=Coverage)
    inventory: Inventory = field(default_factory=Inventory)

    def __add__(self, other: SourceResult) -> SourceResult:
        """Both results in one, in order; a note or target said twice is kept once."""
        return SourceResult(
            self.findings + other.findings,
            tuple(dict.fromkeys(self.notes + other.notes)),
            tuple(dict.fromkeys(self.targets + other.targets)),
            self.coverage + other.coverage,
            self.inventory + other.inventory,
        )


def combined(results: Iterable[SourceResult]) -> SourceResult:
    """All results in one."""
    total = SourceResult()
    for result in results:
        total = total + result
    return total


class Source(Protocol):
    """Anything that scans and reports: see the module docstring."""

    def scan(self) -> SourceResult:
        """Scan, and account for every input met. Raises MlsecopsError on bad input."""
        ...
