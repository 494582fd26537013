"""THE table of model format handlers, in sniffing order (see the package docstring)."""

from __future__ import annotations

from mlsecops.modelscan.formats import (
    compressed,
    gguf,
    hdf5,
    npy,
    onnx,
    pickles,
    safetensors,
    text,
    zips,
)
from mlsecops.modelscan.formats.base import Handler

HANDLERS: tuple[Handler, ...] = (
    # First: a header length of 128, 384, 640... starts 80 00-05, like PROTO. No pickle
    # hides there: the length's high bytes are zeros, which no unpickler gets past.
    safetensors.HANDLER,
    pickles.HANDLER,
    zips.HANDLER,
    npy.HANDLER,
    hdf5.HANDLER,
    gguf.HANDLER,
    compressed.HANDLER,
    onnx.HANDLER,  # parses: after every format with a magic number
    pickles.OLD_PROTOCOL,  # parses: a protocol 0/1 pickle can only be told from text so
    text.HANDLER,
)

BY_NAME: dict[str, Handler] = {handler.name: handler for handler in HANDLERS}
