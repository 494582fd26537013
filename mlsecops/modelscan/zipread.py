"""Reading zip archives the way model loaders do, not the way `zipfile` insists on.

PyTorch (through miniz) loads archives whose CRCs are wrong or whose flag bits are odd,
where `zipfile` would refuse to read the member. So only the central directory comes from
`zipfile`; each member's bytes are read from its local header with CRCs and flags ignored.
An archive without a readable central directory is read by walking its local headers.
"""

from __future__ import annotations

import struct
import zipfile
from dataclasses import dataclass
from typing import BinaryIO

from mlsecops.modelscan.streams import Stream, file_slice, inflate

_LOCAL = b"PK\x03\x04"
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
STORED, DEFLATED = 0, 8


class MemberError(Exception):
    """A member whose bytes cannot be read (unsupported compression, bad header)."""


@dataclass(frozen=True)
class Member:
    name: str
    header_offset: int
    compress_size: int
    file_size: int
    method: int


def list_members(handle: BinaryIO) -> tuple[list[Member], str]:
    """The archive's members, and a note when the central directory had to be bypassed."""
    try:
        with zipfile.ZipFile(handle) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        members = _local_headers(handle)
        return members, f"the central directory is unreadable ({exc}); read the local headers"
    members = [
        Member(info.filename, info.header_offset, info.compress_size, info.file_size,
               info.compress_type)
        for info in infos
        if not info.is_dir()
    ]  # fmt: skip
    return members, ""


def open_member(handle: BinaryIO, member: Member) -> Stream:
    """A stream of the member's uncompressed bytes; CRC and flag bits are not checked."""
    handle.seek(member.header_offset)
    header = handle.read(_LOCAL_HEADER.size)
    if len(header) != _LOCAL_HEADER.size or not header.startswith(_LOCAL):
        raise MemberError(f"no local header at byte offset {member.header_offset}")
    fields = _LOCAL_HEADER.unpack(header)
    name_length, extra_length = fields[9], fields[10]
    start = member.header_offset + _LOCAL_HEADER.size + name_length + extra_length
    raw = file_slice(handle, start, member.compress_size)
    if member.method == STORED:
        return raw
    if member.method == DEFLATED:
        return inflate(raw, raw_deflate=True)
    raise MemberError(f"compression method {member.method} is not supported by this scanner")


MAX_LOCAL_SCAN = 1 << 30  # a damaged archive is searched in memory, up to this size


def _local_headers(handle: BinaryIO) -> list[Member]:
    handle.seek(0)
    data = handle.read(MAX_LOCAL_SCAN)
    members: list[Member] = []
    offset = data.find(_LOCAL)
    while offset != -1 and offset + _LOCAL_HEADER.size <= len(data):
        fields = _LOCAL_HEADER.unpack_from(data, offset)
        flags, method, size, usize, name_length, extra_length = (
            fields[2], fields[3], fields[7], fields[8], fields[9], fields[10],
        )  # fmt: skip
        start = offset + _LOCAL_HEADER.size + name_length + extra_length
        name = data[offset + _LOCAL_HEADER.size : start - extra_length].decode("utf-8", "replace")
        if flags & 0x08 and size == 0:
            # Sizes follow the data in a descriptor: the data runs to the next header.
            following = data.find(_LOCAL, start)
            size = (following if following != -1 else len(data)) - start
            usize = size
        members.append(Member(name, offset, size, usize, method))
        offset = data.find(_LOCAL, max(start + size, offset + 1))
    return members
