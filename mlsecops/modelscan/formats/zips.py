"""Zip archives: PyTorch checkpoints, Keras v3 `.keras`, NumPy `.npz`, and any other zip.

Every archive format is read through the one zip reader (modelscan/zipread), which reads
what loaders read, not what `zipfile` insists on. Each member is dispatched like any other
data, one level deeper, except:
- a root `config.json` is a Keras config: Keras v3 rebuilds the model from it alone,
  whatever else the archive holds (JSON that names no `module`/`class_name` is quiet);
- the weights `.h5` of a `.keras` holds no config, and torch's `<dir>/data/<n>` members
  are raw tensor bytes torch never unpickles: neither is parsed;
- members named `*.pkl`/`*.pickle` are unpickled by their loader whatever they look like.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

from mlsecops.core.findings import Finding
from mlsecops.modelscan import notes
from mlsecops.modelscan.data import nested_blob, stream_data
from mlsecops.modelscan.formats.base import Context, Data, Found, Handler, TooLarge, Where
from mlsecops.modelscan.keras_config import MARKERS, ConfigSource, config_findings, marker_findings
from mlsecops.modelscan.pickle_findings import Loader
from mlsecops.modelscan.streams import CorruptData, Stream
from mlsecops.modelscan.zipread import (
    Member,
    MemberError,
    NotDecoded,
    list_members,
    open_member,
)

MAX_CONFIG = 8 << 20  # a Keras config.json is kilobytes, a few MB for the largest models
MAX_SEARCH = 1 << 30  # an over-large config is byte-searched this far
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for every member a loader would read."""
    where = data.where
    handle = data.random_access()
    listing = list_members(handle)
    findings = [notes.damaged(where.target, listing.summary())] if listing.notes else []
    members = listing.members
    names = {member.name for member in members}
    storage = torch_storage(names)
    keras_v3 = "config.json" in names and "metadata.json" in names
    torch = any(is_torch_pickle(name) for name in names)
    loader = Loader.TORCH if torch else where.loader
    for member in members:
        if (keras_v3 and member.name.endswith(".h5")) or storage(member.name):
            continue
        findings += _member(handle, member, where.inside_member(member.name, loader), context)
    return findings


def _member(handle: BinaryIO, member: Member, where: Where, context: Context) -> list[Finding]:
    def fresh() -> Stream:
        return open_member(handle, member)

    try:
        if member.name == "config.json":
            return where.place(_keras_config(fresh, where, context))
        inner = stream_data(fresh, where, member.name)
        claim = "pickle" if member.name.endswith((".pkl", ".pickle")) else ""
        return context.scan(inner, claim=claim)
    except NotDecoded as exc:
        return where.place([notes.undecoded(where.target, str(exc))])
    except (MemberError, CorruptData) as exc:
        return where.place([notes.unreadable(where.target, f"the member is unreadable ({exc})")])
    except TooLarge as exc:  # this member only: the others are still read
        return where.place([notes.too_large(where.target, exc.what, exc.limit)])


def _keras_config(fresh: Callable[[], Stream], where: Where, context: Context) -> list[Finding]:
    nested = nested_blob(where, context, Loader.TORCH)
    source = ConfigSource(where.target, "config.json", nested)
    stream = fresh()
    text = stream.read(MAX_CONFIG + 1)
    if len(text) <= MAX_CONFIG:
        context.strings([Found.at(where, "", text.decode("utf-8", "replace"))])
        return config_findings(text, source, context.rules)
    # Too large to parse (no real config is; a bomb is): what it names is still searched.
    found = search(text, stream)
    skipped = notes.too_large(where.target, "this Keras config", MAX_CONFIG)
    return [skipped, *marker_findings(found, source)]


def search(start: bytes, stream: Stream) -> dict[bytes, int]:
    """The first offset of each Keras marker in `start` and the rest of `stream` (up to
    MAX_SEARCH bytes in all, read a chunk at a time)."""
    found: dict[bytes, int] = {}
    chunk, offset, tail = start, 0, b""
    longest = max(len(marker) for marker in MARKERS)
    while chunk and offset < MAX_SEARCH:
        window = tail + chunk
        for marker in MARKERS:
            at = window.find(marker)
            if at != -1 and marker not in found:
                found[marker] = offset - len(tail) + at
        offset += len(chunk)
        tail = window[-longest:]
        chunk = _read(stream, 1 << 20)
    return found


def _read(stream: Stream, size: int) -> bytes:
    try:
        return stream.read(size)
    except CorruptData:
        return b""


def is_torch_pickle(name: str) -> bool:
    """True for the pickle of a torch zip checkpoint (`<dir>/data.pkl`)."""
    return name == "data.pkl" or name.endswith("/data.pkl")


def torch_storage(names: set[str]) -> Callable[[str], bool]:
    """Tells the `<dir>/data/<key>` members of a torch zip: raw tensor bytes, never unpickled.

    Skipping them spares parsing gigabytes of weights, and the false alarms of tensor bytes
    that happen to start like a pickle.
    """
    dirs = {name[: -len("data.pkl")] + "data" for name in names if is_torch_pickle(name)}

    def storage(name: str) -> bool:
        directory, _, key = name.rpartition("/")
        return directory in dirs and key.isdigit()

    return storage


HANDLER = Handler("zip", lambda data: data.head[:4] in _ZIP_MAGIC, scan, loadable=True)
