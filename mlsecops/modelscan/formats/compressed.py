"""gzip, bzip2, xz/lzma and zlib compressed data (joblib's compressed dumps, `.pkl.gz`, ...).

The data is decompressed as a stream and its content dispatched like any other data, one
level deeper; compressed text is quiet, compressed data of no known format is reported
at the top level. Corrupt or cut-off data is scanned up to the damage (streams.py).
"""

from __future__ import annotations

from mlsecops.core.findings import Finding
from mlsecops.modelscan import notes
from mlsecops.modelscan.data import stream_data
from mlsecops.modelscan.formats.base import Context, Data, Handler
from mlsecops.modelscan.streams import CorruptData, Stream, decompress

_SUFFIXES = (".gz", ".gzip", ".bz2", ".xz", ".lzma", ".z", ".zlib")


def codec(head: bytes) -> str:
    """The compression `head` starts with ("" for none): a `streams.decompress` kind."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh") and head[3:4].isdigit():
        return "bzip2"
    if head.startswith((b"\xfd7zXZ\x00", b"\x5d\x00\x00")):
        return "xz"
    if len(head) >= 2 and head[0] == 0x78 and (head[0] << 8 | head[1]) % 31 == 0:
        return "zlib"  # joblib's default compressor writes a bare zlib stream
    return ""


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for the decompressed content."""
    kind = codec(data.head)
    handle = data.random_access()

    def fresh() -> Stream:
        handle.seek(0)
        return decompress(kind, handle)

    where = data.where
    try:
        inner = stream_data(fresh, where.inside(), _inner_name(data.sniffed.name))
    except CorruptData as exc:
        # Not one byte decodes (damage further on is reported with what preceded it).
        return [notes.unreadable(where.target, f"no byte of its {kind} data decodes: {exc}")]
    handler = context.identify(inner)
    if handler is None and not where.in_archive:
        return [notes.unknown(where.target, inner.head, f"{kind}-compressed data")]
    return context.scan(inner)


def _inner_name(name: str) -> str:
    lowered = name.lower()
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix):
            return name[: -len(suffix)]
    return name


HANDLER = Handler("compressed", lambda data: bool(codec(data.head)), scan)
