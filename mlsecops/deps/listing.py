"""What one dependency file lists: the one result type every reader in deps/ returns.

A reader (requirements_txt, locks, conda, resolve) turns a file into a Listing: the
packages it names at one exact version (so they can be looked up), the items it names but
that cannot be looked up (each with its reason, for the coverage ledger) and what it has to
say about them (MLS-UNPINNED findings, notes). Readers never run Trivy: deps/project.py
hands every listing's packages to Trivy and fills the ledger, so each reader is tested on
its own with real files and no binary.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from mlsecops.core.coverage import NotChecked
from mlsecops.core.findings import Finding


@functools.lru_cache(maxsize=65536)
def normalise(name: str) -> str:
    """PEP 503 project-name normalisation: `PyYAML`, `pyyaml` and `py_yaml` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


class FileKind(enum.StrEnum):
    """The kinds of dependency file; the coverage ledger's `kind`."""

    REQUIREMENTS = "requirements"
    POETRY_LOCK = "poetry.lock"
    UV_LOCK = "uv.lock"
    PIPFILE_LOCK = "Pipfile.lock"
    CONDA = "conda"

    @property
    def is_lock(self) -> bool:
        """A lock file: Trivy reads it, and its syntax is checked where Trivy is silent."""
        return self in (FileKind.POETRY_LOCK, FileKind.UV_LOCK, FileKind.PIPFILE_LOCK)


@dataclass(frozen=True)
class Declared:
    """One package a file names at one exact version: something that can be looked up."""

    name: str  # the PyPI name (after conda -> PyPI mapping)
    version: str
    line: int | None = None
    dev: bool = False  # a development dependency (lock files' dev groups, Pipfile `develop`)
    ecosystem: str = "pip"  # as findings name it: pip, poetry, uv, pipenv, conda
    properties: tuple[tuple[str, str], ...] = ()  # copied onto its findings (conda_package, via)

    @property
    def key(self) -> tuple[str, str]:
        """(normalised name, version): how packages are matched across Trivy and readers."""
        return normalise(self.name), self.version


@dataclass(frozen=True)
class Listing:
    """One dependency file as a reader saw it (see the module docstring)."""

    path: Path
    target: str  # as findings name it
    kind: FileKind
    packages: tuple[Declared, ...] = ()
    not_checked: tuple[NotChecked, ...] = ()
    findings: tuple[Finding, ...] = ()  # the reader's own (MLS-UNPINNED)
    notes: tuple[str, ...] = ()
    # Trivy's findings for this file are replaced by this listing's (a resolved tree).
    replaces_trivy: bool = False
    includes: tuple[Path, ...] = ()  # files it pulls in (`-r`): they list packages too
    # The reader knows which packages are development dependencies (the lock says, or a
    # walk from the main group does): Trivy's own `Dev` flag is then not taken.
    judges_dev: bool = False


class DependencyReader(Protocol):
    """Reads one kind of dependency file into a Listing; raises UsageError on bad input."""

    def read(self, path: Path, target: str) -> Listing:
        """What the file at `path` (named `target` in reports) lists."""
        ...
