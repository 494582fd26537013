"""The project's dependency files as one Source: Trivy's reading, plus everything it misses.

1. deps/discovery finds the dependency files (requirements files under many names, lock
   files, conda environments); excluded ones are named in the ledger and skipped by Trivy.
2. `trivy fs` runs in the background while each file is read by the reader of its kind
   (deps/requirements_txt, deps/locks, deps/conda, or deps/resolve with --resolve).
3. deps/accounting matches what Trivy listed with what each reader listed, checks the rest
   through one SBOM (deps/sbom_bridge) and fills the coverage ledger.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.source import SourceResult
from mlsecops.deps.accounting import BoundsChecker, account
from mlsecops.deps.conda import CondaReader
from mlsecops.deps.discovery import DependencyFile, check_files, discover
from mlsecops.deps.listing import DependencyReader, FileKind, Listing
from mlsecops.deps.locks import LockReader
from mlsecops.deps.pip_resolver import PipResolver, Resolver
from mlsecops.deps.requirements_txt import RequirementsReader
from mlsecops.deps.resolve import ResolveReader
from mlsecops.deps.sbom_bridge import Checker
from mlsecops.paths import display_path
from mlsecops.trivy.advisory_bounds import Uncompared
from mlsecops.trivy.results import TrivyRun
from mlsecops.trivy.run import raise_on_parse_failures, trivy_notes


@dataclass(frozen=True)
class ProjectOptions:
    """How far to go beyond Trivy's own reading of the project."""

    resolve: bool = False  # resolve requirements files with pip and check the whole tree
    index_url: str | None = None  # the package index pip resolves against
    allow_source_builds: bool = False  # let pip build sdists while resolving (runs their code)
    include_dev: bool = True  # check development dependencies (marked `dev`)
    exclude: tuple[str, ...] = ()  # globs over repo-relative paths: files not scanned


class FsRunner(Protocol):
    """What the project source needs from Trivy: its own reading of the project."""

    def fs(self, project: Path, skip_files: Sequence[str] = ()) -> TrivyRun:
        """`trivy fs` on the project, not reading `skip_files`."""
        ...


@dataclass(frozen=True)
class ProjectSource:
    """The dependency files of the project at `project` (see the module docstring)."""

    trivy: FsRunner
    checker: Checker
    project: Path
    options: ProjectOptions = ProjectOptions()
    resolver: Resolver | None = field(default=None, compare=False)
    bounds: BoundsChecker | None = field(default=None, compare=False)

    def scan(self) -> SourceResult:
        """Findings, notes, ledger and inventory of every dependency file."""
        files = discover(self.project, self.options.exclude)
        check_files(files)
        skip = [f.path.relative_to(self.project).as_posix() for f in files if f.excluded]
        bounds = _Prefetched(self.bounds) if self.bounds is not None else None
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(self.trivy.fs, self.project, skip)
            listings = self._read_all([f for f in files if not f.excluded])
            if bounds is not None:  # while Trivy still runs: the packages the files pin
                bounds.uncompared((d.name, d.version) for x in listings for d in x.packages)
            run = pending.result()
        accounted = account(
            listings,
            run,
            self.checker,
            functools.cache(lambda target: display_path(self.project / target)),
            subject=display_path(self.project),
            include_dev=self.options.include_dev,
            bounds=bounds,
        )
        # After accounting, which names a malformed lock Trivy skipped silently.
        raise_on_parse_failures(run)
        own = SourceResult(notes=trivy_notes(run), targets=(display_path(self.project),))
        return own + accounted + _excluded([f for f in files if f.excluded])

    def _read_all(self, files: list[DependencyFile]) -> list[Listing]:
        """Each file read by its kind's reader; `-r` files no name rule found are read too."""
        listings: list[Listing] = []
        queue = list(files)
        seen = {_key(f.path) for f in files}
        while queue:
            file = queue.pop(0)
            listing = self._reader(file.kind).read(file.path, display_path(file.path))
            listings.append(listing)
            for included in listing.includes:
                if _key(included) not in seen and included.is_file():
                    seen.add(_key(included))
                    queue.append(DependencyFile(included, FileKind.REQUIREMENTS))
        return listings

    def _reader(self, kind: FileKind) -> DependencyReader:
        if kind is FileKind.REQUIREMENTS:
            if not self.options.resolve:
                return RequirementsReader()
            resolver = self.resolver or PipResolver(
                self.options.index_url, self.options.allow_source_builds
            )
            return ResolveReader(resolver)
        if kind is FileKind.CONDA:
            return CondaReader()
        return LockReader(kind)


def _key(path: Path) -> str:
    # Discovered paths are under the resolved project root already; `-r ../base.txt` only
    # needs `..` folded (a symlinked include read twice is harmless: read, not run).
    return os.path.normpath(path)


class _Prefetched:
    """A BoundsChecker that remembers its answers, so asking early costs nothing later."""

    def __init__(self, inner: BoundsChecker) -> None:
        self.inner = inner
        self.known: dict[tuple[str, str], list[Uncompared]] = {}
        self.asked: set[tuple[str, str]] = set()

    def uncompared(
        self, packages: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[Uncompared]]:
        """The inner checker's answer, asking it only about packages not asked before."""
        wanted = list(dict.fromkeys(packages))
        new = [p for p in wanted if p not in self.asked]
        if new:
            self.known.update(self.inner.uncompared(new))
            self.asked.update(new)
        return {p: self.known[p] for p in wanted if p in self.known}


def _excluded(files: list[DependencyFile]) -> SourceResult:
    """Excluded files in the ledger: each counts as one item, not checked, excluded."""
    reads, items = [], []
    for file in files:
        target = display_path(file.path)
        reads.append(FileRead(target, str(file.kind), 1, 0))
        items.append(NotChecked(Unchecked.EXCLUDED, target, target, None, "excluded path"))
    return SourceResult(coverage=Coverage(tuple(reads), tuple(items)))
