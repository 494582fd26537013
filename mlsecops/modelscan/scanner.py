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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, cast

from mlsecops.core.findings import Finding
from mlsecops.errors import UsageError
from mlsecops.modelscan import gguf, notes, onnx_files, safetensors_files
from mlsecops.modelscan.chat_templates import MAX_TEXT, template_findings
from mlsecops.modelscan.detect import COMPRESSED, HEAD_SIZE, Format, sniff
from mlsecops.modelscan.hdf5 import h5_findings, load_h5py
from mlsecops.modelscan.joblib_arrays import after_build
from mlsecops.modelscan.keras_config import ConfigSource, config_findings
from mlsecops.modelscan.numpy_files import NpyError, holds_objects
from mlsecops.modelscan.pickle_findings import Loader, NestedScan, PickleSource, judge
from mlsecops.modelscan.pickle_ops import Segment, analyze_all, is_legacy_torch
from mlsecops.modelscan.rules import Rules, default_rules
from mlsecops.modelscan.streams import CorruptData, Stream, decompress, read_head
from mlsecops.modelscan.walk import walk
from mlsecops.modelscan.zipread import Member, MemberError, list_members, open_member
from mlsecops.paths import display_path

MAX_DEPTH = 4  # archives in archives in pickles...: deeper than any real model nests
MAX_IN_MEMORY = 512 * 1024 * 1024  # archive members that must be read whole to be parsed


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
    scanner = _Scanner(default_rules().with_allowed(extra_allowed_globals))
    findings: list[Finding] = []
    for path in paths:
        findings += scanner.scan_path(path)
    return findings + scanner.unexplained_files()


@dataclass(frozen=True)
class _Where:
    target: str  # display path of the file on disk (members go into Finding.member)
    model_dir: Path | None = None  # the directory external files are resolved against
    depth: int = 0  # archives and pickles this data is inside of
    loader: Loader = Loader.PICKLE
    prefix: str = ""  # location prefix for data nested inside a pickle

    @property
    def in_archive(self) -> bool:
        return self.depth > 0

    def member(self, loader: Loader) -> _Where:
        return dataclasses.replace(self, depth=self.depth + 1, loader=loader)


class _Scanner:
    def __init__(self, rules: Rules) -> None:
        self.rules = rules
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
        for file, problem in walk(path):
            if problem:
                findings.append(notes.symlink_outside(file, problem))
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
                return [notes.unreadable(where.target, "it is not a regular file")]
            with path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                found = self.scan_data(handle, size, where)
        except OSError as exc:
            return [notes.unreadable(where.target, f"it could not be read ({exc.strerror or exc})")]
        except RecursionError:
            # Only a crafted file nests this deep; say so rather than crash the whole scan.
            return [
                notes.unreadable(where.target, "its structure nests deeper than Python can follow")
            ]
        if len(found) == 1 and found[0].id == notes.UNKNOWN_FORMAT:
            self.unknown[real] = found[0]
            return []
        return found

    # -- one piece of data ------------------------------------------------------------

    def scan_data(self, handle: BinaryIO, size: int, where: _Where) -> list[Finding]:
        head = handle.read(HEAD_SIZE)

        def fresh() -> Stream:
            handle.seek(0)
            return _peekable(handle)

        fmt, parsed = _detect(head, fresh)
        handle.seek(0)
        if fmt is Format.PICKLE:
            return self.scan_pickle(parsed or fresh(), where)
        if fmt is Format.ZIP:
            return self.scan_zip(handle, where)
        if fmt is Format.NUMPY:
            return self.scan_npy(_peekable(handle), where)
        if fmt is Format.HDF5:
            return h5_findings(handle, where.target, self.rules, load_h5py())
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
        return [notes.unknown(where.target, head)]

    def scan_pickle(self, data: Stream | list[Segment], where: _Where) -> list[Finding]:
        """Judge a pickle stream, or the segments `_detect` already parsed from it."""
        segments = data if isinstance(data, list) else analyze_all(data, after_build)
        loader = where.loader
        if segments and is_legacy_torch(segments[0]):
            loader = Loader.TORCH
        source = PickleSource(where.target, loader, where.prefix)
        return judge(segments, self.rules, source, nested=self._nested(where))

    def scan_npy(self, stream: Stream, where: _Where) -> list[Finding]:
        try:
            if not holds_objects(stream):
                return []
        except (NpyError, CorruptData) as exc:
            return [notes.numpy_malformed(where.target, str(exc))]
        segments = analyze_all(stream, after_build)
        source = PickleSource(where.target, Loader.NUMPY, where.prefix)
        return judge(segments, self.rules, source, nested=self._nested(where))

    def scan_zip(self, handle: BinaryIO, where: _Where) -> list[Finding]:
        members, note = list_members(handle)
        findings = [notes.damaged(where.target, note)] if note else []
        names = {member.name for member in members}
        storage = _torch_storage(names)
        # Keras v3 (`.keras`) rebuilds the model from config.json alone, whatever else the
        # archive holds, so a root config.json is judged as a Keras config (JSON that names
        # no `module` or `class_name` gives no finding); its .h5 holds only weights.
        keras_v3 = "config.json" in names and "metadata.json" in names
        torch = any(_is_torch_pickle(name) for name in names)
        loader = Loader.TORCH if torch else where.loader
        for member in members:
            if (keras_v3 and member.name.endswith(".h5")) or storage(member.name):
                continue
            try:
                if member.name == "config.json":
                    text = self._read_member(handle, member)
                    source = ConfigSource(where.target, "config.json")
                    found = config_findings(text, source, self.rules)
                else:
                    found = self.scan_member(handle, member, where.member(loader))
            except (MemberError, CorruptData) as exc:
                found = [notes.unreadable(where.target, f"the member is unreadable ({exc})")]
            findings += _in_member(member.name, found)
        return findings

    def scan_member(self, handle: BinaryIO, member: Member, where: _Where) -> list[Finding]:
        head = read_head(open_member(handle, member), HEAD_SIZE)
        fmt, parsed = _detect(head, lambda: open_member(handle, member))
        # A loader unpickles data.pkl whatever it looks like, so the name forces it here.
        named_pickle = member.name.endswith((".pkl", ".pickle"))
        if fmt in (Format.TEXT, Format.EMPTY, Format.UNKNOWN) and not named_pickle:
            return []
        if too_deep := _too_deep(where):
            return too_deep
        if fmt is Format.PICKLE or named_pickle:
            return self.scan_pickle(parsed or open_member(handle, member), where)
        if fmt is Format.NUMPY:
            return self.scan_npy(open_member(handle, member), where)
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
        placement = None
        if not where.in_archive and where.model_dir is not None:
            placement = onnx_files.place(facts, where.model_dir)
            self.external_data.update(str(path) for path in placement.files.values())
        return onnx_files.findings_for(facts, where.target, placement)

    def scan_compressed(self, fmt: Format, handle: BinaryIO, where: _Where) -> list[Finding]:
        def fresh() -> Stream:
            handle.seek(0)
            return decompress(fmt.value, handle)

        try:
            head = read_head(fresh(), HEAD_SIZE)
            inner, parsed = _detect(head, fresh)
            if inner is Format.PICKLE:
                return self.scan_pickle(parsed or fresh(), where)
            if inner is Format.NUMPY:
                return self.scan_npy(fresh(), where)
        except CorruptData as exc:
            # Not one byte decodes (damage further on is reported with what preceded it).
            return [
                notes.unreadable(where.target, f"no byte of its {fmt.value} data decodes: {exc}")
            ]
        if where.in_archive or inner in (Format.TEXT, Format.EMPTY):
            return []
        return [notes.unknown(where.target, head, f"{fmt.value}-compressed data")]

    # -- helpers ----------------------------------------------------------------------

    def _read_member(self, handle: BinaryIO, member: Member) -> bytes:
        if member.file_size > MAX_IN_MEMORY:
            raise MemberError(f"it is larger than {MAX_IN_MEMORY >> 20} MiB")
        return open_member(handle, member).read(MAX_IN_MEMORY)

    def _nested(self, where: _Where) -> NestedScan:
        def nested(blob: bytes, source: PickleSource) -> list[Finding]:
            inner = dataclasses.replace(where, depth=where.depth + 1, prefix=source.where)
            fmt, parsed = _detect(blob[:HEAD_SIZE], lambda: _peekable(io.BytesIO(blob)))
            if fmt not in (Format.PICKLE, Format.ZIP, Format.NUMPY):
                return []
            if too_deep := _too_deep(inner):
                return too_deep
            if fmt is Format.PICKLE:
                return self.scan_pickle(parsed or _peekable(io.BytesIO(blob)), inner)
            found = self.scan_data(io.BytesIO(blob), len(blob), inner)
            return [_prefixed(finding, source.where) for finding in found]

        return nested


def _too_deep(where: _Where) -> list[Finding]:
    """The one depth limit, for archive members and nested pickles: past it, a finding."""
    if where.depth <= MAX_DEPTH:
        return []
    return [notes.too_deep(where.target, where.prefix.rstrip(": "), MAX_DEPTH)]


def _detect(head: bytes, fresh: Callable[[], Stream]) -> tuple[Format, list[Segment]]:
    """The format of data starting with `head`, and the pickle parse that decided it, if any.

    Data with no magic number that starts like a protocol 0/1 pickle can only be told from
    text by parsing it: the scan's own parse is run then, streamed over the whole data
    from `fresh()`, and handed back so that the scan does not read the data again.
    """
    parsed: list[Segment] = []

    def parse() -> Segment:
        parsed.extend(analyze_all(fresh(), after_build))
        return parsed[0] if parsed else Segment(start=0)

    return sniff(head, parse), parsed


def _is_torch_pickle(name: str) -> bool:
    return name == "data.pkl" or name.endswith("/data.pkl")


def _torch_storage(names: set[str]) -> Callable[[str], bool]:
    """Tells the `<dir>/data/<key>` members of a torch zip: raw tensor bytes, never unpickled.

    Skipping them spares parsing gigabytes of weights, and the false alarms of tensor bytes
    that happen to start like a pickle.
    """
    dirs = {name[: -len("data.pkl")] + "data" for name in names if _is_torch_pickle(name)}

    def storage(name: str) -> bool:
        directory, _, key = name.rpartition("/")
        return directory in dirs and key.isdigit()

    return storage


def _peekable(handle: BinaryIO) -> Stream:
    if hasattr(handle, "peek"):
        return cast(Stream, handle)
    return _Borrowed(cast(Any, handle))


class _Borrowed(io.BufferedReader):
    """A peekable reader over a handle it does not own: dropping it leaves the handle open."""

    def close(self) -> None:
        pass


def _in_member(name: str, findings: list[Finding]) -> list[Finding]:
    """The findings of an archive member: its name goes in front of any inner members'."""
    return [dataclasses.replace(f, member=(name, *f.member)) for f in findings]


def _prefixed(finding: Finding, prefix: str) -> Finding:
    if not prefix:
        return finding
    return dataclasses.replace(finding, location=f"{prefix}{finding.location}".rstrip(": "))
