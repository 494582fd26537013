"""The one zip reader: what any loader (zipfile, so Keras and NumPy; miniz, so torch) reads.

Loaders disagree on damaged or crafted archives, and a scanner that reads like only one of
them misses what the others run. So this reader parses the structure itself and reads the
union of what they read, saying where the archive departs from a clean one:
- the central directory is parsed without zipfile's refusals (versions it rejects, empty
  names); without a readable one, the local headers are walked instead;
- a member is found at its recorded offset and at the offset zipfile's adjustment for
  prepended data gives, when the two differ (miniz reads the first, zipfile the second);
  an offset outside the file is a note, never a negative seek;
- compressed data is decoded to its end marker whatever sizes the headers claim (zipfile
  stops at the central directory's size, a lenient reader does not); stored data is read to
  the larger of the two sizes; CRCs and the encrypted flag are ignored, as torch ignores them;
- deflate, bzip2 and LZMA members are decoded (zipfile reads all three), and Zstandard ones
  where Python has a decoder (3.14+, whose zipfile reads them): elsewhere such a member is
  said not to be checked (NotDecoded), never passed over as unreadable;
- members that share their data (1,500 entries pointing at one deflated member) are read
  once, and the note says so.
"""

from __future__ import annotations

import bz2
import io
import lzma
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO, Protocol

from mlsecops.modelscan.formats.base import TooLarge
from mlsecops.modelscan.streams import CorruptData, Readable, Stream, file_slice, inflate

STORED, DEFLATED, BZIP2, LZMA, ZSTANDARD = 0, 8, 12, 14, 93
METHODS = {STORED: "stored", DEFLATED: "deflate", BZIP2: "bzip2", LZMA: "LZMA",
           ZSTANDARD: "Zstandard"}  # fmt: skip

_LOCAL = struct.Struct("<4sHHHHHIIIHH")  # signature ... name length, extra length
_CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
_EOCD = struct.Struct("<4sHHHHIIH")
_EOCD64_LOCATOR = struct.Struct("<4sIQI")
_EOCD64 = struct.Struct("<4sQHHIIQQQQ")
_LOCAL_SIG, _CENTRAL_SIG = b"PK\x03\x04", b"PK\x01\x02"
_EOCD_SIG, _EOCD64_SIG, _LOCATOR_SIG = b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07"
_MAX_COMMENT = 0xFFFF
_MAX_NOTES = 8  # notes kept per archive; the rest are counted
MAX_ENTRIES = 1_000_000  # central directory entries read (a sharded model has thousands)
MAX_DICTIONARY = 256 << 20  # LZMA dictionaries (xz -9 uses 64 MiB)
_CHUNK = 1 << 20


class MemberError(Exception):
    """A member whose bytes cannot be read (unsupported compression, bad header)."""


class NotDecoded(MemberError):
    """A member a loader reads, compressed in a way this Python cannot decode."""


class _Decoder(Protocol):
    """What bz2, lzma and compression.zstd decompressors have in common."""

    @property
    def eof(self) -> bool:
        """True once the end marker was decoded."""

    @property
    def needs_input(self) -> bool:
        """True when more compressed bytes are needed to go on."""

    def decompress(self, data: bytes, max_length: int = -1) -> bytes:
        """Up to `max_length` more decoded bytes."""


@dataclass(frozen=True)
class Member:
    """One member's data, located: where its bytes start, how to decode them."""

    name: str
    data_offset: int  # where the (compressed) data starts, after the local header
    stored_size: int  # stored members: bytes to read; others: decoded to their end marker
    method: int
    file_size: int  # as the headers declare it (may lie)


@dataclass
class Listing:
    """The members of an archive, and how the archive departs from a clean one."""

    members: list[Member] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    more_notes: int = 0

    def note(self, text: str) -> None:
        """Keep a note (the first few; the rest are counted)."""
        if len(self.notes) < _MAX_NOTES:
            self.notes.append(text)
        else:
            self.more_notes += 1

    def summary(self) -> str:
        """The notes in one sentence ("" when the archive is clean)."""
        more = f"; and {self.more_notes} more" if self.more_notes else ""
        return "; ".join(self.notes) + more


@dataclass(frozen=True)
class _Entry:
    """A member as the central directory (or a local header) records it."""

    name: str
    header_offset: int
    compress_size: int
    file_size: int
    method: int
    flags: int


def list_members(handle: BinaryIO) -> Listing:
    """Every member a loader could read, each data range once."""
    size = handle.seek(0, 2)
    listing = Listing()
    entries, concat = _central_directory(handle, size, listing)
    if entries is None:
        entries, concat = list(_local_entries(handle, size)), 0
    seen: set[int] = set()
    shared = 0
    for entry in entries:
        for member in _locate(handle, size, entry, concat, listing):
            if member.data_offset in seen:
                shared += 1
                continue
            seen.add(member.data_offset)
            listing.members.append(member)
    if shared:
        listing.note(f"{shared} more entries share the data of members already read (read once)")
    return listing


def ends_like_zip(handle: BinaryIO) -> bool:
    """True when the file ends with a zip's end record whose central directory is there.

    zipfile (so Keras) finds an archive by its end, whatever precedes it: data prepended to
    a zip, or a file that is both a pickle and a zip (a polyglot).
    """
    size = handle.seek(0, 2)
    found = _end_record(handle, size)
    if found is None:
        return False
    eocd_at, _count, cd_size, cd_offset = found
    return any(
        0 <= start < size and _peek(handle, start, 4) == _CENTRAL_SIG
        for start in (eocd_at - cd_size, cd_offset)
    )


def open_member(handle: BinaryIO, member: Member) -> Stream:
    """A stream of the member's decoded bytes, up to its end marker (or damage)."""
    if member.method == STORED:
        return file_slice(handle, member.data_offset, member.stored_size)
    rest = file_slice(handle, member.data_offset, handle.seek(0, 2) - member.data_offset)
    if member.method == DEFLATED:
        return inflate(rest, raw_deflate=True)
    if member.method == BZIP2:
        return _decoded(rest, bz2.BZ2Decompressor())
    if member.method == LZMA:
        return _decoded(rest, _zip_lzma(rest))
    if member.method == ZSTANDARD:
        return _zstd(rest)
    raise MemberError(f"compression method {member.method} is read by no Python loader")


def _zstd(source: Readable) -> Stream:
    """Zstandard decoded by the standard library's decoder (Python 3.14+), else NotDecoded."""
    try:
        from compression import zstd  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise NotDecoded(
            "it is compressed with Zstandard, which zipfile (so NumPy and Keras) reads from "
            "Python 3.14 on; this scan ran on an older Python, which cannot decode it"
        ) from None
    return _decoded(source, zstd.ZstdDecompressor(), (zstd.ZstdError,))


# -- the central directory ----------------------------------------------------------------


def _central_directory(
    handle: BinaryIO, size: int, listing: Listing
) -> tuple[list[_Entry] | None, int]:
    """The central directory's entries and the prepended-data shift, or None when unreadable."""
    found = _end_record(handle, size)
    if found is None:
        listing.note("no end-of-central-directory record: the local headers were walked")
        return None, 0
    eocd_at, count, cd_size, cd_offset = found
    cd_start = eocd_at - cd_size
    if not 0 <= cd_start < size or _peek(handle, cd_start, 4) != _CENTRAL_SIG:
        cd_start = cd_offset  # no data prepended: the recorded offset is where it is
    if not 0 <= cd_start < size or _peek(handle, cd_start, 4) != _CENTRAL_SIG:
        listing.note("the central directory is not where the end record says: local headers walked")
        return None, 0
    entries = _entries(handle, cd_start, eocd_at, listing)
    if count != len(entries):
        listing.note(
            f"the end record counts {count} entries, the central directory holds {len(entries)}"
        )
    return entries, cd_start - cd_offset


def _end_record(handle: BinaryIO, size: int) -> tuple[int, int, int, int] | None:
    """(position, entries, size, offset) of the last end record (zip64 values when present)."""
    tail_start = max(0, size - _EOCD.size - _MAX_COMMENT)
    handle.seek(tail_start)
    tail = handle.read()
    at = tail.rfind(_EOCD_SIG)
    if at == -1 or at + _EOCD.size > len(tail):
        return None
    fields = _EOCD.unpack_from(tail, at)
    count, cd_size, cd_offset = fields[4], fields[5], fields[6]
    position = tail_start + at
    locator_at = at - _EOCD64_LOCATOR.size
    if locator_at >= 0 and tail[locator_at : locator_at + 4] == _LOCATOR_SIG:
        zip64_at = _EOCD64_LOCATOR.unpack_from(tail, locator_at)[2]
        record = _peek(handle, zip64_at, _EOCD64.size)
        if len(record) == _EOCD64.size and record[:4] == _EOCD64_SIG:
            values = _EOCD64.unpack(record)
            count, cd_size, cd_offset = values[7], values[8], values[9]
            position = zip64_at
    return position, count, cd_size, cd_offset


def _entries(handle: BinaryIO, start: int, end: int, listing: Listing) -> list[_Entry]:
    """The central directory's entries, read one at a time up to `end` (or damage)."""
    entries: list[_Entry] = []
    offset = start
    while offset + _CENTRAL.size <= end and len(entries) < MAX_ENTRIES:
        fields = _CENTRAL.unpack(_peek(handle, offset, _CENTRAL.size))
        if fields[0] != _CENTRAL_SIG:
            break
        lengths = fields[10] + fields[11]
        variable = handle.read(lengths)
        raw_name, extra = variable[: fields[10]], variable[fields[10] :]
        sizes = _zip64(extra, fields[9], fields[8], fields[16])
        flags, method = fields[3], fields[4]
        entries.append(_Entry(_name(raw_name, flags), sizes[2], sizes[1], sizes[0], method, flags))
        offset += _CENTRAL.size + lengths + fields[12]
    if len(entries) >= MAX_ENTRIES:
        listing.note(f"only the first {MAX_ENTRIES} entries were read")
    elif offset < end and _peek(handle, offset, 4) not in (_EOCD64_SIG, _EOCD_SIG):
        listing.note(f"the central directory is damaged after {len(entries)} entries")
    return entries


def _zip64(extra: bytes, file_size: int, compress_size: int, offset: int) -> tuple[int, int, int]:
    """(file size, compressed size, header offset), from the zip64 extra field when flagged."""
    values = [file_size, compress_size, offset]
    at = 0
    while at + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, at)
        if kind == 0x0001:
            body, used = extra[at + 4 : at + 4 + length], 0
            for index, value in enumerate(values):
                if value == 0xFFFFFFFF and used + 8 <= len(body):
                    values[index] = struct.unpack_from("<Q", body, used)[0]
                    used += 8
            break
        at += 4 + length
    return values[0], values[1], values[2]


def _name(raw: bytes, flags: int) -> str:
    # zipfile's reading: UTF-8 when flag bit 11 says so, else cp437 (which decodes any byte).
    if flags & 0x800:
        return raw.decode("utf-8", "backslashreplace")
    return raw.decode("cp437")


# -- local headers ------------------------------------------------------------------------


def _local_entries(handle: BinaryIO, size: int) -> Iterator[_Entry]:
    """Every local header in the file, in order (for an archive with no central directory)."""
    for offset in _find_all(handle, _LOCAL_SIG, size):
        header = _peek(handle, offset, _LOCAL.size)
        if len(header) < _LOCAL.size:
            return
        fields = _LOCAL.unpack(header)
        raw_name = _peek(handle, offset + _LOCAL.size, fields[9])
        yield _Entry(_name(raw_name, fields[2]), offset, fields[7], fields[8], fields[3], fields[2])


def _find_all(handle: BinaryIO, needle: bytes, size: int, start: int = 0) -> Iterator[int]:
    """Offsets of `needle` in the file from `start`, read in chunks (never whole)."""
    position = start
    carry = b""
    while position < size:
        handle.seek(position)
        chunk = carry + handle.read(_CHUNK)
        base = position - len(carry)
        at = chunk.find(needle)
        while at != -1:
            yield base + at
            at = chunk.find(needle, at + 1)
        carry = chunk[-(len(needle) - 1) :]
        position += _CHUNK


def _locate(
    handle: BinaryIO, size: int, entry: _Entry, concat: int, listing: Listing
) -> list[Member]:
    """The member's data where each loader would look for it (one place, usually)."""
    places = [entry.header_offset + concat]
    if concat:
        places.append(entry.header_offset)  # miniz takes the recorded offset as it is
    members: list[Member] = []
    for offset in dict.fromkeys(places):
        member = _member_at(handle, size, entry, offset, listing if offset == places[0] else None)
        if member is not None:
            members.append(member)
    return members


def _member_at(
    handle: BinaryIO, size: int, entry: _Entry, offset: int, listing: Listing | None
) -> Member | None:
    shown = entry.name or "(empty name)"
    if not 0 <= offset <= size - _LOCAL.size:
        if listing is not None:
            listing.note(f"member {shown!r} has its header at byte {offset}, outside the file")
        return None
    fields = _LOCAL.unpack(_peek(handle, offset, _LOCAL.size))
    if fields[0] != _LOCAL_SIG:
        if listing is not None:
            listing.note(f"member {shown!r} has no local header at byte {offset}")
        return None
    data_offset = offset + _LOCAL.size + fields[9] + fields[10]
    local_size = _local_size(handle, offset, fields)
    if listing is not None and local_size and local_size != entry.compress_size:
        listing.note(f"member {shown!r}: the central directory and local header sizes disagree")
    described = _descriptor_size(handle, entry, data_offset, size)
    stored = min(max(entry.compress_size, local_size, described), max(0, size - data_offset))
    return Member(entry.name, data_offset, stored, entry.method, entry.file_size)


def _local_size(handle: BinaryIO, offset: int, fields: tuple[int, ...]) -> int:
    """The compressed size the local header records (0: in a data descriptor instead)."""
    flags, compress_size, file_size = fields[2], fields[7], fields[8]
    if flags & 0x08 and not compress_size:
        return 0
    if compress_size == 0xFFFFFFFF or file_size == 0xFFFFFFFF:
        extra = _peek(handle, offset + _LOCAL.size + fields[9], fields[10])
        # A local zip64 field holds both sizes, uncompressed first, whichever overflowed.
        file_size, compress_size = 0xFFFFFFFF, 0xFFFFFFFF
        compress_size = _zip64(extra, file_size, compress_size, 0)[1]
    return compress_size


def _descriptor_size(handle: BinaryIO, entry: _Entry, data_offset: int, size: int) -> int:
    """A stored member whose sizes are only in a data descriptor: its data runs to the next
    local header (only when no size is recorded anywhere)."""
    if entry.method != STORED or entry.compress_size or not entry.flags & 0x08:
        return 0
    following = next(_find_all(handle, _LOCAL_SIG, size, start=data_offset), size)
    return following - data_offset


def _peek(handle: BinaryIO, offset: int, count: int) -> bytes:
    # A 64-bit field can name an offset no file has (and seek refuses past 2**63 - 1).
    if not 0 <= offset < 1 << 63:
        return b""
    handle.seek(offset)
    return handle.read(count)


# -- bzip2 and LZMA members ---------------------------------------------------------------


def _zip_lzma(source: Readable) -> lzma.LZMADecompressor:
    """LZMA in a zip: 2 bytes of version, 2 of properties size, the properties, raw LZMA1."""
    header = source.read(4)
    if len(header) < 4:
        raise MemberError("the LZMA header is cut off")
    (props_size,) = struct.unpack("<H", header[2:4])
    props = source.read(props_size)
    if len(props) >= 5 and (dictionary := struct.unpack_from("<I", props, 1)[0]) > MAX_DICTIONARY:
        # liblzma allocates the whole dictionary up front, whatever the data needs.
        raise TooLarge(f"this member's LZMA dictionary of {dictionary} bytes", MAX_DICTIONARY)
    try:
        filters = [lzma._decode_filter_properties(lzma.FILTER_LZMA1, props)]  # type: ignore[attr-defined]
        return lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=filters)
    except (lzma.LZMAError, ValueError) as exc:
        raise MemberError(f"the LZMA properties are invalid ({exc})") from exc


def _decoded(
    source: Readable, decoder: _Decoder, errors: tuple[type[Exception], ...] = ()
) -> Stream:
    return io.BufferedReader(_DecoderReader(source, decoder, errors), buffer_size=1 << 16)


class _DecoderReader(io.RawIOBase):
    """Decodes bzip2 or LZMA on the fly, a bounded step at a time; damage raises CorruptData
    once the bytes decoded before it have been read."""

    _STEP = 1 << 16  # decoded bytes per step: a bomb is never held whole
    _FEED = 1 << 12  # compressed bytes per step: little is lost when a step fails

    def __init__(
        self, source: Readable, decoder: _Decoder, errors: tuple[type[Exception], ...]
    ) -> None:
        super().__init__()
        self._source, self._decoder = source, decoder
        self._errors: tuple[type[Exception], ...] = (OSError, EOFError, lzma.LZMAError, *errors)
        self._pending = b""
        self._pos = 0
        self._error: CorruptData | None = None

    def readable(self) -> bool:
        """A readable stream."""
        return True

    def tell(self) -> int:
        """Decoded bytes handed out so far."""
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        """Decode the next step into `buffer`."""
        while not self._pending:
            if self._error is not None:
                raise self._error
            if self._decoder.eof:
                return 0
            self._pending = self._step()
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        self._pos += count
        return count

    def _step(self) -> bytes:
        data = b"" if not self._decoder.needs_input else self._source.read(self._FEED)
        if self._decoder.needs_input and not data:
            self._error = CorruptData("the compressed data ends before its end marker")
            return b""
        try:
            return self._decoder.decompress(data, self._STEP)
        except self._errors as exc:
            self._error = CorruptData(f"the compressed data is corrupt ({exc})")
            return b""
