"""Model data hidden as text: base64 or hex strings that decode to a pickle, zip or .npy.

A loader that does `pickle.loads(base64.b64decode(value))` on a string from a model file or
a JSON config runs whatever that pickle holds, and no byte of it looks like a pickle to a
scanner that does not decode. Every long enough string is checked by its first characters
(cheap), and decoded only when those decode to the start of model data.
"""

from __future__ import annotations

import base64
import binascii
import re

from mlsecops.modelscan.signatures import starts_like_model_data

MIN_LENGTH = 16  # shorter strings cannot hold a pickle that names and calls anything
BASE64 = "base64"
HEX = "hex"

_HEX = re.compile(rb"[0-9a-fA-F]+")
_B64 = re.compile(rb"[A-Za-z0-9+/]+={0,2}")
_B64_URL = re.compile(rb"[A-Za-z0-9_\-]+={0,2}")
_SPACE = re.compile(rb"\s+")


def decode_head(head: bytes) -> str | None:
    """The encoding when `head` (a string's first characters) decodes to model data's start."""
    if len(head) < 8:
        return None
    head = head[:8]
    if _HEX.fullmatch(head) and starts_like_model_data(bytes.fromhex(head.decode())):
        return HEX
    if _B64.fullmatch(head) or _B64_URL.fullmatch(head):
        start = base64.b64decode(head.replace(b"-", b"+").replace(b"_", b"/"))
        return BASE64 if starts_like_model_data(start) else None
    return None


def decode(value: str | bytes) -> tuple[str, bytes] | None:
    """(encoding, decoded bytes) when `value` is base64 or hex text of model data, else None."""
    if len(value) < MIN_LENGTH:
        return None
    if isinstance(value, str):
        if not value[:8].isascii():
            return None
        head = value[:8].encode("ascii")
    else:
        head = bytes(value[:8])
    encoding = decode_head(head)
    if encoding is None:
        return None
    text = value.encode("latin-1", "replace") if isinstance(value, str) else bytes(value)
    data = _decode_hex(text) if encoding == HEX else _decode_base64(text)
    return (encoding, data) if data else None


def _decode_hex(text: bytes) -> bytes:
    compact = _SPACE.sub(b"", text)
    if len(compact) % 2 or not _HEX.fullmatch(compact):
        return b""
    return bytes.fromhex(compact.decode("ascii"))


def _decode_base64(text: bytes) -> bytes:
    compact = _SPACE.sub(b"", text)
    if not (_B64.fullmatch(compact) or _B64_URL.fullmatch(compact)):
        return b""
    compact = compact.rstrip(b"=").replace(b"-", b"+").replace(b"_", b"/")
    if len(compact) % 4 == 1:
        return b""
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4))
    except (binascii.Error, ValueError):
        return b""
