"""A write-once writer of bbolt (BoltDB) files, enough to hand Trivy a DB it will open.

The file is laid out the simple way: two meta pages, an empty freelist, then every
bucket in its own page(s), children before parents so each parent knows its children's
page ids. Nothing is ever inlined, rebalanced or freed: the file is written once and
only read afterwards (Trivy opens its DB read-only).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeAlias, TypeVar, Union

PAGE_SIZE = 4096

# Page flags, as bbolt spells them.
_BRANCH = 0x01
_LEAF = 0x02
_META = 0x04
_FREELIST = 0x10

_BUCKET_LEAF_FLAG = 0x01  # a leaf element whose value is a nested bucket's header

_MAGIC = 0xED0CDAED
_VERSION = 2

_PAGE_HEADER = struct.Struct("<QHHI")  # id, flags, count, overflow
_LEAF_ELEMENT = struct.Struct("<IIII")  # flags, pos, ksize, vsize
_BRANCH_ELEMENT = struct.Struct("<IIQ")  # pos, ksize, child page id
_META_BODY = struct.Struct("<IIIIQQQQQ")  # magic .. txid, without the checksum
_BUCKET_HEADER = struct.Struct("<QQ")  # root page id, sequence

_FIRST_DATA_PAGE = 3  # 0 and 1 are the meta pages, 2 the freelist
_MAX_ELEMENTS = 0xFFFF  # the page header's count is 16 bits wide

_T = TypeVar("_T")

Bucket: TypeAlias = Mapping[bytes, Union[bytes, "Bucket"]]
"""A bucket: keys to plain values (bytes) or to nested buckets (mappings), nested freely."""


def fnv1a64(data: bytes) -> int:
    """FNV-1a 64-bit: the checksum bbolt keeps in each meta page."""
    value = 0xCBF29CE484222325
    for byte in data:
        value = ((value ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return value


class _Writer:
    """Appends pages to one buffer; a page's id is its offset divided by PAGE_SIZE."""

    def __init__(self, inline_small: bool = False) -> None:
        self.buffer = bytearray(_FIRST_DATA_PAGE * PAGE_SIZE)
        # bbolt stores a small bucket of plain values inline, in its parent's value: the
        # bucket header (root 0) followed by one leaf page. Real trivy.db files do.
        self.inline_small = inline_small

    def _allocate(self, size: int) -> tuple[int, int]:
        """Reserve enough whole pages for `size` bytes; return (page id, offset)."""
        pages = max(1, -(-size // PAGE_SIZE))
        offset = len(self.buffer)
        self.buffer.extend(bytes(pages * PAGE_SIZE))
        return offset // PAGE_SIZE, offset

    def write_bucket(self, bucket: Bucket) -> int:
        """Write a bucket (and, first, all its nested buckets); return its root page id."""
        elements: list[tuple[int, bytes, bytes]] = []
        for key in sorted(bucket):  # bbolt binary-searches pages, so keys go in byte order
            if not key:
                raise ValueError("bbolt keys must not be empty")
            value = bucket[key]
            if isinstance(value, bytes | bytearray):
                elements.append((0, key, bytes(value)))
            elif isinstance(value, Mapping):
                inline = self._inline(value) if self.inline_small else None
                if inline is not None:
                    elements.append((_BUCKET_LEAF_FLAG, key, inline))
                    continue
                child_root = self.write_bucket(value)
                elements.append((_BUCKET_LEAF_FLAG, key, _BUCKET_HEADER.pack(child_root, 0)))
            else:
                raise TypeError(f"value of {key!r} is neither bytes nor a mapping")
        return self._write_tree(elements)

    def _inline(self, bucket: Bucket) -> bytes | None:
        """The inline form of a small bucket of plain values (bbolt: under a quarter page)."""
        if not all(isinstance(v, bytes | bytearray) for v in bucket.values()):
            return None
        items = [(0, key, bytes(bucket[key])) for key in sorted(bucket)]  # type: ignore[arg-type]
        headers_end = _PAGE_HEADER.size + _LEAF_ELEMENT.size * len(items)
        size = headers_end + sum(len(k) + len(v) for _, k, v in items)
        if size > PAGE_SIZE // 4:
            return None
        page = bytearray(size)
        _PAGE_HEADER.pack_into(page, 0, 0, _LEAF, len(items), 0)
        data = headers_end
        for index, (flags, key, value) in enumerate(items):
            element = _PAGE_HEADER.size + index * _LEAF_ELEMENT.size
            _LEAF_ELEMENT.pack_into(page, element, flags, data - element, len(key), len(value))
            page[data : data + len(key)] = key
            page[data + len(key) : data + len(key) + len(value)] = value
            data += len(key) + len(value)
        return _BUCKET_HEADER.pack(0, 0) + bytes(page)

    def _write_tree(self, elements: Sequence[tuple[int, bytes, bytes]]) -> int:
        """Spill sorted leaf elements over leaf pages, then add branch levels up to one root."""
        level = [
            (group[0][1], self._write_leaf(group))
            for group in _pack(elements, lambda e: _LEAF_ELEMENT.size + len(e[1]) + len(e[2]))
        ]
        if not level:  # an empty bucket is still one (empty) leaf page
            return self._write_leaf([])
        while len(level) > 1:
            level = [
                (group[0][0], self._write_branch(group))
                for group in _pack(level, lambda e: _BRANCH_ELEMENT.size + len(e[0]))
            ]
        return level[0][1]

    def _write_leaf(self, elements: Sequence[tuple[int, bytes, bytes]]) -> int:
        headers_end = _PAGE_HEADER.size + _LEAF_ELEMENT.size * len(elements)
        size = headers_end + sum(len(k) + len(v) for _, k, v in elements)
        page_id, offset = self._allocate(size)
        self._header(page_id, offset, _LEAF, len(elements), size)
        data = offset + headers_end
        for index, (flags, key, value) in enumerate(elements):
            element = offset + _PAGE_HEADER.size + index * _LEAF_ELEMENT.size
            # pos counts from this element's own header, not from the page start
            _LEAF_ELEMENT.pack_into(
                self.buffer, element, flags, data - element, len(key), len(value)
            )
            self.buffer[data : data + len(key)] = key
            data += len(key)
            self.buffer[data : data + len(value)] = value
            data += len(value)
        return page_id

    def _write_branch(self, children: Sequence[tuple[bytes, int]]) -> int:
        headers_end = _PAGE_HEADER.size + _BRANCH_ELEMENT.size * len(children)
        size = headers_end + sum(len(key) for key, _ in children)
        page_id, offset = self._allocate(size)
        self._header(page_id, offset, _BRANCH, len(children), size)
        data = offset + headers_end
        for index, (key, child) in enumerate(children):
            element = offset + _PAGE_HEADER.size + index * _BRANCH_ELEMENT.size
            _BRANCH_ELEMENT.pack_into(self.buffer, element, data - element, len(key), child)
            self.buffer[data : data + len(key)] = key
            data += len(key)
        return page_id

    def _header(self, page_id: int, offset: int, flags: int, count: int, size: int) -> None:
        # overflow = the pages after the first that this page spills into
        overflow = max(1, -(-size // PAGE_SIZE)) - 1
        _PAGE_HEADER.pack_into(self.buffer, offset, page_id, flags, count, overflow)

    def finish(self, root: int) -> bytes:
        high_water = len(self.buffer) // PAGE_SIZE
        for txid in (0, 1):
            offset = txid * PAGE_SIZE
            _PAGE_HEADER.pack_into(self.buffer, offset, txid, _META, 0, 0)
            body = _META_BODY.pack(_MAGIC, _VERSION, PAGE_SIZE, 0, root, 0, 2, high_water, txid)
            start = offset + _PAGE_HEADER.size
            self.buffer[start : start + len(body)] = body
            # bbolt refuses a meta page whose checksum does not match ("checksum error")
            struct.pack_into("<Q", self.buffer, start + len(body), fnv1a64(body))
        _PAGE_HEADER.pack_into(self.buffer, 2 * PAGE_SIZE, 2, _FREELIST, 0, 0)
        return bytes(self.buffer)


def _pack(items: Sequence[_T], size_of: Callable[[_T], int]) -> list[list[_T]]:
    """Group items, in order, into runs that each fit one page (or one oversized item)."""
    groups: list[list[_T]] = []
    current: list[_T] = []
    used = _PAGE_HEADER.size
    for item in items:
        size = size_of(item)
        if current and (used + size > PAGE_SIZE or len(current) == _MAX_ELEMENTS):
            groups.append(current)
            current, used = [], _PAGE_HEADER.size
        current.append(item)
        used += size
    if current:
        groups.append(current)
    return groups


def write_bolt(path: Path, buckets: Mapping[bytes, Bucket], *, inline_small: bool = False) -> None:
    """Write `buckets` (top-level name -> bucket) as a new bbolt file at `path`.

    Values that are mappings become nested buckets, at any depth; bytes are plain values.
    A bucket with more keys than one page holds is spread over several leaf pages under
    branch pages; a value larger than a page gets a page with overflow pages after it.
    """
    for name, bucket in buckets.items():
        if not isinstance(bucket, Mapping):
            raise TypeError(f"top-level {name!r} must be a bucket: bbolt's root holds buckets only")
    writer = _Writer(inline_small)
    root = writer.write_bucket(buckets)
    path.write_bytes(writer.finish(root))
