"""Which dependency files a project holds, found by name and, where names vary, by content.

Real ML repositories spell requirements files many ways (`dev_requirements.txt`,
`requirements/gpu.txt`, `test-requirements.txt`, a pip-tools `requirements.in` with no
compiled twin) and conda environments too (`environment-cuda.yml`, MLflow's `conda.yaml`).
Each found file gets its kind (deps/listing.FileKind); a file matching an exclude glob (the
policy's `exclude`, or --exclude) is still listed, marked excluded, so the coverage ledger
can name it. Hidden and vendored directories are never entered.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.deps.listing import FileKind
from mlsecops.errors import UsageError
from mlsecops.guarded.files import check_regular
from mlsecops.guarded.limits import InputKind

SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}
_LOCKS = {kind.value: kind for kind in FileKind if kind.is_lock}
_REQUIREMENTS_DIRS = {"requirements", "requirements.d", "reqs"}
_CONDA_NAMES = {"environment.yml", "environment.yaml", "conda.yaml", "conda.yml"}
_CONDA_LIKE_NAME = re.compile(r"^(.*environment.*|conda.*|.*[-_]env|env)\.ya?ml$", re.IGNORECASE)
# A conda environment file has a top-level `dependencies:` list and `channels:` (or a conda
# name); Helm's Chart.yaml has `dependencies:` too, but never `channels:`.
_CONDA_DEPENDENCIES = re.compile(r"^dependencies\s*:", re.MULTILINE)
_CONDA_CHANNELS = re.compile(r"^channels\s*:", re.MULTILINE)
_MAX_SNIFF = 1 << 20  # larger YAML files are not environment files


@dataclass(frozen=True)
class DependencyFile:
    """One dependency file of the project, and whether the user excluded it."""

    path: Path
    kind: FileKind
    excluded: bool = False


def check_project(path: Path) -> Path:
    """The project directory to scan, resolved."""
    if not path.exists():
        raise UsageError(f"path not found: {path}", "pass an existing project directory")
    if not path.is_dir():
        raise UsageError(f"not a directory: {path}", "pass the project directory, not a file")
    return path.resolve()


def discover(root: Path, exclude: Sequence[str] = ()) -> list[DependencyFile]:
    """Every dependency file under `root`, in a stable order (see the module docstring)."""
    return list(_walk(root, exclude))


def has_dependency_files(root: Path) -> bool:
    """Whether `root` holds any dependency file (stops at the first)."""
    return next(iter(_walk(root, ())), None) is not None


def _walk(root: Path, exclude: Sequence[str]) -> Iterator[DependencyFile]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS and d[:1] != ".")
        directory = Path(dirpath)
        names = set(filenames)
        # A directory named like a dependency file is unreadable as one: listed too, so
        # that reading it fails loudly instead of the file being skipped.
        for name in [*sorted(filenames), *dirnames]:
            kind = file_kind(directory / name, names)
            if kind is not None:
                relative = (directory / name).relative_to(root).as_posix()
                yield DependencyFile(directory / name, kind, _excluded(relative, exclude))


_INPUT_KIND = {
    FileKind.REQUIREMENTS: InputKind.REQUIREMENTS,
    FileKind.CONDA: InputKind.CONDA_ENVIRONMENT,
}


def check_files(files: Sequence[DependencyFile]) -> None:
    """Each file to be scanned is a regular file within its size limit (else UsageError).

    Checked before Trivy starts: a FIFO by a dependency file's name would hang Trivy, and a
    directory by that name is a file Trivy would skip without a word.
    """
    for file in files:
        if not file.excluded:
            check_regular(file.path, _INPUT_KIND.get(file.kind, InputKind.LOCK_FILE))


def file_kind(path: Path, siblings: set[str]) -> FileKind | None:
    """The kind of dependency file at `path`, or None when it is not one."""
    name = path.name
    lower = name.lower()
    if name in _LOCKS:
        return _LOCKS[name]
    in_requirements_dir = path.parent.name.lower() in _REQUIREMENTS_DIRS
    if lower.endswith(".txt"):
        return FileKind.REQUIREMENTS if "requirement" in lower or in_requirements_dir else None
    if lower.endswith(".in") and lower != "manifest.in":
        # pip-tools: `x.in` compiles to `x.txt`; the compiled twin is the one that pins.
        compiled = name[: -len(".in")] + ".txt"
        if compiled in siblings:
            return None
        return FileKind.REQUIREMENTS if "requirement" in lower or in_requirements_dir else None
    if lower.endswith((".yml", ".yaml")):
        return FileKind.CONDA if name in _CONDA_NAMES or _sniff_conda(path) else None
    return None


def _sniff_conda(path: Path) -> bool:
    """A YAML file that reads like a conda environment: a top-level `dependencies:` list,
    and a conda-like name or a `channels:` list."""
    try:
        with path.open("rb") as handle:
            text = handle.read(_MAX_SNIFF).decode("utf-8", errors="replace")
    except OSError:
        return False
    if not _CONDA_DEPENDENCIES.search(text):
        return False
    return bool(_CONDA_LIKE_NAME.match(path.name) or _CONDA_CHANNELS.search(text))


def _excluded(relative: str, globs: Sequence[str]) -> bool:
    """Whether a repo-relative path matches an exclude glob (a directory glob covers all
    below it: `examples/` and `examples/*` both exclude examples/a/requirements.txt)."""
    return any(
        fnmatch.fnmatchcase(relative, pattern)
        for glob in globs
        for pattern in (glob, glob.rstrip("/") + "/*")
    )
