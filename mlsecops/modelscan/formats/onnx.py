"""ONNX models: external data paths that leave the model directory, and custom op domains.

An ONNX tensor may keep its bytes in another file named by a relative `location`; a path
that is absolute or climbs out of the model's directory makes the loader read (and, for
some tools, write) files elsewhere. Ops from a domain outside the standard ones need a
custom-op library the loader registers: informational, but worth knowing.
"""

from __future__ import annotations

import mmap
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import BinaryIO

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.formats.base import Context, Data, Found, Handler
from mlsecops.modelscan.notes import model_finding
from mlsecops.modelscan.protobuf import LENGTH, WireError, fields, parses, text

EXTERNAL_PATH = "MLS-ONNX-EXTERNAL-PATH"
CUSTOM_DOMAIN = "MLS-ONNX-CUSTOM-DOMAIN"
MALFORMED = "MLS-ONNX-MALFORMED"

STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training",
     "com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental"}
)  # fmt: skip

# Field numbers from onnx.proto.
_MODEL_DOC, _MODEL_GRAPH, _MODEL_OPSET, _MODEL_METADATA, _MODEL_FUNCTIONS = 6, 7, 8, 14, 25
_GRAPH_NODE, _GRAPH_INITIALIZER, _GRAPH_SPARSE_INITIALIZER = 1, 5, 15
_NODE_OP_TYPE, _NODE_ATTRIBUTE, _NODE_DOMAIN = 4, 5, 7
_ATTR_TENSOR, _ATTR_GRAPH, _ATTR_TENSORS, _ATTR_GRAPHS = 5, 6, 10, 11
_ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS = 22, 23
_SPARSE_VALUES, _SPARSE_INDICES = 1, 2
_TENSOR_NAME, _TENSOR_EXTERNAL = 8, 13
_FUNCTION_NODE, _FUNCTION_DOMAIN = 7, 10
_OPSET_DOMAIN = 1


MAX_GRAPH_DEPTH = 100  # protobuf's own recursion limit: deeper, the loader refuses the file
MAX_STRINGS = 1024  # metadata strings handed to the string collector


class NotOnnx(ValueError):
    """The bytes do not parse as an ONNX ModelProto."""


@dataclass
class OnnxFacts:
    """What matters in a model: external data, op domains, and its free-text strings."""

    external: list[tuple[str, str]] = field(default_factory=list)  # (tensor name, location)
    domains: dict[str, str] = field(default_factory=dict)  # custom domain -> an op_type in it
    function_domains: set[str] = field(default_factory=set)
    strings: list[tuple[str, str]] = field(default_factory=list)  # (where, text)


def read_model(data: memoryview) -> OnnxFacts:
    """Walk a ModelProto as protobuf parses it; raises NotOnnx when it is not one.

    Fields may come in any order and repeat (repeated graphs merge, as protobuf merges
    them); a known field with another wire type is an unknown field, skipped.
    """
    facts = OnnxFacts()
    # The walk returns its error rather than raising it: an exception in flight would keep
    # views of `data` alive (in its traceback), and an mmap cannot close under them.
    error = _walk(data, facts)
    if error:
        raise NotOnnx(error)
    return facts


def _walk(data: memoryview, facts: OnnxFacts) -> str:
    graphs: list[memoryview] = []
    try:
        for number, wire, value in fields(data):
            if wire != LENGTH or isinstance(value, int):
                continue
            if number == _MODEL_GRAPH:
                graphs.append(value)
            elif number == _MODEL_FUNCTIONS:
                _function(value, facts)
            else:
                _model_text(number, value, facts)
        if not graphs:
            return "no graph"
        for graph in graphs:
            _graph(graph, facts, depth=0)
    except WireError as exc:
        return str(exc)
    return ""


def _model_text(number: int, value: memoryview, facts: OnnxFacts) -> None:
    if len(facts.strings) >= MAX_STRINGS:
        return
    if number == _MODEL_DOC:
        facts.strings.append(("doc_string", text(value)))
    elif number == _MODEL_METADATA:
        entry = {sub: text(inner) for sub, _wire, inner in _length_fields(value)}
        facts.strings.append((f"metadata_props {entry.get(1, '')}", entry.get(2, "")))


@dataclass(frozen=True)
class Placement:
    """Where a model on disk keeps its external data, with symlinks resolved."""

    root: Path  # the model's directory
    files: dict[str, Path]  # each external data location that names a path at all


def place(facts: OnnxFacts, model_dir: Path) -> Placement:
    """Resolve the external data locations against the model's directory (once each)."""
    files = {
        location: Path(os.path.realpath(model_dir / location))
        for _, location in facts.external
        if "\0" not in location
    }
    return Placement(Path(os.path.realpath(model_dir)), files)


def findings_for(facts: OnnxFacts, target: str, placement: Placement | None) -> list[Finding]:
    """Findings for what `read_model` found; `placement` is None for a model in an archive.

    One finding per escaping location, however many tensors share it (their number is in
    the `occurrences` property, the first is named).
    """
    tensors: dict[str, list[str]] = {}
    for tensor, location in facts.external:
        tensors.setdefault(location, []).append(tensor)
    out: list[Finding] = []
    for location, names in tensors.items():
        reason = escapes(location, placement)
        if reason:
            out.append(_external_finding(target, location, names, reason))
    for domain, op_type in sorted(facts.domains.items()):
        if domain not in facts.function_domains:  # else: ops defined inside the model itself
            out.append(_domain_finding(target, domain, op_type))
    return out


def _external_finding(target: str, location: str, names: list[str], reason: str) -> Finding:
    tensor = names[0]
    others = f" (and {len(names) - 1} more tensors)" if len(names) > 1 else ""
    return model_finding(
        EXTERNAL_PATH, Severity.HIGH, target,
        "ONNX external data path leaves the model directory",
        f"Tensor {tensor!r}{others} keeps its data at {location!r}, which {reason}. "
        "Loading the model reads that file into the model's weights (a way to "
        "exfiltrate files such as credentials through a served model).",
        "Keep external data files next to the model with plain relative names; "
        "re-export the model with onnx.save(..., save_as_external_data=True).",
        package=location, location=f"initializer {tensor}", ecosystem="onnx",
        properties={"occurrences": str(len(names))},
    )  # fmt: skip


def _domain_finding(target: str, domain: str, op_type: str) -> Finding:
    return model_finding(
        CUSTOM_DOMAIN, Severity.LOW, target, f"ONNX model uses custom op domain {domain}",
        f"Ops such as {op_type!r} come from the domain {domain!r}, which is not part "
        "of ONNX: the runtime needs a custom-op library (native code) registered to "
        "run them.",
        "Make sure the custom-op library comes from a source you trust.",
        package=domain, location=f"op {op_type}", ecosystem="onnx",
    )  # fmt: skip


def escapes(location: str, placement: Placement | None) -> str:
    """Why `location` reads a file outside the model directory; "" when it stays inside.

    Decided by where the path resolves: `subdir/../weights.bin` stays inside, a symlink
    out does not. Backslashes count as separators too (they are on Windows).
    """
    if "\0" in location:
        return (
            "holds a NUL byte: a loader written in C stops the path there, so the file it "
            "opens is not the one the path names"
        )
    if PurePosixPath(location).is_absolute() or PureWindowsPath(location).is_absolute():
        return "is an absolute path"
    if PureWindowsPath(location).drive or location.startswith(("\\\\", "//")):
        return "names a drive or network share"
    normal = posixpath.normpath(location.replace("\\", "/"))
    if normal == ".." or normal.startswith("../"):
        return "climbs out of the model directory with '..'"
    if placement is not None and not placement.files[location].is_relative_to(placement.root):
        return "resolves (through a symlink) outside the model directory"
    return ""


def _graph(data: memoryview, facts: OnnxFacts, depth: int) -> None:
    if depth > MAX_GRAPH_DEPTH:
        raise WireError("graphs nested too deeply")
    for number, wire, value in fields(data):
        if wire != LENGTH or isinstance(value, int):
            continue
        if number == _GRAPH_NODE:
            _node(value, facts, depth)
        elif number == _GRAPH_INITIALIZER:
            _tensor(value, facts)
        elif number == _GRAPH_SPARSE_INITIALIZER:
            _sparse(value, facts)


def _node(data: memoryview, facts: OnnxFacts, depth: int) -> None:
    op_type, domain = "", ""
    for number, wire, value in fields(data):
        if wire != LENGTH or isinstance(value, int):
            continue
        if number == _NODE_OP_TYPE:
            op_type = text(value)
        elif number == _NODE_DOMAIN:
            domain = text(value)
        elif number == _NODE_ATTRIBUTE:
            for sub, _wire, inner in _length_fields(value):
                if sub in (_ATTR_TENSOR, _ATTR_TENSORS):
                    _tensor(inner, facts)
                elif sub in (_ATTR_GRAPH, _ATTR_GRAPHS):
                    _graph(inner, facts, depth + 1)
                elif sub in (_ATTR_SPARSE_TENSOR, _ATTR_SPARSE_TENSORS):
                    _sparse(inner, facts)
    if domain not in STANDARD_DOMAINS:
        facts.domains.setdefault(domain, op_type)


def _function(data: memoryview, facts: OnnxFacts) -> None:
    for number, _wire, value in _length_fields(data):
        if number == _FUNCTION_DOMAIN:
            facts.function_domains.add(text(value))
        elif number == _FUNCTION_NODE:
            _node(value, facts, depth=1)


def _tensor(data: memoryview, facts: OnnxFacts) -> None:
    name, location = "", None
    for number, _wire, value in _length_fields(data):
        if number == _TENSOR_NAME:
            name = text(value)
        elif number == _TENSOR_EXTERNAL:
            entry = {sub: text(inner) for sub, _w, inner in _length_fields(value)}
            if entry.get(1) == "location":
                location = entry.get(2, "")
    if location is not None:
        facts.external.append((name, location))


def _sparse(data: memoryview, facts: OnnxFacts) -> None:
    for number, _wire, value in _length_fields(data):
        if number in (_SPARSE_VALUES, _SPARSE_INDICES):
            _tensor(value, facts)


def _length_fields(data: memoryview) -> Iterator[tuple[int, int, memoryview]]:
    for number, wire, value in fields(data):
        if wire == LENGTH and not isinstance(value, int):
            yield number, wire, value


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for an ONNX model (read through an mmap when it is a file on disk)."""
    facts = _facts(data)
    if isinstance(facts, NotOnnx):
        return [malformed(data.where.target, str(facts))]
    target = data.where.target
    context.strings([Found.at(data.where, where, value) for where, value in facts.strings])
    placement = None
    if not data.where.in_archive and data.where.model_dir is not None:
        placement = place(facts, data.where.model_dir)
        context.external_files(list(placement.files.values()))
    return findings_for(facts, target, placement)


def _facts(data: Data) -> OnnxFacts | NotOnnx:
    """The parse, once: the sniff's when it ran one."""
    cached = data.sniffed.memo.get("onnx")
    if isinstance(cached, OnnxFacts | NotOnnx):
        return cached
    try:
        facts: OnnxFacts | NotOnnx = _parse(data)
    except NotOnnx as exc:
        facts = exc
    data.sniffed.memo["onnx"] = facts
    return facts


def _parse(data: Data) -> OnnxFacts:
    mapped = _mapped(data.on_disk) if data.on_disk is not None else None
    if mapped is None:
        return read_model(memoryview(data.random_access().read()))
    # mmap: a model of several GB is walked without reading its weights.
    with mapped, memoryview(mapped) as whole:
        return read_model(whole)


def _mapped(handle: BinaryIO) -> mmap.mmap | None:
    try:
        return mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):  # an empty file, or one that cannot be mapped
        return None


def malformed(target: str, why: str) -> Finding:
    """A file named .onnx that does not parse as an ONNX model."""
    return model_finding(
        MALFORMED, Severity.UNKNOWN, target, "ONNX model could not be parsed",
        f"This file is named like an ONNX model but does not parse as one ({why}), so "
        "it was not checked. An ONNX runtime would refuse it too.",
        "Re-export the model with onnx.save from a trusted source.", ecosystem="onnx",
    )  # fmt: skip


def _sniff(data: Data) -> bool:
    """Parse, do not pattern-match: the head must read as protobuf, then the whole as a model."""
    complete = data.size is not None and len(data.head) >= data.size
    if not parses(data.head, complete=complete):
        return False
    return isinstance(_facts(data), OnnxFacts)


HANDLER = Handler("onnx", _sniff, scan, suffixes=(".onnx",))
