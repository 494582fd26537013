"""Pickles (protocols 0-5, plain, joblib, legacy torch.save): judged by the pickle analysis.

Two table entries: protocol 2+ pickles start with PROTO and are told by it; protocol 0/1
pickles have no magic and are told from text by parsing them (the parse is the scan's).
The analysis itself is `pickle_ops` (what the opcodes do) and `pickle_findings` (judged
against the rules); bytes found inside a pickle go back to the scanner through the
context, one level deeper.
"""

from __future__ import annotations

from mlsecops.core.findings import Finding
from mlsecops.modelscan.data import bytes_data
from mlsecops.modelscan.formats.base import Accept, Context, Data, Handler, Where
from mlsecops.modelscan.joblib_arrays import after_build
from mlsecops.modelscan.pickle_findings import Loader, NestedScan, PickleSource, judge
from mlsecops.modelscan.pickle_ops import Segment, analyze_all, is_legacy_torch
from mlsecops.modelscan.streams import Stream

# The opcodes a protocol 0 or 1 pickle can start with (these have no PROTO header).
_OLD_PICKLE_START = frozenset(b"(}])cNIJKLMSTUVXFGhgpqr\x88\x89")
_NAMING = frozenset({"GLOBAL", "INST", "STACK_GLOBAL"})


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for every pickle in the data (the sniff's parse when it ran one)."""
    segments = data.sniffed.parsed
    if segments is None:
        segments = analyze_all(data.open(), after_build)
    return judge_segments(segments, data.where, context)


def scan_stream(stream: Stream, where: Where, context: Context) -> list[Finding]:
    """Findings for the pickles read from `stream` (a `.npy` object array's data)."""
    return judge_segments(analyze_all(stream, after_build), where, context)


def judge_segments(segments: list[Segment], where: Where, context: Context) -> list[Finding]:
    """Judge parsed pickles; bytes found inside them are scanned one level deeper."""
    loader = where.loader
    if segments and is_legacy_torch(segments[0]):
        loader = Loader.TORCH
    source = PickleSource(where.target, loader)
    return judge(segments, context.rules, source, nested=_nested(where, context))


def _nested(where: Where, context: Context) -> NestedScan:
    def nested(blob: bytes, source: PickleSource) -> list[Finding]:
        inner = bytes_data(blob, where.inside(prefix=source.where))
        return context.scan(inner, Accept.LOADABLE)

    return nested


def might_be_old_pickle(head: bytes) -> bool:
    """True when `head` starts the way a protocol 0/1 pickle can (worth parsing to be sure)."""
    return bool(head) and head[0] in _OLD_PICKLE_START


def is_old_pickle(segment: Segment) -> bool:
    """True when magic-less data, parsed from its start into `segment`, is a protocol 0/1 pickle.

    It is one when at least two opcodes parse and either the parse reaches STOP or the data
    names a global (GLOBAL, INST, STACK_GLOBAL). A clean parse to STOP is not required: the
    unpickler runs every opcode before junk or a cut-off end, so a payload followed by
    garbage, or with no STOP at all, still runs, and no payload runs without naming a
    global. Calls and instances of constants, and EXT codes (the extension registry is
    empty unless a program fills it), do not count: random bytes produce them (1.3 % of
    random data starting like an old pickle would count, against 0.3 % now, nearly all of
    them short pickles that do reach STOP).
    """
    if segment.ops < 2:
        return False
    return not segment.error or any(event.opcode in _NAMING for event in segment.events)


def _sniff_proto(data: Data) -> bool:
    # PROTO n: the unpickler accepts any n up to 5, even 0 and 1.
    head = data.head
    return head[:1] == b"\x80" and len(head) > 1 and head[1] <= 5


def _sniff_old(data: Data) -> bool:
    if not might_be_old_pickle(data.head):
        return False
    parsed = data.sniffed.pickle_parse()
    return bool(parsed) and is_old_pickle(parsed[0])


HANDLER = Handler("pickle", _sniff_proto, scan, loadable=True)
OLD_PROTOCOL = Handler("pickle (protocol 0/1)", _sniff_old, scan, loadable=True)
