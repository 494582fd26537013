"""The symbolic stack machine on its own: what it records, and where it stops."""

from __future__ import annotations

import pickle
import struct
from pathlib import Path

import pytest
from modelscan_corpus import glob, legacy_torch, proto, reduce_pickle, sglob, ustr

from mlsecops.modelscan.budget import Budget
from mlsecops.modelscan.joblib_arrays import after_build
from mlsecops.modelscan.pickle_ops import analyze_bytes
from mlsecops.modelscan.pickle_stream import read_bytes, read_stream
from mlsecops.modelscan.pickle_values import Action, Global

FIXTURES = Path(__file__).parent / "fixtures" / "benign"


def test_records_import_then_call_with_arguments() -> None:
    segment = analyze_bytes(reduce_pickle("os", "system"))
    assert [e.action for e in segment.events] == [Action.IMPORT, Action.CALL]
    call = segment.events[1]
    assert isinstance(call.target, Global) and call.target.dotted == "os.system"
    assert call.opcode == "REDUCE" and call.position.offset == 20
    assert segment.error == "" and segment.ops == 6


def test_stack_global_through_the_memo() -> None:
    data = proto(4) + ustr("os") + b"\x94" + ustr("system") + b"\x94" + b"00h\x00h\x01\x93."
    segment = analyze_bytes(data)
    (event,) = segment.events
    assert isinstance(event.target, Global) and event.target.dotted == "os.system"


def test_protocol_two_bytes_are_constants_not_calls_that_matter() -> None:
    segment = analyze_bytes(pickle.dumps(b"\x80\x04abc", protocol=2))
    assert [e.target.dotted for e in segment.events if isinstance(e.target, Global)] == [
        "_codecs.encode",
        "_codecs.encode",
    ]
    assert segment.result == b"\x80\x04abc"


def test_stops_with_an_error_but_keeps_what_came_before() -> None:
    segment = analyze_bytes(proto(2) + glob("os", "system") + ustr("true") + b"\x85R\xff")
    assert "not a pickle opcode" in segment.error
    assert [e.action for e in segment.events] == [Action.IMPORT, Action.CALL]


def test_underflow_and_missing_memo_are_errors_not_crashes() -> None:
    assert "underflows" in analyze_bytes(b"R.").error
    assert "no memo entry" in analyze_bytes(b"h\x05.").error


def test_concatenated_pickles_are_all_read() -> None:
    segments = read_bytes(
        pickle.dumps(1) + pickle.dumps(2) + reduce_pickle("os", "system")
    ).segments
    assert len(segments) == 3
    assert segments[2].events[1].action is Action.CALL


def test_legacy_torch_stops_after_five_pickles_before_raw_storage() -> None:
    main = pickle.dumps({"w": 1}, protocol=2)
    segments = read_bytes(legacy_torch(main)).segments
    assert len(segments) == 5
    assert all(not s.error for s in segments)


def test_real_joblib_dump_is_read_to_the_end() -> None:
    path = FIXTURES / "sklearn_forest.joblib"
    with path.open("rb") as handle:
        size = path.stat().st_size
        parse = read_stream(lambda: handle, size, Budget.for_file(size), after_build)
    assert [s.error for s in parse.segments] == [""]
    assert parse.segments[0].end == size


def test_stack_global_needs_strings() -> None:
    segment = analyze_bytes(proto(4) + b"K\x01K\x02\x93.")
    assert "STACK_GLOBAL needs two strings" in segment.error


def test_newobj_is_an_instance_and_build_on_a_global_is_setattr() -> None:
    data = proto(4) + sglob("acme", "Net") + b")\x81}b" + b"0" + glob("acme", "CONFIG") + b"}b."
    actions = [
        (e.action, e.target.dotted)
        for e in analyze_bytes(data).events
        if isinstance(e.target, Global)
    ]
    assert (Action.INSTANCE, "acme.Net") in actions
    assert (Action.SETATTR, "acme.CONFIG") in actions


@pytest.mark.parametrize("opcode", [b"\x8e", b"\x8d", b"\x96", b"B", b"T", b"X"])
def test_a_huge_length_field_is_malformed_not_a_huge_allocation(opcode: bytes) -> None:
    # BINBYTES8 and friends: 2**62 bytes announced, a few present.
    size = struct.pack("<Q", 2**62) if opcode in (b"\x8e", b"\x8d", b"\x96") else b"\xff" * 4
    segment = read_bytes(proto(4) + opcode + size + b"abc").segments[0]
    assert "malformed" in segment.error
