"""How model data hidden inside other data starts.

The magic numbers of the formats a pickle can carry inside itself (another pickle, a zip
such as a torch checkpoint, a .npy, compressed data), and the opcodes a protocol 0 or 1
pickle, which has no magic, can start with.
"""

from __future__ import annotations

PICKLE_MAGIC = tuple(bytes([0x80, proto]) for proto in range(6))
BLOB_MAGIC = (
    *PICKLE_MAGIC,
    b"PK\x03\x04",
    b"\x93NUMPY",
    b"\x1f\x8b\x08",
    b"BZh",
    b"\xfd7zXZ\x00",
)
# The opcodes a pickle with no PROTO header can start with. Protocol 0/1 pickles have none,
# and the unpickler does not need it for any other opcode either: every opcode that can run
# on an empty stack (pure Python's INST imports its name before it looks for the MARK).
OLD_PICKLE_START = frozenset(b"(}])cNIJKLMSTUVXFGPBCi\x88\x89\x8a\x8b\x8c\x8d\x8e\x8f\x95\x96hgpqr")


def starts_like_model_data(data: bytes) -> bool:
    """True when `data` starts with a known magic or like a magic-less pickle."""
    return data.startswith(BLOB_MAGIC) or (bool(data) and data[0] in OLD_PICKLE_START)


def could_start_with_magic(prefix: bytes) -> bool:
    """True when the first bytes of some data could begin one of the magic numbers."""
    return any(magic.startswith(prefix[: len(magic)]) for magic in BLOB_MAGIC)
