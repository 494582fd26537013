"""Paths: how they are shown in reports, where the repository root is, and atomic writes.

Findings name files as `display_path` shows them (relative to the working directory, for a
person at a terminal). Reports that outlive the run (SARIF) need names that do not depend
on where the scan ran from: `SourceRoots` turns a finding's target into a `Place`, a path
relative to the repository root (or, for a model outside the repository, relative to the
model root given). Light on purpose: `mlsecops hash` imports this module.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import quote

from mlsecops.errors import UsageError

SRCROOT = "%SRCROOT%"  # the uriBaseId GitHub code scanning (and CodeQL) use for the repo root
MODEL_ROOT = "MODELROOT"  # + 1, 2, ...: model roots given outside the repository


def display_path(path: Path, base: Path | None = None) -> str:
    """`path` relative to `base` (default: the working directory) with `/`, else absolute."""
    # Strings, not Path objects: this runs for every file shown, and Path costs several times more.
    cwd = os.getcwd()  # noqa: PTH109 - a string, see above
    root = _resolved(cwd) if base is None else os.path.realpath(base)
    absolute = os.path.normpath(os.path.join(cwd, path))  # noqa: PTH118 - a string, see above
    if absolute == root:
        return "."
    if absolute.startswith(root.rstrip("/") + "/"):
        return absolute[len(root.rstrip("/")) + 1 :]
    return absolute


@functools.lru_cache(maxsize=8)
def _resolved(directory: str) -> str:
    # The working directory's real path, once per directory (not once per file shown).
    return os.path.realpath(directory)


def source_root(scanned: Path, workspace: Path | None = None) -> Path:
    """The repository root that report locations are relative to.

    `workspace` (GITHUB_WORKSPACE in Actions, passed in by the entrypoint or CLI) when the
    scanned path is inside it; else the git top level of the scanned path; else the
    scanned directory itself.
    """
    target = absolute_as_given(scanned)
    if workspace is not None and _relative(target, absolute_as_given(workspace)) is not None:
        return absolute_as_given(workspace)
    return git_top_level(target) or (target if target.is_dir() else target.parent)


def git_top_level(path: Path) -> Path | None:
    """The nearest directory at or above `path` holding `.git` (a directory, or the file
    of a worktree or submodule), without running git."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


@dataclass(frozen=True)
class Base:
    """A directory that SARIF locations are relative to, by its `uriBaseId`."""

    id: str
    path: Path  # absolute
    description: str

    @property
    def uri(self) -> str:
        """The directory's absolute `file://` URI, ending with `/` as SARIF requires."""
        return self.path.as_uri().rstrip("/") + "/"


@dataclass(frozen=True)
class Place:
    """A file named relative to a base: the same wherever the scan ran from."""

    base_id: str
    path: str  # POSIX, relative to the base, as it is on disk (not encoded)

    @property
    def uri(self) -> str:
        """`path` as a relative URI reference (RFC 3986): every octet outside the
        unreserved set and `/` percent-encoded, so `#`, `%`, `:`, `?`, spaces and
        non-ASCII letters (as UTF-8) can neither end nor change the path."""
        return quote(self.path, safe="/")


@dataclass(frozen=True)
class SourceRoots:
    """The repository root, the model roots given, and the image files given, so that
    every finding's target can be named the same from any working directory."""

    root: Path  # absolute
    model_roots: tuple[Path, ...] = ()  # absolute: each --model directory (a file's parent)
    image_files: tuple[tuple[str, Path], ...] = ()  # --image as given -> the absolute file

    @classmethod
    def of_scan(
        cls,
        scanned: Path,
        *,
        workspace: Path | None = None,
        models: tuple[Path, ...] = (),
        image_files: tuple[tuple[str, Path], ...] = (),
    ) -> SourceRoots:
        """The roots of one scan: `scanned` is the project path, `models` the --model paths."""
        model_roots = tuple(
            dict.fromkeys(
                absolute_as_given(m) if m.is_dir() else absolute_as_given(m).parent for m in models
            )
        )
        images = tuple((name, absolute_as_given(path)) for name, path in image_files)
        return cls(source_root(scanned, workspace), model_roots, images)

    @property
    def bases(self) -> tuple[Base, ...]:
        """The repository root, then each model root outside it (MODELROOT1, 2, ...)."""
        bases = [Base(SRCROOT, self.root, "The repository root.")]
        outside = [m for m in self.model_roots if _relative(m, self.root) is None]
        bases += [
            Base(f"{MODEL_ROOT}{number}", path, "A model directory outside the repository.")
            for number, path in enumerate(outside, start=1)
        ]
        return tuple(bases)

    def place(self, target: str) -> Place | None:
        """A file target (as `display_path` gave it) relative to the first base holding
        it; None for a file outside every base."""
        absolute = absolute_as_given(Path(target))
        for base in self.bases:
            relative = _relative(absolute, base.path)
            if relative is not None:
                return Place(base.id, relative)
        return None

    def image_label(self, name: str) -> str:
        """An image as the same words from anywhere: a reference as given; a tarball or
        layout by its path in the repository, else by its file name."""
        path = dict(self.image_files).get(name)
        if path is None:
            return name
        relative = _relative(path, self.root)
        return relative if relative else path.name


def absolute_as_given(path: Path | str) -> Path:
    """`path` made absolute lexically: no symlink resolved, so it keeps its spelling."""
    return Path(os.path.abspath(path))  # noqa: PTH100 - resolve() would follow symlinks


def _relative(path: Path, base: Path) -> str | None:
    """`path` under `base` as a POSIX path ("" for the base itself), else None.

    Compared as spelled first, then with symlinks resolved (macOS's /tmp -> /private/tmp:
    the working directory comes back resolved, a workspace variable may not).
    """
    for candidate, directory in ((path, base), (Path(os.path.realpath(path)), base.resolve())):
        with contextlib.suppress(ValueError):
            relative = PurePosixPath(candidate.relative_to(directory).as_posix())
            return "" if str(relative) == "." else str(relative)
    return None


def write_text_atomic(path: Path, text: str | Iterable[str]) -> None:
    """Write `text` (UTF-8, `\\n` line ends; or its pieces, in order) to `path` through a
    temporary file beside it.

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
            for piece in [text] if isinstance(text, str) else text:
                handle.write(piece)
        Path(tmp).replace(path)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                Path(tmp).unlink()
        raise UsageError(f"cannot write {path}: {exc.strerror or exc}", "check the path") from exc
