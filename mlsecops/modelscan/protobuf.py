"""A minimal protobuf wire-format reader: enough to walk an ONNX model without onnx.

It accepts what protobuf's own parser accepts: fields in any order, repeated or not,
unknown fields of every wire type including the deprecated groups (skipped, nested groups
too), and known fields of an unexpected wire type (protobuf keeps them as unknown fields;
callers skip them). Fields are yielded lazily over a memoryview, so a multi-gigabyte model
held in an mmap is walked without copying its weights.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, START_GROUP, END_GROUP, FIXED32 = 0, 1, 2, 3, 4, 5
MAX_FIELD = (1 << 29) - 1
MAX_GROUP_DEPTH = 100  # protobuf's own default recursion limit


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


class Truncated(WireError):
    """A field runs past the end of the bytes (which may be only the start of the data)."""


def read_varint(data: memoryview, offset: int) -> tuple[int, int]:
    """(value, next offset) of the varint at `offset`."""
    value = 0
    for shift in range(0, 70, 7):
        if offset >= len(data):
            raise Truncated("a varint runs past the end")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value & 0xFFFFFFFFFFFFFFFF, offset
    raise WireError("a varint is longer than 10 bytes")


def fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field; length-delimited values are views.

    Groups are checked and skipped (no ONNX field is one); truncated or malformed data
    raises WireError once the fields before it have been yielded.
    """
    offset = 0
    while offset < len(data):
        number, wire, offset = _key(data, offset)
        if wire == START_GROUP:
            offset = _skip_group(data, offset, number, depth=1)
            continue
        if wire == END_GROUP:
            raise WireError(f"an end-group marker for field {number} closes no group")
        value, offset = _value(data, offset, wire)
        yield number, wire, value


def _key(data: memoryview, offset: int) -> tuple[int, int, int]:
    key, offset = read_varint(data, offset)
    number, wire = key >> 3, key & 7
    if number == 0 or number > MAX_FIELD:
        raise WireError(f"field number {number} is out of range")
    return number, wire, offset


def _value(data: memoryview, offset: int, wire: int) -> tuple[int | memoryview, int]:
    if wire == VARINT:
        return read_varint(data, offset)
    if wire == LENGTH:
        length, offset = read_varint(data, offset)
        if offset + length > len(data):
            raise Truncated("a length-delimited field runs past the end")
        return data[offset : offset + length], offset + length
    if wire in (FIXED64, FIXED32):
        size = 8 if wire == FIXED64 else 4
        if offset + size > len(data):
            raise Truncated("a fixed-size field runs past the end")
        return int.from_bytes(data[offset : offset + size], "little"), offset + size
    raise WireError(f"wire type {wire} does not exist")


def _skip_group(data: memoryview, offset: int, number: int, depth: int) -> int:
    """The offset after the end-group marker that closes group `number`."""
    if depth > MAX_GROUP_DEPTH:
        raise WireError("groups nested too deeply")
    while offset < len(data):
        inner, wire, offset = _key(data, offset)
        if wire == END_GROUP:
            if inner != number:
                raise WireError(f"group {number} is closed by an end-group of field {inner}")
            return offset
        if wire == START_GROUP:
            offset = _skip_group(data, offset, inner, depth + 1)
        else:
            offset = _value(data, offset, wire)[1]
    raise Truncated(f"group {number} runs past the end")


def text(value: int | memoryview) -> str:
    """A string field's value."""
    if isinstance(value, int):
        raise WireError("expected a string, got a number")
    return bytes(value).decode("utf-8", "replace")


def parses(head: bytes, *, complete: bool) -> bool:
    """True when `head` reads as protobuf fields; when not `complete`, the last field may
    run past its end (the rest of the data was not read)."""
    view = memoryview(head)
    offset = 0
    count = 0
    try:
        while offset < len(view):
            number, wire, offset = _key(view, offset)
            if wire == START_GROUP:
                offset = _skip_group(view, offset, number, depth=1)
            elif wire == END_GROUP:
                return False
            else:
                offset = _value(view, offset, wire)[1]
            count += 1
    except Truncated:
        return not complete and count > 0
    except WireError:
        return False
    return count > 0
