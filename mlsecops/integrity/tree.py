"""The model on disk, read so that nothing outside the model root is ever opened.

Everything is opened through directory file descriptors, one path segment at a time, with
O_NOFOLLOW: a symlink (or a directory swapped for one mid-run) fails the open instead of
leading elsewhere. Names come only from listing the disk, never from a manifest, and each one
is checked against `relpath.path_problem` before it is opened. POSIX only (Linux, macOS).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Literal, TypeVar

from mlsecops.errors import UsageError
from mlsecops.integrity.relpath import path_problem, show

Kind = Literal["file", "directory"]
T = TypeVar("T")

_DIR_FLAGS = os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_DIRECTORY", 0)
# O_NONBLOCK: opening a FIFO planted in place of a file must not hang the job.
_FILE_FLAGS = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NOT_NAMES = frozenset(("", ".", ".."))


@dataclass(frozen=True)
class Tree:
    """What is under the model root, by path relative to it (`/` separators)."""

    kind: Kind
    files: dict[str, int] = field(default_factory=dict)  # regular file -> size in bytes
    directories: set[str] = field(default_factory=set)
    symlinks: dict[str, str] = field(default_factory=dict)  # link -> its target, unfollowed
    others: dict[str, str] = field(default_factory=dict)  # FIFO, socket, device -> what it is


class ModelRoot:
    """An open model: its directory, or for a single-file model the file's parent directory.

    For a single file, the one entry is the file's name; for a directory, entries are paths
    below it. Use as a context manager; the directory descriptor is closed on exit.
    """

    def __init__(self, path: Path) -> None:
        if not _NOFOLLOW:
            raise UsageError(f"cannot read {path} safely here", "run on Linux or macOS")
        try:
            before = os.lstat(path)
        except FileNotFoundError as exc:
            raise UsageError(f"{path}: no such file or directory", "check MODEL_PATH") from exc
        except OSError as exc:
            raise UsageError(f"cannot read {path}: {exc.strerror}", "check MODEL_PATH") from exc
        self.kind: Kind = "directory" if stat.S_ISDIR(before.st_mode) else "file"
        # A directory model is opened itself (no symlink in its place); a single file is
        # named inside its parent, which lies outside the model and may be reached any way.
        self.name = "" if self.kind == "directory" else path.name
        target = path if self.kind == "directory" else path.parent
        flags = _DIR_FLAGS | (_NOFOLLOW if self.kind == "directory" else 0)
        try:
            self.fd = os.open(target, flags)
        except OSError as exc:
            raise UsageError(f"cannot open {target}: {exc.strerror}", "check MODEL_PATH") from exc
        now = os.fstat(self.fd) if self.kind == "directory" else self._lstat(self.name)
        if (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            self.close()
            raise UsageError(f"{path} changed while being opened", "run again")

    def __enter__(self) -> ModelRoot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the directory descriptor (idempotent)."""
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def scan(self) -> Tree:
        """Everything under the root, symlinks and special files included, none followed."""
        if self.kind == "file":
            tree = Tree("file")
            self._classify(tree, self.fd, self.name, self.name, self._lstat(self.name))
            return tree
        tree = Tree("directory")
        pending = [""]
        while pending:
            prefix = pending.pop()
            fd = self._open_dir(prefix) if prefix else self.fd
            try:
                with os.scandir(fd) as listing:
                    for entry in listing:
                        rel = prefix + entry.name
                        st = _guard(rel, partial(entry.stat, follow_symlinks=False))
                        if stat.S_ISDIR(st.st_mode):
                            tree.directories.add(rel)
                            pending.append(rel + "/")
                        else:
                            self._classify(tree, fd, entry.name, rel, st)
            except OSError as exc:
                raise _unreadable(prefix.rstrip("/") or ".", exc) from exc
            finally:
                if fd != self.fd:
                    os.close(fd)
        return tree

    def open_file(self, rel: str) -> int:
        """A read-only descriptor for regular file `rel`, opened beneath the root."""
        problem = path_problem(rel)
        if problem:  # callers only pass listed, checked names; this is the last guard
            raise UsageError(f"refusing to open {show(rel)}: {problem}")
        parent, _, name = rel.rpartition("/")
        with self.directory(parent) as dir_fd:
            return self.open_in(dir_fd, name, rel)

    @contextmanager
    def directory(self, parent: str) -> Iterator[int]:
        """A descriptor of directory `parent` (`""`: the root), opened beneath the root once
        for all the files read from it, and closed after."""
        problem = path_problem(parent) if parent else None
        if problem:  # callers only pass listed, checked names; this is the last guard
            raise UsageError(f"refusing to open {show(parent)}: {problem}")
        fd = self._open_dir(parent + "/") if parent else self.fd
        try:
            yield fd
        finally:
            if fd != self.fd:
                os.close(fd)

    @staticmethod
    def open_in(dir_fd: int, name: str, rel: str) -> int:
        """A read-only descriptor for regular file `name` in the directory `dir_fd` (from
        `directory`); `rel` is its path under the root, for messages."""
        if "/" in name or name in _NOT_NAMES:  # one segment, or the open could leave dir_fd
            raise UsageError(f"refusing to open {show(rel)}: not a plain file name")
        fd = _guard(rel, lambda: os.open(name, _FILE_FLAGS | _NOFOLLOW, dir_fd=dir_fd))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(f"{show(rel)} stopped being a regular file while being read")
        return fd

    def _open_dir(self, prefix: str) -> int:
        """Open directory `prefix` (ending in `/`) one segment at a time, never following."""
        fd = self.fd
        for segment in prefix.rstrip("/").split("/"):
            try:
                child = os.open(segment, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except OSError as exc:
                raise _unreadable(prefix.rstrip("/"), exc) from exc
            finally:
                if fd != self.fd:
                    os.close(fd)
            fd = child
        return fd

    def _lstat(self, name: str) -> os.stat_result:
        return _guard(name, lambda: os.stat(name, dir_fd=self.fd, follow_symlinks=False))

    @staticmethod
    def _classify(tree: Tree, dir_fd: int, name: str, rel: str, st: os.stat_result) -> None:
        if stat.S_ISREG(st.st_mode):
            tree.files[rel] = st.st_size
        elif stat.S_ISLNK(st.st_mode):
            tree.symlinks[rel] = _guard(rel, lambda: os.readlink(name, dir_fd=dir_fd))
        else:
            tree.others[rel] = _what(st.st_mode)


def _what(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def _guard(rel: str, call: Callable[[], T]) -> T:
    try:
        return call()
    except OSError as exc:
        raise _unreadable(rel, exc) from exc


def _unreadable(rel: str, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot read {show(rel)} in the model: {exc.strerror or exc}",
        "check its permissions, and that nothing changes the model while it is read",
    )
