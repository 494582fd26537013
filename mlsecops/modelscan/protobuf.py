"""A minimal protobuf wire-format reader: enough to walk an ONNX model without onnx.

Fields are yielded lazily over a memoryview, so a multi-gigabyte model held in an mmap is
walked without copying its weights.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not a well-formed protobuf message."""


def read_varint(data: memoryview, offset: int) -> tuple[int, int]:
    """(value, next offset) of the varint at `offset`."""
    value = 0
    for shift in range(0, 70, 7):
        if offset >= len(data):
            raise WireError("a varint runs past the end")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
    raise WireError("a varint is longer than 10 bytes")


def fields(data: memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """(field number, wire type, value) for each field; length-delimited values are views."""
    offset = 0
    while offset < len(data):
        key, offset = read_varint(data, offset)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise WireError("field number 0")
        if wire == VARINT:
            value, offset = read_varint(data, offset)
            yield number, wire, value
        elif wire == LENGTH:
            length, offset = read_varint(data, offset)
            if offset + length > len(data):
                raise WireError("a length-delimited field runs past the end")
            yield number, wire, data[offset : offset + length]
            offset += length
        elif wire in (FIXED64, FIXED32):
            size = 8 if wire == FIXED64 else 4
            if offset + size > len(data):
                raise WireError("a fixed-size field runs past the end")
            yield number, wire, int.from_bytes(data[offset : offset + size], "little")
            offset += size
        else:
            raise WireError(f"wire type {wire} is not used by ONNX")


def text(value: int | memoryview) -> str:
    """A string field's value."""
    if isinstance(value, int):
        raise WireError("expected a string, got a number")
    return bytes(value).decode("utf-8", "replace")
