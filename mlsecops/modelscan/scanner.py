"""The model scanner: walk the paths, sniff each piece of data, dispatch through the table.

Nothing here loads a model, and nothing here knows a format: `formats/` holds one handler
per format, in one table. Files are found by walking directories without following
symlinks out of them; each file's format comes from its content (a renamed pickle is
still scanned as one), and what is found inside it (archive members, decompressed data,
bytes in a pickle) comes back here to be dispatched one level deeper, up to MAX_DEPTH.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from mlsecops.core.findings import Finding
from mlsecops.errors import UsageError
from mlsecops.modelscan import notes
from mlsecops.modelscan.budget import Budget
from mlsecops.modelscan.data import file_data
from mlsecops.modelscan.formats import zips
from mlsecops.modelscan.formats.base import (
    Accept,
    Data,
    Found,
    Handler,
    ScanOptions,
    TooLarge,
    Where,
)
from mlsecops.modelscan.formats.table import BY_NAME, HANDLERS
from mlsecops.modelscan.rules import Rules, default_rules
from mlsecops.modelscan.walk import walk
from mlsecops.modelscan.zipread import ends_like_zip
from mlsecops.paths import display_path

MAX_DEPTH = 4  # archives in archives in pickles...: deeper than any real model nests


@dataclass(frozen=True)
class FileScan:
    """One file the scan met, as findings name it, and the findings in it."""

    target: str
    findings: tuple[Finding, ...]
    format: str = ""  # the handler that read it (`formats/table`), "" when none did


def check_model_paths(paths: Sequence[Path]) -> None:
    """Raise UsageError for a `--model` path that does not exist (before any scan runs)."""
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"--model {printable(str(path))}: no such file or directory",
                "pass an existing model file or directory",
            )


def scan_models(paths: Sequence[Path], extra_allowed_globals: Sequence[str] = ()) -> list[Finding]:
    """Every finding in the model files and directories at `paths` (see `scan_files`)."""
    options = ScanOptions(allowed_globals=tuple(extra_allowed_globals))
    return [finding for file in scan_files(paths, options) for finding in file.findings]


def scan_files(paths: Sequence[Path], options: ScanOptions | None = None) -> list[FileScan]:
    """Scan model files and directories for code that runs when the model is loaded.

    One FileScan per file met. Raises UsageError for a path that does not exist; every
    other problem is a finding, never an exception.
    """
    check_model_paths(paths)
    scanner = _Scanner(options or ScanOptions())
    for path in paths:
        scanner.scan_path(path)
    return scanner.results()


class _Scanner:
    """Runs the scan and is the handlers' Context."""

    def __init__(self, options: ScanOptions) -> None:
        self._options = options
        self._rules = default_rules().with_allowed(options.allowed_globals)
        self._seen: set[str] = set()
        self._files: list[tuple[str, FileScan]] = []  # (real path, result), in walk order
        # Files of unknown format are judged when the whole scan is done: an ONNX model
        # may name one as its external data, which makes it a known weights file.
        self._external_data: set[str] = set()

    # -- the Context handlers see ------------------------------------------------------

    @property
    def rules(self) -> Rules:
        """The pickle allow/deny lists, with the project's own trusted globals."""
        return self._rules

    @property
    def options(self) -> ScanOptions:
        """The scan's options."""
        return self._options

    def identify(self, data: Data, accept: Accept = Accept.ANY, claim: str = "") -> Handler | None:
        """The first handler whose sniff says yes, else the one the name claims, else text."""
        handlers = [h for h in HANDLERS if accept is Accept.ANY or h.loadable]
        for handler in handlers:
            if not handler.fallback and handler.sniff(data):
                return handler
        if claim and claim in BY_NAME:
            return BY_NAME[claim]
        name = data.sniffed.name.lower()
        for handler in handlers:
            if handler.suffixes and name.endswith(handler.suffixes):
                return handler
        return next((h for h in handlers if h.fallback and h.sniff(data)), None)

    def scan(self, data: Data, accept: Accept = Accept.ANY, claim: str = "") -> list[Finding]:
        """Dispatch `data` to its handler; past MAX_DEPTH, a finding instead."""
        return self._dispatch(data, self.identify(data, accept, claim))

    def _top_level(self, data: Data) -> tuple[Handler | None, list[Finding]]:
        """A file's handler and findings; a file that ends like a zip is read as one too.

        zipfile (so Keras) finds an archive by its end record: a zip behind prepended bytes,
        or a polyglot that is another format at its start and a zip at its end.
        """
        handler = self.identify(data)
        if handler is zips.HANDLER or not ends_like_zip(data.random_access()):
            return handler, self._dispatch(data, handler)
        if handler is None:
            return zips.HANDLER, self._dispatch(data, zips.HANDLER)
        note = notes.damaged(data.where.target, "the file is also a zip archive (a polyglot)")
        return handler, [*self._dispatch(data, handler), note, *self._dispatch(data, zips.HANDLER)]

    def _dispatch(self, data: Data, handler: Handler | None) -> list[Finding]:
        where = data.where
        if handler is None:
            return [] if where.in_archive else [notes.unknown(where.target, data.head)]
        if where.depth > MAX_DEPTH and not handler.fallback:
            found = [notes.too_deep(where.target, "", MAX_DEPTH)]
        else:
            try:
                found = handler.scan(data, self)
            except TooLarge as exc:
                found = [notes.too_large(where.target, exc.what, exc.limit)]
        return where.place(found)

    def strings(self, found: list[Found]) -> None:
        """Hand strings read from a model to the collector, if the caller gave one."""
        if self._options.strings is not None and found:
            self._options.strings(found)

    def external_files(self, paths: list[Path]) -> None:
        """Files an ONNX model names as its external data: known, not unknown."""
        self._external_data.update(str(path) for path in paths)

    # -- walking ----------------------------------------------------------------------

    def scan_path(self, path: Path) -> None:
        """Scan a file, or every file under a directory."""
        if not path.is_dir():
            self._scan_file(path)
            return
        shown: dict[Path, str] = {}  # each directory's display path, computed once
        for file, problem, real in walk(path):
            parent = file.parent
            if parent not in shown:
                shown[parent] = display_path(parent)
            target = printable(_child(shown[parent], file.name))
            if problem:
                found = (notes.symlink_outside(target, problem),)
                self._files.append((str(file), FileScan(target, found)))
            else:
                self._scan_file(file, real, target)

    def results(self) -> list[FileScan]:
        """Every file's result; an unknown file an ONNX model uses as data is quiet."""
        out = []
        for real, result in self._files:
            if real in self._external_data and _only_unknown(result.findings):
                result = dataclasses.replace(result, findings=())
            out.append(result)
        return out

    def _scan_file(self, path: Path, real: str = "", target: str = "") -> None:
        real = real or os.path.realpath(path)
        if real in self._seen:
            return
        self._seen.add(real)
        target = target or printable(display_path(path))
        self._files.append((real, self._scan_one(path, target)))

    def _scan_one(self, path: Path, target: str) -> FileScan:
        handler = None
        try:
            status = path.stat()
            if not stat.S_ISREG(status.st_mode):
                # A FIFO or device would block or never end; no loader reads models from one.
                return FileScan(target, (notes.unreadable(target, "it is not a regular file"),))
            # The pickle reader's budgets for everything read from this file.
            where = Where(target, model_dir=path.parent, budget=Budget.for_file(status.st_size))
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                data = file_data(handle, size, where, printable(path.name))
                handler, found = self._top_level(data)
        except OSError as exc:
            found = [notes.unreadable(target, f"it could not be read ({exc.strerror or exc})")]
        except RecursionError:
            # Only a crafted file nests this deep; say so rather than crash the whole scan.
            found = [notes.unreadable(target, "its structure nests deeper than Python can follow")]
        except Exception as exc:  # one bad file must not end the whole scan
            found = [notes.internal_error(target, exc)]
        return FileScan(target, tuple(found), handler.name if handler else "")


def file_format(handle: BinaryIO, size: int, name: str) -> str:
    """The name of the handler a scan would read this open file with ("" when none would):
    what the ML-BOM gives as a model file's format, without scanning it."""
    data = file_data(handle, size, Where(name), printable(name))
    handler = _Scanner(ScanOptions()).identify(data)
    return handler.name if handler else ""


def _child(directory: str, name: str) -> str:
    """`name` in `directory` as display_path would show it, from the directory's."""
    return name if directory == "." else f"{directory.rstrip('/')}/{name}"


def printable(text: str) -> str:
    """A path as text that can be written anywhere: bytes that are not UTF-8 as `\\xNN`."""
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def _only_unknown(findings: tuple[Finding, ...]) -> bool:
    return bool(findings) and all(f.id == notes.UNKNOWN_FORMAT for f in findings)
