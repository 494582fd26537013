"""How paths are shown in reports: repo-relative POSIX when possible (what SARIF needs)."""

from __future__ import annotations

import os
from pathlib import Path


def display_path(path: Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working directory) with `/`, else absolute."""
    base = (base or Path.cwd()).resolve()
    absolute = path if path.is_absolute() else Path.cwd() / path
    absolute = Path(os.path.normpath(absolute))
    try:
        return absolute.relative_to(base).as_posix()
    except ValueError:
        return absolute.as_posix()
