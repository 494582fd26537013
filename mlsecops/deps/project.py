"""The project's dependency files as one Source: Trivy's project scan, plus what it cannot see.

- Trivy (`trivy fs`) reads requirements*.txt, poetry.lock, uv.lock and Pipfile.lock;
  findings get their manifest line where Trivy gives none.
- requirements*.txt: without --resolve, each requirement with no `==` pin becomes an
  informational MLS-UNPINNED finding, and each line naming no package (`-e git+...`, a URL,
  a local path) a note; with --resolve, pip resolves the file and the whole tree is
  scanned, replacing Trivy's own findings for that file (which only cover pins); pins pip
  skips for this Python (environment markers) are still checked, at the pin.
- environment.yml: scanned through mlsecops.deps.conda.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from mlsecops.core.findings import Finding
from mlsecops.core.source import SourceResult
from mlsecops.deps.conda import environment_files, scan_environment
from mlsecops.deps.discovery import dependency_files
from mlsecops.deps.manifest_lines import ManifestLines
from mlsecops.deps.requirements_txt import read_requirements
from mlsecops.deps.resolve import resolve_requirements
from mlsecops.deps.unpinned import requirements_unpinned, unchecked_notes
from mlsecops.paths import display_path
from mlsecops.trivy.run import Trivy, raise_on_parse_failures, trivy_notes


@dataclass(frozen=True)
class ProjectOptions:
    """How far to go beyond Trivy's own reading of the project."""

    resolve: bool = False  # resolve requirements*.txt with pip and scan the whole tree
    index_url: str | None = None  # the package index pip resolves against


@dataclass(frozen=True)
class ProjectSource:
    """The dependency files of the project at `project` (already checked readable)."""

    trivy: Trivy
    project: Path
    options: ProjectOptions = ProjectOptions()

    def scan(self) -> SourceResult:
        """Trivy's findings for the project, plus what it cannot see (module docstring)."""
        run = self.trivy.fs(self.project)
        raise_on_parse_failures(run)
        found = run.findings(lambda target: display_path(self.project / target))
        requirements, resolved_targets = self._requirements()
        # A resolved file's tree replaces Trivy's findings for it (Trivy saw only its pins).
        kept = [f for f in _with_manifest_lines(found) if f.target not in resolved_targets]
        trivy = SourceResult(tuple(kept), trivy_notes(run), (display_path(self.project),))
        return trivy + requirements + self._conda()

    def _requirements(self) -> tuple[SourceResult, set[str]]:
        """Unpinned requirements and unchecked lines; with --resolve, the resolved trees
        (and the targets they replace Trivy's findings for)."""
        result = SourceResult()
        resolved_targets: set[str] = set()
        for path in dependency_files(self.project, ("requirements*.txt",)):
            requirements = read_requirements(path)
            target = display_path(path)
            has_entries = requirements.requirements or requirements.includes
            if self.options.resolve and (has_entries or requirements.unchecked):
                resolved = resolve_requirements(
                    self.trivy, requirements, self.project, self.options.index_url
                )
                resolved_targets.add(target)
                result = result + SourceResult(resolved.findings, resolved.notes)
            else:
                unpinned = tuple(requirements_unpinned(requirements, target))
                notes = tuple(unchecked_notes(target, requirements.unchecked))
                result = result + SourceResult(unpinned, notes)
        return result, resolved_targets

    def _conda(self) -> SourceResult:
        result = SourceResult()
        for path in environment_files(self.project):
            conda = scan_environment(self.trivy, path, self.project)
            result = result + SourceResult(conda.findings, conda.notes)
        return result


def _with_manifest_lines(findings: list[Finding]) -> list[Finding]:
    """Fill in the manifest line where Trivy gave none (it does not for poetry/uv locks)."""
    lines = ManifestLines()
    located = []
    for finding in findings:
        if finding.line is None and finding.package:
            line = lines.line_of(Path(finding.target), finding.package)
            if line is not None:
                finding = replace(finding, line=line, end_line=line)
        located.append(finding)
    return located
