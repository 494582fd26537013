"""The project's files as a Source: secrets anywhere, misconfigurations in what deploys it.

Trivy reads every text file of the project with the secret rules (its built-in ones and the
ML rules we ship: `.env`, notebooks and their outputs, YAML configs, Dockerfiles, workflow
files) and checks Dockerfiles, Kubernetes and Helm manifests (plus the KServe checks we
ship). It is a run of its own, apart from the dependency scan: it needs no vulnerability DB,
and its findings are about files, not packages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.scanners import Scanner
from mlsecops.core.source import SourceResult
from mlsecops.filescan.candidates import MAX_SECRET_FILE, large_text_files
from mlsecops.paths import display_path
from mlsecops.secretscan.redact import scrub
from mlsecops.secretscan.trivy_secrets import file_prefix, secret_findings, secret_values
from mlsecops.trivy.run import Trivy, trivy_notes


@dataclass(frozen=True)
class FilesScan:
    """The files of the project at `project`, with the scanners that have work there
    (filescan/candidates.scanners_with_work)."""

    trivy: Trivy
    project: Path
    scanners: frozenset[Scanner]
    # The --model paths: the model scanner reads those (and their secrets), not Trivy.
    models: Sequence[Path] = ()

    def scan(self) -> SourceResult:
        """Secret and misconfiguration findings, named by the file they are in."""
        skip = self._inside(self.models)
        large = large_text_files(self.project, skip) if Scanner.SECRET in self.scanners else []
        run = self.trivy.files(self.project, self.scanners, [*skip, *large])

        def name(target: str) -> str:
            return display_path(self.project / target)

        found = run.findings(name)
        found += secret_findings(run, name, prefix=file_prefix(self.project))
        # A warning may quote a line holding a secret, even one no rule of ours knows the
        # shape of (Trivy's own rules): those found in this run are scrubbed by value.
        known = secret_values(run, self.project)
        notes = tuple(scrub(note, known) for note in trivy_notes(run))
        if large:
            notes += (_too_large_note(large),)
        return SourceResult(tuple(found), notes, (display_path(self.project),))

    def _inside(self, paths: Sequence[Path]) -> list[Path]:
        """`paths` that lie inside the project, relative to it."""
        base = self.project.resolve()
        inside = []
        for path in paths:
            resolved = path.resolve()
            if resolved != base and resolved.is_relative_to(base):
                inside.append(resolved.relative_to(base))
        return inside


def _too_large_note(large: list[Path]) -> str:
    shown = ", ".join(path.as_posix() for path in large[:3])
    more = f" and {len(large) - 3} more" if len(large) > 3 else ""
    return (
        f"{len(large)} text file(s) larger than {MAX_SECRET_FILE >> 20} MiB were not scanned "
        f"for secrets (a dataset, most likely): {shown}{more}."
    )
