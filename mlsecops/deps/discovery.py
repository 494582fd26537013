"""Which dependency files a project holds, each checked readable before Trivy runs.

Checking here means a bad path or a malformed lock file is a usage error (exit 2) with a
clear reason, instead of whatever Trivy happens to print (or, worse, an empty result).
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from pathlib import Path

from mlsecops.errors import UsageError
from mlsecops.guarded.files import read_bytes, read_text
from mlsecops.guarded.json_text import parse_json
from mlsecops.guarded.limits import InputKind
from mlsecops.guarded.toml_text import parse_toml

# Dependency files Trivy reads in a Python project; we check each is readable before scanning,
# because Trivy silently skips a file it cannot open.
DEPENDENCY_FILE_GLOBS = ("requirements*.txt", "poetry.lock", "uv.lock", "Pipfile.lock")
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


def check_project(path: Path) -> Path:
    """The project directory to scan, resolved; every dependency file in it must be readable."""
    if not path.exists():
        raise UsageError(f"path not found: {path}", "pass an existing project directory")
    if not path.is_dir():
        raise UsageError(f"not a directory: {path}", "pass the project directory, not a file")
    for dep_file in dependency_files(path):
        _check_readable(dep_file)
    return path.resolve()


def dependency_files(root: Path, globs: Sequence[str] = DEPENDENCY_FILE_GLOBS) -> list[Path]:
    """The files under `root` whose name matches one of `globs` (by default the dependency
    files Trivy will read), hidden and vendored dirs skipped, in a stable order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        # A directory named like a dependency file is unreadable as one: listed too, so
        # that reading it fails loudly instead of the file being skipped.
        for name in [*sorted(filenames), *dirnames]:
            if any(fnmatch.fnmatchcase(name, glob) for glob in globs):
                found.append(Path(dirpath) / name)
    return found


# Trivy skips a lock file it cannot parse without a word (0.76: "num=0" and no result), which
# would read as "no vulnerabilities". So we check the syntax ourselves and refuse to pass.
_LOCK_SYNTAX = {
    "poetry.lock": ("TOML", "poetry lock"),
    "uv.lock": ("TOML", "uv lock"),
    "Pipfile.lock": ("JSON", "pipenv lock"),
}


def _check_readable(dep_file: Path) -> None:
    """Readable, a regular file within its size limit, and for a lock file well-formed.

    Guarded (mlsecops.guarded): a FIFO, a device or a directory by a dependency file's name
    is refused before anything opens it (Trivy would hang on a FIFO), and a lock file is
    parsed with bounded depth and key length.
    """
    syntax = _LOCK_SYNTAX.get(dep_file.name)
    if syntax is None:
        read_bytes(dep_file, InputKind.REQUIREMENTS)
        return
    language, regenerate = syntax
    fix = f"regenerate it (`{regenerate}`) and scan again"
    text = read_text(dep_file, InputKind.LOCK_FILE)
    source = f"lock file {dep_file}"
    if language == "TOML":
        parse_toml(text, source, fix)
    else:
        parse_json(text, source, fix)
