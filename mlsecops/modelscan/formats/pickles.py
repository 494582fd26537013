"""Pickles (protocols 0-5, plain, joblib, legacy torch.save): judged by the pickle analysis.

Two table entries: protocol 2+ pickles start with PROTO and are told by it; protocol 0/1
pickles have no magic and are told from text by parsing them (the parse is the scan's).
The analysis itself is `pickle_stream` (every pickle of the data, in every reading of its
frames, by the bounded machine of `pickle_ops`) and `pickle_findings` (judged against the
rules); bytes found inside a pickle go back to the scanner through the context, one level
deeper, with the same budget.
"""

from __future__ import annotations

from collections.abc import Callable

from mlsecops.core.findings import Finding
from mlsecops.modelscan.data import bytes_data
from mlsecops.modelscan.formats.base import Accept, Context, Data, Found, Handler, Where
from mlsecops.modelscan.joblib_arrays import after_build
from mlsecops.modelscan.pickle_findings import Loader, NestedScan, PickleSource, judge
from mlsecops.modelscan.pickle_ops import Segment, names_a_global
from mlsecops.modelscan.pickle_stream import Parse, is_legacy_torch, read_stream
from mlsecops.modelscan.signatures import OLD_PICKLE_START
from mlsecops.modelscan.streams import Stream


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for every pickle in the data (the sniff's parse when it ran one)."""
    return judge_parse(data.sniffed.pickle_parse(), data.where, context)


def scan_stream(fresh: Callable[[], Stream], where: Where, context: Context) -> list[Finding]:
    """Findings for the pickles read from `fresh()` (a `.npy` object array's data: each call
    gives a stream positioned where the pickle starts)."""
    return judge_parse(read_stream(fresh, None, where.budget, after_build), where, context)


def judge_parse(parsed: Parse, where: Where, context: Context) -> list[Finding]:
    """Judge parsed pickles; bytes found inside them are scanned one level deeper."""
    loader = where.loader
    if parsed.first is not None and is_legacy_torch(parsed.first):
        loader = Loader.TORCH
    source = PickleSource(where.target, loader)
    if context.options.strings is not None:
        context.strings(_strings(parsed.segments, where))
    return judge(parsed, context.rules, source, nested=_nested(where, context))


def _strings(segments: list[Segment], where: Where) -> list[Found]:
    """The strings the machine kept for the secret rules, with the key before each."""
    found = []
    for segment in segments:
        for offset, key, text in segment.texts:
            # The location ends with the key, so that `location=text` reads `KEY=value`.
            location = f"pickle string at byte {offset}" + (f", value of {key}" if key else "")
            found.append(Found.at(where, location, text))
        found += _strings(segment.inner, where)
    return found


def _nested(where: Where, context: Context) -> NestedScan:
    def nested(blob: bytes, source: PickleSource) -> list[Finding]:
        inner = bytes_data(blob, where.inside(prefix=source.where))
        return context.scan(inner, Accept.LOADABLE)

    return nested


def might_be_old_pickle(head: bytes) -> bool:
    """True when `head` starts the way a protocol 0/1 pickle can (worth parsing to be sure)."""
    return bool(head) and head[0] in OLD_PICKLE_START


def _sniff_proto(data: Data) -> bool:
    # PROTO n: the unpickler accepts any n up to 5, even 0 and 1.
    head = data.head
    return head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5


def _sniff_old(data: Data) -> bool:
    if not might_be_old_pickle(data.head):
        return False
    first = data.sniffed.pickle_parse().first
    return first is not None and names_a_global(first)


HANDLER = Handler("pickle", _sniff_proto, scan, loadable=True)
OLD_PROTOCOL = Handler("pickle (protocol 0/1)", _sniff_old, scan, loadable=True)
