"""Walking a model directory: every file under it, never leaving it through a link."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})  # version control data, never loaded


def walk(root: Path) -> Iterator[tuple[Path, str, str]]:
    """(file, problem, real path) for every file under `root`, never leaving it through a
    symlink; directories depth first, names sorted.

    One listing per directory, whose entries already say what is a link or a directory: no
    call per file but for symlinks. A file that is not a link has for real path its
    directory's plus its name (no directory walked into is a link), so it costs nothing.
    """
    real_root = os.path.realpath(root)
    pending = [(root, real_root)]
    while pending:
        here, real_here = pending.pop()
        try:
            with os.scandir(here) as listing:
                entries = sorted(listing, key=lambda entry: entry.name)
        except OSError:
            continue  # as os.walk: a directory that cannot be listed is passed over
        files, linked_dirs, subdirs = [], [], []
        for entry in entries:
            if not _is_dir(entry):
                files.append(entry)
            elif entry.name in SKIPPED_DIRS:
                continue
            elif entry.is_symlink():
                linked_dirs.append(entry)
            else:
                subdirs.append(entry)
        for entry in files + linked_dirs:
            path = here / entry.name
            if not entry.is_symlink():
                yield path, "", f"{real_here.rstrip('/')}/{entry.name}"
                continue
            yield from _link(path, real_root)
        # Reversed onto the stack: the first subdirectory is walked first.
        pending.extend(
            (here / entry.name, f"{real_here.rstrip('/')}/{entry.name}")
            for entry in reversed(subdirs)
        )


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a link, as os.walk sorts names
    except OSError:
        return False


def _link(path: Path, real_root: str) -> Iterator[tuple[Path, str, str]]:
    """A symlink met in the walk: its file if it stays inside, else why it is not read."""
    real = Path(os.path.realpath(path))
    if not real.is_relative_to(real_root):
        yield path, f"it is a symlink to {real}, outside the scanned directory", str(real)
    elif not real.exists():
        yield path, "it is a broken symlink", str(real)
    elif real.is_file():
        yield path, "", str(real)
    # a symlink to a directory inside the root: its files are walked where they live
