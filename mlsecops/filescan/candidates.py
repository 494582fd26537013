"""Whether a project holds anything for Trivy's secret and misconfiguration scanners.

Trivy costs a process and, for misconfigurations, about a second of CPU to load its checks,
even for a directory with nothing to check; and a model-only scan (`--model` with nothing
else in PATH) must run with no Trivy at all. So the project is walked first, skipping the
`--model` paths (the model scanner reads those), and stops at the first file each scanner
could read: for secrets a text file (Trivy skips binary files), for misconfigurations a
Dockerfile or a YAML / JSON / Terraform / Helm file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path

from mlsecops.core.scanners import Scanner

_CONFIG_SUFFIXES = frozenset({".yaml", ".yml", ".json", ".tf", ".tfvars", ".hcl", ".tgz"})
_CONFIG_NAMES = ("dockerfile", "containerfile")
_HEAD = 300  # bytes read to tell text from binary, as Trivy does
_MIN_SIZE = 10  # Trivy's secret scanner skips smaller files
# Trivy's secret scanner holds a whole text file in memory (and warns past 10 MB): a
# dataset checked into the repository (a CSV, a JSONL of gigabytes) would exhaust a runner.
MAX_SECRET_FILE = 32 << 20


def is_config_file(name: str) -> bool:
    """A file name one of Trivy's misconfiguration scanners reads."""
    lowered = name.lower()
    return Path(lowered).suffix in _CONFIG_SUFFIXES or any(m in lowered for m in _CONFIG_NAMES)


def looks_binary(head: bytes) -> bool:
    """The usual text test (as `file` and Trivy do it): control bytes mean binary."""
    return any(b < 7 or b == 11 or 13 < b < 27 or 27 < b < 32 or b == 127 for b in head)


def _is_text_file(path: Path) -> bool:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size < _MIN_SIZE:
            return False
        with path.open("rb") as handle:
            return not looks_binary(handle.read(_HEAD))
    except OSError:
        return False


def scanners_with_work(
    project: Path, scanners: frozenset[Scanner], skip: Sequence[Path] = ()
) -> frozenset[Scanner]:
    """The file scanners (of `scanners`) that have at least one file to read in `project`."""
    wanted = set(scanners & {Scanner.SECRET, Scanner.MISCONFIG})
    found: set[Scanner] = set()
    skipped = {os.path.realpath(path) for path in skip}
    if _inside_any(os.path.realpath(project), skipped):
        return frozenset()  # `--model .`: every file here is the model scanner's
    for path in _files(project, skipped):
        if Scanner.MISCONFIG in wanted and is_config_file(path.name):
            found.add(Scanner.MISCONFIG)
        if Scanner.SECRET in wanted - found and _is_text_file(path):
            found.add(Scanner.SECRET)
        if found == wanted:
            return frozenset(found)
    return frozenset(found)


def _files(project: Path, skipped: set[str]) -> Iterator[Path]:
    """Every file under `project`, `.git` and the `skipped` real paths left out (one pruned
    walk for both questions asked of the project's files)."""
    for directory, subdirs, files in os.walk(project):
        subdirs[:] = [
            d
            for d in subdirs
            # os.walk's strings, joined as strings: this runs for every directory of the project
            if d != ".git" and os.path.realpath(os.path.join(directory, d)) not in skipped  # noqa: PTH118
        ]
        for name in files:
            path = Path(directory, name)
            if not skipped or os.path.realpath(path) not in skipped:
                yield path


def _inside_any(path: str, directories: set[str]) -> bool:
    """True when `path` is one of `directories` or lies under one of them."""
    return any(path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in directories)


def large_text_files(
    project: Path, skip: Sequence[Path] = (), limit: int = MAX_SECRET_FILE
) -> list[Path]:
    """Text files in `project` larger than `limit` (relative paths, `skip` and .git left out):
    what the secret scan leaves out, and says so."""
    skipped = {os.path.realpath(path) for path in skip}
    found = []
    for path in _files(project, skipped):
        try:
            big = not path.is_symlink() and path.stat().st_size > limit
        except OSError:
            continue
        if big and _is_text_file(path):
            found.append(path.relative_to(project))
    return sorted(found)
