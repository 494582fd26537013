"""The model scanner's entry point: walk the paths, detect each file's format, dispatch.

Nothing here loads a model: every format is read as data by its own module. Files are
found by walking directories without following symlinks out of them, and each file's
format comes from its content, so a renamed pickle is still scanned as one.
"""

from __future__ import annotations

import dataclasses
import io
import mmap
import os
import stat
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from mlsecops.errors import UsageError
from mlsecops.findings import Finding, Kind, Severity
from mlsecops.modelscan import gguf, onnx_files, safetensors_files
from mlsecops.modelscan.chat_templates import MAX_TEXT, template_findings
from mlsecops.modelscan.detect import COMPRESSED, HEAD_SIZE, Format, might_be_old_pickle, sniff
from mlsecops.modelscan.hdf5 import h5_findings, load_h5py
from mlsecops.modelscan.joblib_arrays import after_build
from mlsecops.modelscan.keras_config import ConfigSource, config_findings
from mlsecops.modelscan.numpy_files import NpyError, read_header
from mlsecops.modelscan.pickle_findings import Loader, PickleSource, judge
from mlsecops.modelscan.pickle_ops import Stream, analyze_all, is_legacy_torch
from mlsecops.modelscan.rules import Rules, default_rules
from mlsecops.modelscan.streams import decompress
from mlsecops.modelscan.zipread import Member, MemberError, list_members, open_member
from mlsecops.paths import display_path

UNKNOWN_FORMAT = "MLS-MODEL-UNKNOWN-FORMAT"
UNREADABLE = "MLS-MODEL-UNREADABLE"
SYMLINK_OUTSIDE = "MLS-MODEL-SYMLINK-OUTSIDE"
ARCHIVE_DAMAGED = "MLS-ARCHIVE-DAMAGED"
NUMPY_MALFORMED = "MLS-NUMPY-MALFORMED"

MAX_DEPTH = 4  # archives in archives in pickles...: deeper than any real model nests
MAX_IN_MEMORY = 512 * 1024 * 1024  # archive members that must be read whole to be parsed
MAX_OLD_PICKLE_PROBE = 64 * 1024 * 1024  # a magic-less pickle is parsed whole to detect it
_SKIPPED_DIRS = frozenset({".git", ".hg", ".svn"})  # version control data, never loaded


def check_model_paths(paths: Sequence[Path]) -> None:
    """Raise UsageError for a `--model` path that does not exist (before any scan runs)."""
    for path in paths:
        if not path.exists():
            raise UsageError(
                f"--model {path}: no such file or directory",
                "pass an existing model file or directory",
            )


def scan_models(paths: Sequence[Path], extra_allowed_globals: Sequence[str] = ()) -> list[Finding]:
    """Scan model files and directories for code that runs when the model is loaded.

    `extra_allowed_globals` are project-trusted pickle globals (`module.Class` or
    `module:name` patterns); they never override the deny-list. Raises UsageError for a
    path that does not exist; every other problem is a finding, never an exception.
    """
    check_model_paths(paths)
    scanner = _Scanner(default_rules().with_allowed(extra_allowed_globals), load_h5py)
    findings: list[Finding] = []
    for path in paths:
        findings += scanner.scan_path(path)
    return findings + scanner.unexplained_files()


@dataclass(frozen=True)
class _Where:
    target: str  # display path, plus `:member` inside archives
    model_dir: Path | None = None  # the directory external files are resolved against
    depth: int = 0
    in_archive: bool = False
    loader: Loader = Loader.PICKLE
    prefix: str = ""  # location prefix for data nested inside a pickle

    def member(self, name: str, loader: Loader) -> _Where:
        return dataclasses.replace(
            self, target=f"{self.target}:{name}", depth=self.depth + 1, in_archive=True,
            loader=loader,
        )  # fmt: skip


class _Scanner:
    def __init__(self, rules: Rules, h5py_loader: Callable[[], Any | None]) -> None:
        self.rules = rules
        self._h5py_loader = h5py_loader
        self._h5py: list[Any | None] = []  # h5py pulls in numpy: import it only when needed
        self.seen: set[str] = set()
        # Files of unknown format wait here until the whole scan is done: an ONNX model
        # may name one as its external data, which makes it a known weights file.
        self.unknown: dict[str, Finding] = {}
        self.external_data: set[str] = set()

    def unexplained_files(self) -> list[Finding]:
        return [f for real, f in self.unknown.items() if real not in self.external_data]

    # -- walking ----------------------------------------------------------------------

    def scan_path(self, path: Path) -> list[Finding]:
        if not path.is_dir():
            return self.scan_file(path)
        findings: list[Finding] = []
        for file, problem in _walk(path):
            if problem:
                findings.append(_symlink_finding(file, problem))
            else:
                findings += self.scan_file(file)
        return findings

    def scan_file(self, path: Path) -> list[Finding]:
        real = os.path.realpath(path)
        if real in self.seen:
            return []
        self.seen.add(real)
        where = _Where(display_path(path), model_dir=path.parent)
        try:
            if not stat.S_ISREG(path.stat().st_mode):
                # A FIFO or device would block or never end; no loader reads models from one.
                return [_unreadable(where.target, "it is not a regular file")]
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                found = self.scan_data(handle, size, where)
        except OSError as exc:
            return [_unreadable(where.target, f"it could not be read ({exc.strerror or exc})")]
        except RecursionError:
            # Only a crafted file nests this deep; say so rather than crash the whole scan.
            return [_unreadable(where.target, "its structure nests deeper than Python can follow")]
        if len(found) == 1 and found[0].id == UNKNOWN_FORMAT:
            self.unknown[real] = found[0]
            return []
        return found

    # -- one piece of data ------------------------------------------------------------

    def scan_data(self, handle: BinaryIO, size: int, where: _Where) -> list[Finding]:
        head = handle.read(HEAD_SIZE)
        whole = None
        if might_be_old_pickle(head) and len(head) < size <= MAX_OLD_PICKLE_PROBE:
            whole = head + handle.read()  # no magic number: only a full parse can tell
        handle.seek(0)
        fmt = sniff(head, whole)
        if fmt is Format.PICKLE:
            return self.scan_pickle(_peekable(handle), where)
        if fmt is Format.ZIP:
            return self.scan_zip(handle, where)
        if fmt is Format.NUMPY:
            return self.scan_npy(_peekable(handle), where)
        if fmt is Format.HDF5:
            if not self._h5py:
                self._h5py.append(self._h5py_loader())
            return h5_findings(handle, where.target, self.rules, self._h5py[0])
        if fmt is Format.SAFETENSORS:
            problems = safetensors_files.check(handle, size)
            return safetensors_files.findings_for(problems, where.target)
        if fmt is Format.GGUF:
            try:
                return gguf.findings_for(gguf.templates(handle, size), where.target)
            except gguf.GgufError as exc:
                return [gguf.malformed(where.target, str(exc))]
        if fmt is Format.ONNX:
            found = self.scan_onnx(handle, where)
            if found is not None:
                return found
        if fmt in COMPRESSED:
            return self.scan_compressed(fmt, handle, where)
        if fmt is Format.TEXT and not where.in_archive and size <= MAX_TEXT:
            return template_findings(handle.read(), where.target, where.target)
        if fmt in (Format.TEXT, Format.EMPTY) or where.in_archive:
            return []  # text holds no code; unknown archive members are the archive's data
        return [_unknown(where.target, head)]

    def scan_pickle(self, stream: Stream, where: _Where) -> list[Finding]:
        segments = analyze_all(stream, after_build)
        loader = where.loader
        if segments and is_legacy_torch(segments[0]):
            loader = Loader.TORCH
        source = PickleSource(where.target, loader, where.prefix)
        return judge(segments, self.rules, source, nested=self._nested(where))

    def scan_npy(self, stream: Stream, where: _Where) -> list[Finding]:
        try:
            header = read_header(stream)
        except NpyError as exc:
            return [_numpy_malformed(where.target, str(exc))]
        if not header.has_objects:
            return []
        segments = analyze_all(stream, after_build)
        source = PickleSource(where.target, Loader.NUMPY, where.prefix)
        return judge(segments, self.rules, source, nested=self._nested(where))

    def scan_zip(self, handle: BinaryIO, where: _Where) -> list[Finding]:
        members, note = list_members(handle)
        findings = [_damaged(where.target, note)] if note else []
        names = {member.name for member in members}
        keras = "config.json" in names and "metadata.json" in names
        torch = any(name == "data.pkl" or name.endswith("/data.pkl") for name in names)
        for member in members:
            if keras and (member.name.endswith(".h5") or member.name == "metadata.json"):
                continue  # Keras v3 keeps only weights there; its code lives in config.json
            loader = Loader.TORCH if torch else where.loader
            try:
                if keras and member.name == "config.json":
                    text = self._read_member(handle, member)
                    source = ConfigSource(f"{where.target}:{member.name}", "config.json")
                    findings += config_findings(text, source, self.rules)
                else:
                    findings += self.scan_member(handle, member, where.member(member.name, loader))
            except (MemberError, OSError, EOFError, ValueError) as exc:
                findings.append(
                    _unreadable(
                        f"{where.target}:{member.name}", f"the member is unreadable ({exc})"
                    )
                )
        return findings

    def scan_member(self, handle: BinaryIO, member: Member, where: _Where) -> list[Finding]:
        if where.depth > MAX_DEPTH:
            return [_unreadable(where.target, "it is nested deeper than this scanner follows")]
        head = open_member(handle, member).read(HEAD_SIZE)
        whole = None
        if might_be_old_pickle(head) and len(head) < member.file_size <= MAX_OLD_PICKLE_PROBE:
            whole = open_member(handle, member).read()
        fmt = sniff(head, whole)
        # A loader unpickles data.pkl whatever it looks like, so the name forces it here.
        named_pickle = member.name.endswith((".pkl", ".pickle"))
        if fmt is Format.PICKLE or named_pickle:
            return self.scan_pickle(open_member(handle, member), where)
        if fmt is Format.NUMPY:
            return self.scan_npy(open_member(handle, member), where)
        if fmt in (Format.TEXT, Format.EMPTY, Format.UNKNOWN):
            return []
        data = self._read_member(handle, member)
        return self.scan_data(io.BytesIO(data), len(data), where)

    def scan_onnx(self, handle: BinaryIO, where: _Where) -> list[Finding] | None:
        try:
            if isinstance(handle, io.BytesIO):
                facts = onnx_files.read_model(handle.getbuffer())
            else:
                # mmap: a model of several GB is walked without reading its weights.
                with (
                    mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as view,
                    memoryview(view) as data,
                ):
                    facts = onnx_files.read_model(data)
        except (onnx_files.NotOnnx, OSError, ValueError, BufferError):
            return None
        model_dir = None if where.in_archive else where.model_dir
        if model_dir is not None:
            self.external_data.update(
                os.path.realpath(model_dir / location) for _tensor, location in facts.external
            )
        return onnx_files.findings_for(facts, where.target, model_dir)

    def scan_compressed(self, fmt: Format, handle: BinaryIO, where: _Where) -> list[Finding]:
        def fresh() -> Stream:
            handle.seek(0)
            return decompress(fmt.value, handle)

        try:
            head = fresh().read(HEAD_SIZE)
            whole = None
            if might_be_old_pickle(head):
                # No magic number: parse the content to tell a pickle from, say, a CSV.
                probe = fresh().read(MAX_OLD_PICKLE_PROBE + 1)
                whole = probe if len(probe) <= MAX_OLD_PICKLE_PROBE else None
            inner = sniff(head, whole)
            if inner is Format.PICKLE or (whole is None and might_be_old_pickle(head)):
                return self.scan_pickle(fresh(), where)
            if inner is Format.NUMPY:
                return self.scan_npy(fresh(), where)
        except (OSError, EOFError, ValueError, zlib.error) as exc:
            if where.in_archive:
                return []
            return [_unreadable(where.target, f"its {fmt.value} data is corrupt ({exc})")]
        if where.in_archive or inner in (Format.TEXT, Format.EMPTY):
            return []
        return [_unknown(where.target, head, f"{fmt.value}-compressed data")]

    # -- helpers ----------------------------------------------------------------------

    def _read_member(self, handle: BinaryIO, member: Member) -> bytes:
        if member.file_size > MAX_IN_MEMORY:
            raise MemberError(f"it is larger than {MAX_IN_MEMORY >> 20} MiB")
        return open_member(handle, member).read(MAX_IN_MEMORY)

    def _nested(self, where: _Where) -> Any:
        def nested(blob: bytes, source: PickleSource) -> list[Finding]:
            if where.depth >= MAX_DEPTH:
                return []
            inner = dataclasses.replace(
                where, depth=where.depth + 1, in_archive=True, prefix=source.where
            )
            head = blob[:HEAD_SIZE]
            fmt = sniff(head, blob)
            if fmt is Format.PICKLE:
                return self.scan_pickle(_peekable(io.BytesIO(blob)), inner)
            if fmt in (Format.ZIP, Format.NUMPY):
                found = self.scan_data(io.BytesIO(blob), len(blob), inner)
                return [_prefixed(finding, source.where) for finding in found]
            return []

        return nested


def _walk(root: Path) -> Iterator[tuple[Path, str]]:
    """(file, problem) for every file under `root`, never leaving it through a symlink."""
    real_root = Path(os.path.realpath(root))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIPPED_DIRS)
        here = Path(dirpath)
        linked_dirs = [d for d in dirnames if (here / d).is_symlink()]
        for name in sorted(filenames) + linked_dirs:
            path = here / name
            if not path.is_symlink():
                yield path, ""
                continue
            real = Path(os.path.realpath(path))
            if real != real_root and real_root not in real.parents:
                yield path, f"it is a symlink to {real}, outside the scanned directory"
            elif not real.exists():
                yield path, "it is a broken symlink"
            elif real.is_file():
                yield path, ""
            # a symlink to a directory inside the root: its files are walked where they live


def _peekable(handle: BinaryIO) -> Stream:
    if hasattr(handle, "peek"):
        return cast(Stream, handle)
    return io.BufferedReader(cast(Any, handle))


def _prefixed(finding: Finding, prefix: str) -> Finding:
    if not prefix:
        return finding
    return dataclasses.replace(finding, location=f"{prefix}{finding.location}".rstrip(": "))


def _info(rule: str, severity: Severity, target: str, title: str, description: str,
          fix: str) -> Finding:  # fmt: skip
    return Finding(
        id=rule, kind=Kind.MODEL, severity=severity, target=target, title=title,
        description=description, fix=fix,
    )  # fmt: skip


def _unknown(target: str, head: bytes, what: str = "") -> Finding:
    shown = what or f"data starting with {head[:8].hex(' ')}"
    return _info(
        UNKNOWN_FORMAT, Severity.UNKNOWN, target,
        "File of unknown format among the model files",
        f"This file ({shown}) is none of the model formats the scanner reads, so it was "
        "not checked. It is reported so that nothing in a model directory goes unseen.",
        "If a loader reads this file, convert the model to a format that holds no code "
        "(safetensors, ONNX); otherwise remove it from the model directory.",
    )  # fmt: skip


def _unreadable(target: str, why: str) -> Finding:
    return _info(
        UNREADABLE, Severity.UNKNOWN, target, "Model file could not be scanned",
        f"This file was not scanned: {why}.",
        "Make the file readable to the scan (permissions, a complete download) and scan again.",
    )  # fmt: skip


def _symlink_finding(path: Path, problem: str) -> Finding:
    return _info(
        SYMLINK_OUTSIDE, Severity.LOW, display_path(path), "Symlink not followed",
        f"This entry was not scanned: {problem}. The scanner never follows links out of a "
        "model directory, but a loader that opens this path would read the file it points to.",
        "Replace the link with the file itself, or scan the link's target as its own --model.",
    )  # fmt: skip


def _damaged(target: str, note: str) -> Finding:
    return _info(
        ARCHIVE_DAMAGED, Severity.UNKNOWN, target, "Archive structure is damaged",
        f"In this zip archive {note}. What was found there was still scanned; a strict loader "
        "would refuse the file, a lenient one might read it differently.",
        "Re-create the archive from a trusted source.",
    )  # fmt: skip


def _numpy_malformed(target: str, why: str) -> Finding:
    return _info(
        NUMPY_MALFORMED, Severity.UNKNOWN, target, "NumPy file header could not be read",
        f"The .npy header could not be read ({why}), so the array was not checked.",
        "Re-create the file with numpy.save from a trusted source.",
    )  # fmt: skip
