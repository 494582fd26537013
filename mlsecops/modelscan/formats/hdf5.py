"""Keras `.h5` files: the model config sits in an HDF5 attribute, read with h5py if present.

h5py is an optional extra (`mlsecops[h5]`). Without it the scanner still searches the raw
bytes for a Lambda layer (attributes are stored uncompressed) and says plainly that the
full check was skipped, so a missing extra never reads as "clean".
"""

from __future__ import annotations

import functools
import importlib
from typing import Any, BinaryIO

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.data import nested_blob
from mlsecops.modelscan.formats.base import Context, Data, Found, Handler
from mlsecops.modelscan.keras_config import (
    ECOSYSTEM,
    LAMBDA,
    ConfigSource,
    NestedBlob,
    config_findings,
)
from mlsecops.modelscan.notes import model_finding
from mlsecops.modelscan.pickle_findings import Loader
from mlsecops.modelscan.rules import Rules

SKIPPED = "MLS-H5-SKIPPED"
UNREADABLE = "MLS-H5-UNREADABLE"
_CONFIG_ATTRIBUTES = ("model_config", "training_config")
_LAMBDA_MARKERS = (b'"class_name": "Lambda"', b'"class_name":"Lambda"')
_CHUNK = 1 << 20
_MAGIC = b"\x89HDF\r\n\x1a\n"


@functools.cache
def load_h5py() -> Any | None:
    """The h5py module, or None when the extra is not installed (imported on first need:
    it pulls in numpy)."""
    try:
        return importlib.import_module("h5py")
    except ImportError:
        return None


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for a Keras .h5 model's config (h5py when installed, else a byte search)."""
    h5py = load_h5py() if context.options.use_h5py else None
    texts: list[tuple[str, str]] = []
    nested = nested_blob(data.where, context, Loader.TORCH)
    found = h5_findings(data.random_access(), data.where.target, context.rules, h5py, texts, nested)
    context.strings([Found.at(data.where, f"HDF5 attribute {n}", t) for n, t in texts])
    return found


def _sniff(data: Data) -> bool:
    return any(data.head[offset:].startswith(_MAGIC) for offset in (0, 512, 1024, 2048))


HANDLER = Handler("hdf5", _sniff, scan)


def h5_findings(
    source: BinaryIO,
    target: str,
    rules: Rules,
    h5py: Any | None,
    texts: list[tuple[str, str]] | None = None,
    nested: NestedBlob | None = None,
) -> list[Finding]:
    """Findings for an HDF5 file read from `source`; `h5py` is the module (None: not
    installed). The config texts read are appended to `texts`."""
    if h5py is None:
        return [_skipped(target), *_byte_search(source, target)]
    try:
        with h5py.File(source, "r") as handle:
            values = [
                (name, handle.attrs[name]) for name in _CONFIG_ATTRIBUTES if name in handle.attrs
            ]
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        return [
            model_finding(UNREADABLE, Severity.UNKNOWN, target, "HDF5 file could not be read",
                          f"h5py could not read this file ({exc}); it was not checked.",
                          "Check that the file is a complete HDF5 file.", ecosystem=ECOSYSTEM)
        ]  # fmt: skip
    findings: list[Finding] = []
    for name, value in values:
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
        if texts is not None:
            texts.append((name, text))
        config = ConfigSource(target, f"HDF5 attribute {name}", nested)
        findings += config_findings(text, config, rules)
    return findings


def _skipped(target: str) -> Finding:
    return model_finding(
        SKIPPED,
        Severity.UNKNOWN,
        target,
        "skipped: install mlsecops[h5] to check this .h5 model",
        "The Keras model config inside this HDF5 file can only be read with h5py, which is "
        "not installed; only a byte search for Lambda layers was done.",
        "pip install 'mlsecops[h5]' (or add h5py) and scan again.",
        ecosystem=ECOSYSTEM,
    )


def _byte_search(handle: BinaryIO, target: str) -> list[Finding]:
    handle.seek(0)
    tail = b""
    consumed = 0
    while chunk := handle.read(_CHUNK):
        window = tail + chunk
        for marker in _LAMBDA_MARKERS:
            found = window.find(marker)
            if found != -1:
                return [_lambda_by_bytes(target, consumed - len(tail) + found)]
        consumed += len(chunk)
        tail = window[-64:]  # a marker split across two chunks
    return []


def _lambda_by_bytes(target: str, offset: int) -> Finding:
    return model_finding(
        LAMBDA,
        Severity.HIGH,
        target,
        "Keras Lambda layer in an .h5 model",
        "The model config in this file declares a Lambda layer, whose marshalled Python "
        "bytecode Keras runs when it rebuilds the model (found by a byte search: h5py is "
        "not installed).",
        "Do not load this model unless you trust its author; replace the Lambda layer with "
        "reviewed custom layer code.",
        package="Lambda layer",
        location=f"byte offset {offset}",
        ecosystem=ECOSYSTEM,
    )
