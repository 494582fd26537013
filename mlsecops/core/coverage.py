"""The coverage ledger: what a scan read, what it checked, and what it could not check, and why.

A security gate that passes because it never looked is worse than none. Every source (the
dependency files, each image, the model files) accounts for every input it meets: a file
read, a package checked, or an item NOT checked with a reason from the closed set below.
Reports show the ledger (the JSON report's `coverage` block, a line per reason in the
summary), and the sums must add up: for every file, the packages it lists are the packages
checked plus those not checked.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass


class Unchecked(enum.StrEnum):
    """Why an item was not checked: the JSON report's key; `words` is what people read."""

    UNPINNED = "unpinned"
    NOT_A_PACKAGE = "not-a-package"
    NO_PYPI_TWIN = "no-pypi-twin"
    SKIPPED_BY_TRIVY = "skipped-by-trivy"
    UNPARSEABLE_VERSION = "unparseable-version"
    UNRESOLVED = "unresolved"
    EXCLUDED = "excluded"
    FORMAT_UNKNOWN = "format-unknown"
    UNREADABLE = "unreadable"
    TOO_DEEP = "too-deep"
    TOO_LARGE = "too-large"
    LINK_OUTSIDE = "link-outside"
    NEEDS_EXTRA = "needs-extra"

    @property
    def words(self) -> str:
        """The reason in plain words, for the summary and the table."""
        return _WORDS[self]


_WORDS = {
    Unchecked.UNPINNED: "not pinned to one version",
    Unchecked.NOT_A_PACKAGE: "local path, VCS or URL requirement",
    Unchecked.NO_PYPI_TWIN: "conda package with no PyPI project",
    Unchecked.SKIPPED_BY_TRIVY: "listed in the file but skipped by Trivy",
    Unchecked.UNPARSEABLE_VERSION: "version the vulnerability DB cannot compare",
    Unchecked.UNRESOLVED: "pip could not resolve it",
    Unchecked.EXCLUDED: "excluded by the policy or a flag",
    Unchecked.FORMAT_UNKNOWN: "file of an unknown format",
    Unchecked.UNREADABLE: "could not be read",
    Unchecked.TOO_DEEP: "nested deeper than the scanner follows",
    Unchecked.TOO_LARGE: "larger than the scanner's limit",
    Unchecked.LINK_OUTSIDE: "symlink out of the scanned directory, not followed",
    Unchecked.NEEDS_EXTRA: "needs an optional extra (or a newer Python) that is not installed",
}


@dataclass(frozen=True)
class FileRead:
    """One input file (or image, or model file) the scan met, and what it held.

    `packages` counts the items the file lists (packages; for a model file, the file itself:
    1); `checked` those that were checked (looked up in the vulnerability DB; for a model
    file, scanned). Each of the others is one NotChecked entry naming this file as target.
    """

    path: str  # the target, as findings name it
    kind: str  # "requirements", "poetry.lock", "conda", "image", "model", ...
    packages: int = 0
    checked: int = 0


@dataclass(frozen=True)
class NotChecked:
    """One item the scan met but could not check, with the reason and where it stands."""

    reason: Unchecked
    target: str  # the file (or image, or model) it is in
    name: str  # the package, requirement text or archive member
    line: int | None = None
    detail: str = ""  # more words on the reason, e.g. pip's error


@dataclass(frozen=True)
class Coverage:
    """The ledger of one source, or of a whole scan (ledgers add up with `+`)."""

    files: tuple[FileRead, ...] = ()
    not_checked: tuple[NotChecked, ...] = ()

    def __add__(self, other: Coverage) -> Coverage:
        """Both ledgers in one, files and items in order."""
        return Coverage(self.files + other.files, self.not_checked + other.not_checked)

    @property
    def packages_listed(self) -> int:
        """Packages the files list, checked or not."""
        return sum(f.packages for f in self.files)

    @property
    def packages_checked(self) -> int:
        """Packages looked up in the vulnerability DB."""
        return sum(f.checked for f in self.files)

    def by_reason(self) -> dict[Unchecked, int]:
        """How many items were not checked, per reason, in the enum's order (zeros left out)."""
        counts = Counter(item.reason for item in self.not_checked)
        return {reason: counts[reason] for reason in Unchecked if counts[reason]}

    def discrepancies(self) -> list[str]:
        """Why the ledger does not add up; [] when it does.

        For every file, the items it lists are those checked plus those not checked, and
        every item not checked belongs to a file the ledger lists.
        """
        listed: Counter[str] = Counter()
        checked: Counter[str] = Counter()
        for file in self.files:
            listed[file.path] += file.packages
            checked[file.path] += file.checked
        unchecked = Counter(item.target for item in self.not_checked)
        problems = [
            f"{path}: {listed[path]} listed, {checked[path]} checked, {unchecked[path]} not checked"
            for path in listed
            if listed[path] != checked[path] + unchecked[path]
        ]
        problems += [
            f"{path}: not checked, but not among the files read"
            for path in unchecked
            if path not in listed
        ]
        return problems
