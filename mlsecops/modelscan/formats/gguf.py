"""GGUF (llama.cpp) files: the Jinja chat templates stored in the metadata.

The metadata is a list of typed key/value pairs; only `tokenizer.chat_template` (and its
named variants) can carry code, through template injection (see modelscan/templates). The
reader keeps every template read before any damage: a dangerous template followed by a
malformed pair is still reported, with a note on where reading stopped.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import BinaryIO

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.formats.base import Context, Data, Found, Handler
from mlsecops.modelscan.notes import model_finding, too_large
from mlsecops.modelscan.templates import Template, template_findings

TEMPLATE = "MLS-GGUF-TEMPLATE"
MALFORMED = "MLS-GGUF-MALFORMED"
TEMPLATE_KEY = "tokenizer.chat_template"
MAX_STRINGS = 4096  # metadata strings handed to the string collector, per file
MAX_KEY = 65535  # the GGUF spec's limit on a key's length
MAX_COLLECTED = 64 * 1024  # longer string values are skipped, not read (tokens are short)
MAX_TEMPLATE = 16 * 1024 * 1024  # chat templates are kilobytes
MAX_VALUES = 16_000_000  # metadata values walked per file (a large vocabulary is ~300k)

# Type codes of GGUF metadata values, and the byte sizes of the fixed-size ones.
_STRING, _ARRAY = 8, 9
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


class GgufError(ValueError):
    """The metadata cannot be read."""


@dataclass
class Metadata:
    """What was read from the metadata, up to the end or the first damage."""

    templates: list[Template] = field(default_factory=list)
    strings: list[tuple[str, str]] = field(default_factory=list)  # (key, value) of strings
    error: str = ""  # why reading stopped early; "" when it reached the end
    too_large: str = ""  # a template over MAX_TEMPLATE, not read


def read_metadata(handle: BinaryIO, size: int) -> Metadata:
    """The chat templates and string values in the metadata, up to any damage."""
    found = Metadata()
    reader = _Reader(handle, size)
    try:
        if reader.read(4) != b"GGUF":
            raise GgufError("no GGUF magic")
        reader.version = reader.u32()
        if reader.version not in (1, 2, 3):
            raise GgufError(f"unknown GGUF version {reader.version}")
        reader.length()  # tensor count: tensor infos come after the metadata, not needed
        for _ in range(reader.length()):
            _read_pair(reader, found)
    except GgufError as exc:
        found.error = str(exc)
    return found


def _read_pair(reader: _Reader, found: Metadata) -> None:
    key_length = reader.length()
    if key_length > MAX_KEY:
        raise GgufError(f"a key of {key_length} bytes exceeds the GGUF limit of {MAX_KEY}")
    key = reader.text(key_length)
    value_type = reader.u32()
    offset = reader.tell()
    if value_type != _STRING:
        reader.skip_value(value_type)
        return
    length = reader.length()
    if key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + "."):
        if length > MAX_TEMPLATE:
            reader.skip(length)  # a length past the end of the file is damage, not size
            found.too_large = f"the chat template {key!r} of {length} bytes"
            return
        found.templates.append(Template(key, reader.text(length), offset))
    elif length <= MAX_COLLECTED and len(found.strings) < MAX_STRINGS:
        found.strings.append((key, reader.text(length)))
    else:
        reader.skip(length)


def malformed(target: str, reason: str) -> Finding:
    """The metadata could not be read to the end."""
    return model_finding(
        MALFORMED,
        Severity.UNKNOWN,
        target,
        "GGUF metadata could not be read",
        f"Reading the GGUF metadata stopped: {reason}. Any chat template after that point "
        "was not checked (findings before it are reported).",
        "Re-download or re-convert the file.",
        ecosystem="gguf",
    )


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for the chat templates in a GGUF file's metadata."""
    target = data.where.target
    metadata = read_metadata(*data.seekable())
    context.strings(
        [Found.at(data.where, f"metadata key {key}", value) for key, value in metadata.strings]
    )
    findings = template_findings(metadata.templates, target, TEMPLATE, "gguf")
    if metadata.too_large:
        findings.append(too_large(target, metadata.too_large, MAX_TEMPLATE))
    if metadata.error:
        findings.append(malformed(target, metadata.error))
    return findings


def _sniff(data: Data) -> bool:
    return data.head.startswith(b"GGUF")


HANDLER = Handler("gguf", _sniff, scan, suffixes=(".gguf",))


class _Reader:
    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.version = 3  # set from the header; version 1 wrote counts and lengths as u32
        self.values = 0

    def tell(self) -> int:
        return self.handle.tell()

    def read(self, count: int) -> bytes:
        self._check(count)
        return self.handle.read(count)

    def skip(self, count: int) -> None:
        self._check(count)
        self.handle.seek(count, 1)

    def _check(self, count: int) -> None:
        if count < 0 or self.handle.tell() + count > self.size:
            raise GgufError(f"a value of {count} bytes runs past the end of the file")

    def u32(self) -> int:
        return int(struct.unpack("<I", self.read(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.read(8))[0])

    def length(self) -> int:
        """A count or a string length: u32 in GGUF version 1, u64 since."""
        return self.u32() if self.version == 1 else self.u64()

    def text(self, length: int) -> str:
        return self.read(length).decode("utf-8", "replace")

    def counted(self) -> None:
        self.values += 1
        if self.values > MAX_VALUES:
            raise GgufError(f"the metadata holds more than {MAX_VALUES} values")

    def skip_value(self, value_type: int, depth: int = 0) -> None:
        self.counted()
        if value_type in _FIXED:
            self.skip(_FIXED[value_type])
        elif value_type == _STRING:
            self.skip(self.length())
        elif value_type == _ARRAY and depth < 8:
            self._skip_array(depth)
        else:
            raise GgufError(f"unknown metadata value type {value_type}")

    def _skip_array(self, depth: int) -> None:
        item_type = self.u32()
        count = self.length()
        if item_type in _FIXED:
            self.skip(_FIXED[item_type] * count)
            return
        if count > self.size:  # every item takes at least a byte
            raise GgufError(f"an array of {count} items runs past the end of the file")
        for _ in range(count):
            self.skip_value(item_type, depth + 1)
