"""Paths: how they are shown in reports (repo-relative POSIX when possible, what SARIF
needs), and writing a file atomically. Light on purpose: `mlsecops hash` imports it."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from mlsecops.errors import UsageError


def display_path(path: Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working directory) with `/`, else absolute."""
    base = (base or Path.cwd()).resolve()
    absolute = path if path.is_absolute() else Path.cwd() / path
    absolute = Path(os.path.normpath(absolute))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()


def write_text_atomic(path: Path, text: str) -> None:
    """Write `text` (UTF-8, `\\n` line ends) to `path` through a temporary file beside it.

    A reader never sees half a file, and a failed write leaves neither half a file nor the
    temporary one behind.
    """
    directory = path.parent
    if not directory.is_dir():
        raise UsageError(f"cannot write {path}: no directory {directory}", "create it first")
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", "check the path") from exc
