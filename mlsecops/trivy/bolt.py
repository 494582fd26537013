"""Read-only lookups in a bbolt file (Trivy's trivy.db), without loading it.

Enough of the bbolt format to find a key in a bucket: the meta page names the root
bucket's page; a bucket is a B+tree of branch pages (keys and child page ids) over leaf
pages (keys and values); a value flagged as a bucket holds a 16-byte header (root page id,
sequence) and, when the root page id is 0, the whole small bucket inline after it. The file
is memory-mapped and only the pages on the path to a key are touched, so a lookup in a
1 GB DB costs a few page reads.
"""

from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

_PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, element count, overflow pages
_LEAF_ELEMENT = struct.Struct("<IIII")  # flags, pos (from this element), key size, value size
_BRANCH_ELEMENT = struct.Struct("<IIQ")  # pos, key size, child page id
_META = struct.Struct("<IIIIQQQQQ")  # magic, version, page size, flags, root, seq, free, hw, txid
_BUCKET_HEADER = struct.Struct("<QQ")  # root page id (0: inline), sequence
_BRANCH_PAGE = 0x01
_LEAF_PAGE = 0x02
_BUCKET_VALUE = 0x01
_MAGIC = 0xED0CDAED

Buffer = bytes | mmap.mmap | memoryview


class BoltError(Exception):
    """The file is not a bbolt file this reader understands."""


@dataclass(frozen=True)
class Bucket:
    """Where a bucket's root node is: a page of the file, or inline in its parent's value."""

    buffer: Buffer
    offset: int  # of the root node's page header within `buffer`


class BoltFile:
    """One bbolt file, opened read-only; `close` (or a `with` block) releases it."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        self._page_size, root = self._meta()
        self.root = Bucket(self._map, root * self._page_size)

    def __enter__(self) -> BoltFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the mapping."""
        self._map.close()

    def _meta(self) -> tuple[int, int]:
        """(page size, root page id) from the newer of the two meta pages."""
        best: tuple[int, int, int] | None = None
        for guess in (0, 4096):  # page 1 starts one page in; page 0's header says the size
            if len(self._map) < guess + _PAGE_HEADER.size + _META.size:
                continue
            fields = _META.unpack_from(self._map, guess + _PAGE_HEADER.size)
            magic, _version, page_size, _flags, root, _seq, _free, _hw, txid = fields
            valid = magic == _MAGIC and guess in (0, page_size)
            if valid and (best is None or txid > best[0]):
                best = (txid, page_size, root)
        if best is None:
            raise BoltError("no valid meta page (not a bbolt file)")
        return best[1], best[2]

    def bucket(self, parent: Bucket, name: bytes) -> Bucket | None:
        """The nested bucket `name` in `parent`, or None."""
        found = self._find(parent, name)
        if found is None or not found[0] & _BUCKET_VALUE:
            return None
        return self.bucket_at(found[1])

    def bucket_at(self, value: bytes | memoryview) -> Bucket:
        """The bucket whose header (a value flagged as a bucket) is `value`."""
        root, _sequence = _BUCKET_HEADER.unpack_from(value, 0)
        if root == 0:  # inline: the bucket's single leaf page follows the header
            return Bucket(memoryview(bytes(value)), _BUCKET_HEADER.size)
        return Bucket(self._map, root * self._page_size)

    def get(self, bucket: Bucket, key: bytes) -> bytes | None:
        """The plain value of `key` in `bucket`, or None."""
        found = self._find(bucket, key)
        if found is None or found[0] & _BUCKET_VALUE:
            return None
        return bytes(found[1])

    def items(self, bucket: Bucket) -> list[tuple[bytes, bytes, bool]]:
        """Every (key, value, is_bucket) of a bucket, in key order."""
        out: list[tuple[bytes, bytes, bool]] = []
        self._walk(bucket.buffer, bucket.offset, out)
        return out

    def _walk(self, buffer: Buffer, offset: int, out: list[tuple[bytes, bytes, bool]]) -> None:
        _id, flags, count, _overflow = _PAGE_HEADER.unpack_from(buffer, offset)
        for index in range(count):
            if flags & _BRANCH_PAGE:
                child = _branch(buffer, offset, index)[1]
                self._walk(self._map, child * self._page_size, out)
            else:
                leaf_flags, key, value = _leaf(buffer, offset, index)
                out.append((bytes(key), bytes(value), bool(leaf_flags & _BUCKET_VALUE)))

    def _find(self, bucket: Bucket, key: bytes) -> tuple[int, memoryview] | None:
        """(element flags, value) of `key` in `bucket`, descending branch pages."""
        buffer, offset = bucket.buffer, bucket.offset
        for _depth in range(64):  # a B+tree of a real DB is a handful of levels deep
            _id, flags, count, _overflow = _PAGE_HEADER.unpack_from(buffer, offset)
            if flags & _BRANCH_PAGE:
                index = _last_not_after(buffer, offset, count, key)
                buffer, offset = self._map, _branch(buffer, offset, index)[1] * self._page_size
                continue
            if not flags & _LEAF_PAGE:
                raise BoltError(f"page at offset {offset} is neither a branch nor a leaf")
            index = _first_not_before(buffer, offset, count, key)
            if index < count:
                leaf_flags, found, value = _leaf(buffer, offset, index)
                if bytes(found) == key:
                    return leaf_flags, value
            return None
        raise BoltError("bucket tree too deep")


def _element(offset: int, index: int) -> int:
    return offset + _PAGE_HEADER.size + index * _LEAF_ELEMENT.size


def _leaf(buffer: Buffer, offset: int, index: int) -> tuple[int, memoryview, memoryview]:
    element = _element(offset, index)
    flags, pos, ksize, vsize = _LEAF_ELEMENT.unpack_from(buffer, element)
    view = memoryview(buffer)
    start = element + pos
    return flags, view[start : start + ksize], view[start + ksize : start + ksize + vsize]


def _branch(buffer: Buffer, offset: int, index: int) -> tuple[bytes, int]:
    element = _element(offset, index)
    pos, ksize, child = _BRANCH_ELEMENT.unpack_from(buffer, element)
    return bytes(memoryview(buffer)[element + pos : element + pos + ksize]), child


def _leaf_key(buffer: Buffer, offset: int, index: int) -> bytes:
    return bytes(_leaf(buffer, offset, index)[1])


def _first_not_before(buffer: Buffer, offset: int, count: int, key: bytes) -> int:
    """Binary search: the first leaf element whose key is >= `key`."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if _leaf_key(buffer, offset, middle) < key:
            low = middle + 1
        else:
            high = middle
    return low


def _last_not_after(buffer: Buffer, offset: int, count: int, key: bytes) -> int:
    """Binary search: the last branch element whose key is <= `key` (else the first)."""
    low, high = 0, count
    while low < high:
        middle = (low + high) // 2
        if _branch(buffer, offset, middle)[0] <= key:
            low = middle + 1
        else:
            high = middle
    return max(low - 1, 0)
