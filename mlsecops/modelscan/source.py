"""Model files and directories as a Source (no Trivy involved), with their coverage ledger.

Every file met is one FileRead (kind "model", one item: the file itself), checked unless
one of its findings says part of it could not be checked; that finding's rule names the
reason (NOT_CHECKED), so the ledger and the findings can never tell different stories.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.findings import Finding
from mlsecops.core.source import SourceResult
from mlsecops.modelscan import notes
from mlsecops.modelscan.formats import gguf, hdf5, onnx
from mlsecops.modelscan.formats.base import Found, ScanOptions
from mlsecops.modelscan.keras_config import MALFORMED as KERAS_CONFIG_MALFORMED
from mlsecops.modelscan.pickle_notes import BUDGET as PICKLE_BUDGET
from mlsecops.modelscan.scanner import FileScan, printable, scan_files
from mlsecops.paths import display_path
from mlsecops.secretscan.findings import SecretCollector
from mlsecops.secretscan.scrub import scrub_finding

KIND = "model"

# The findings that say something was NOT checked, and the ledger's reason for each.
NOT_CHECKED: dict[str, Unchecked] = {
    notes.UNKNOWN_FORMAT: Unchecked.FORMAT_UNKNOWN,
    notes.UNREADABLE: Unchecked.UNREADABLE,
    notes.TOO_DEEP: Unchecked.TOO_DEEP,
    notes.TOO_LARGE: Unchecked.TOO_LARGE,
    notes.UNDECODED: Unchecked.NEEDS_EXTRA,  # a newer Python's decoder
    notes.SYMLINK_OUTSIDE: Unchecked.LINK_OUTSIDE,
    notes.NUMPY_MALFORMED: Unchecked.UNREADABLE,
    hdf5.SKIPPED: Unchecked.NEEDS_EXTRA,
    hdf5.UNREADABLE: Unchecked.UNREADABLE,
    gguf.MALFORMED: Unchecked.UNREADABLE,
    onnx.MALFORMED: Unchecked.UNREADABLE,
    KERAS_CONFIG_MALFORMED: Unchecked.UNREADABLE,
    PICKLE_BUDGET: Unchecked.TOO_LARGE,  # the work it asks for is past a scan budget
}


@dataclass(frozen=True)
class ModelScan:
    """The `--model` paths, with the pickle globals the project's policy trusts.

    Every string the format handlers read (configs, metadata, pickle strings, templates)
    goes through the shipped secret rules (secretscan): with `secrets` the secrets found are
    findings; either way no other finding may quote one (a pickle's call arguments can).
    """

    paths: tuple[Path, ...]
    allowed_globals: Sequence[str] = ()
    secrets: bool = True

    def scan(self) -> SourceResult:
        """Every model finding, and the ledger of every file met; each path is a target."""
        collector = SecretCollector()

        def strings(found: list[Found]) -> None:
            for item in found:
                collector.add(item.text, item.target, item.location, item.member)

        options = ScanOptions(allowed_globals=tuple(self.allowed_globals), strings=strings)
        files = scan_files(self.paths, options)
        known = collector.known()
        findings = tuple(
            scrub_finding(finding, known) for file in files for finding in file.findings
        )
        targets = tuple(printable(display_path(path)) for path in self.paths)
        secrets = tuple(collector.findings()) if self.secrets else ()
        return SourceResult(findings + secrets, (), targets, ledger(files))


def ledger(files: Sequence[FileScan]) -> Coverage:
    """The coverage ledger of a model scan: one item per file, checked or not (and why)."""
    read: list[FileRead] = []
    unchecked: list[NotChecked] = []
    for file in files:
        skips = [f for f in file.findings if f.id in NOT_CHECKED]
        read.append(FileRead(file.target, KIND, packages=1, checked=0 if skips else 1))
        if skips:
            unchecked.append(_not_checked(file.target, skips))
    return Coverage(tuple(read), tuple(unchecked))


def _not_checked(target: str, skips: list[Finding]) -> NotChecked:
    """The first reason a file was not (wholly) checked; the others are counted in `detail`."""
    first = skips[0]
    part = " > ".join(first.member) or target
    detail = first.title + (f" (and {len(skips) - 1} more parts)" if len(skips) > 1 else "")
    return NotChecked(NOT_CHECKED[first.id], target, part, detail=detail)
