"""Walking a model directory: every file under it, never leaving it through a link."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})  # version control data, never loaded


def walk(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, problem) for every file under `root`, never leaving it through a symlink."""
    real_root = Path(os.path.realpath(root))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        here = Path(dirpath)
        linked_dirs = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames) + linked_dirs:
            path = here / name
            if not path.is_symlink():
                yield path, ""
                continue
            real = Path(os.path.realpath(path))
            if not real.is_relative_to(real_root):
                yield path, f"it is a symlink to {real}, outside the scanned directory"
            elif not real.exists():
                yield path, "it is a broken symlink"
            elif real.is_file():
                yield path, ""
            # a symlink to a directory inside the root: its files are walked where they live
