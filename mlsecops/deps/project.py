"""What Trivy's project scan cannot see, filled in: unpinned and transitive requirements, conda.

- requirements*.txt: without --resolve, each requirement with no `==` pin becomes an
  informational MLS-UNPINNED finding, and each line naming no package (`-e git+...`, a URL,
  a local path) a note; with --resolve, pip resolves the file and the whole
  tree is scanned, replacing Trivy's own findings for that file (which only cover pins);
  pins pip skips for this Python (environment markers) are still checked, at the pin.
- environment.yml: scanned through mlsecops.deps.conda.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mlsecops.core.findings import Finding
from mlsecops.deps.conda import environment_files, scan_environment
from mlsecops.deps.discovery import dependency_files
from mlsecops.deps.requirements_txt import read_requirements
from mlsecops.deps.resolve import resolve_requirements
from mlsecops.deps.unpinned import requirements_unpinned, unchecked_notes
from mlsecops.paths import display_path
from mlsecops.trivy.run import Trivy


@dataclass(frozen=True)
class CoverageOptions:
    resolve: bool = False
    index_url: str | None = None


@dataclass
class Coverage:
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)


def fill_gaps(
    trivy: Trivy, project: Path, trivy_findings: list[Finding], options: CoverageOptions
) -> Coverage:
    """Trivy's project findings plus what it cannot see (see the module docstring)."""
    coverage = Coverage(list(trivy_findings))
    # check_project has read each of these already: all are readable files.
    for path in dependency_files(project, ("requirements*.txt",)):
        requirements = read_requirements(path)
        target = display_path(path)
        if options.resolve and (
            requirements.requirements or requirements.includes or requirements.unchecked
        ):
            resolved = resolve_requirements(trivy, requirements, project, options.index_url)
            coverage.findings = [f for f in coverage.findings if f.target != target]
            coverage.findings += resolved.findings
            coverage.notes += resolved.notes
        else:
            coverage.findings += requirements_unpinned(requirements, target)
            coverage.notes += unchecked_notes(target, requirements.unchecked)
    for path in environment_files(project):
        conda = scan_environment(trivy, path, project)
        coverage.findings += conda.findings
        coverage.notes += conda.notes
    return coverage
