"""GGUF (llama.cpp) files: the Jinja chat template stored in the metadata.

Some runtimes render the template with an unsandboxed Jinja environment (the 2024
llama-cpp-python advisory), where `''.__class__.__mro__[1].__subclasses__()` or
`cycler.__init__.__globals__` reach `os`. A chat template needs none of that.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.notes import model_finding

TEMPLATE = "MLS-GGUF-TEMPLATE"
MALFORMED = "MLS-GGUF-MALFORMED"
TEMPLATE_KEY = "tokenizer.chat_template"

# Type codes of GGUF metadata values, and the byte sizes of the fixed-size ones.
_STRING, _ARRAY = 8, 9
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}

_RISKS = (
    (re.compile(r"__\w+__"), "reaches Python internals through a dunder attribute"),
    (re.compile(r"""['"]\s*__|__\s*['"]"""), "builds a dunder name out of strings"),
    (re.compile(r"\|\s*attr\s*\("), "uses the attr filter, which bypasses attribute checks"),
    (
        re.compile(r"\b(?:popen|subprocess|import_module|__import__|eval|exec|system)\s*\("),
        "calls a function that runs code or commands",
    ),
)


class GgufError(ValueError):
    """The metadata cannot be read."""


@dataclass(frozen=True)
class Template:
    key: str
    text: str
    offset: int


def templates(handle: BinaryIO, size: int) -> list[Template]:
    """Every chat template in the metadata (`tokenizer.chat_template` and named variants)."""
    reader = _Reader(handle, size)
    if reader.read(4) != b"GGUF":
        raise GgufError("no GGUF magic")
    reader.version = reader.u32()
    if reader.version not in (1, 2, 3):
        raise GgufError(f"unknown GGUF version {reader.version}")
    reader.length()  # tensor count: tensor infos come after the metadata and are not needed
    found = []
    for _ in range(reader.length()):
        key = reader.string()
        value_type = reader.u32()
        offset = reader.tell()
        if value_type == _STRING and (key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")):
            found.append(Template(key, reader.string(), offset))
        else:
            reader.skip_value(value_type)
    return found


def risks(text: str) -> Iterator[tuple[str, str]]:
    """(snippet, why) for each construct in a template that only an attack needs."""
    for pattern, why in _RISKS:
        match = pattern.search(text)
        if match:
            start = max(0, match.start() - 30)
            yield text[start : match.end() + 30].replace("\n", " "), why


def findings_for(
    found: list[Template], target: str, rule: str = TEMPLATE, ecosystem: str = "gguf"
) -> list[Finding]:
    """One finding per risky template, naming every reason."""
    out = []
    for template in found:
        reasons = list(risks(template.text))
        if not reasons:
            continue
        snippet = reasons[0][0]
        out.append(
            model_finding(
                rule,
                Severity.HIGH,
                target,
                "Chat template reaches for Python internals",
                f"The chat template {template.key!r} "
                + "; ".join(why for _snippet, why in reasons)
                + f" (e.g. ...{snippet}...). Rendered by an unsandboxed Jinja, as some "
                "runtimes do, it runs code on the machine serving the model.",
                "Do not serve this model with its embedded template: replace the template "
                "with a reviewed one, and render templates only in Jinja's SandboxedEnvironment.",
                package=template.key,
                location=(
                    f"metadata key {template.key} at byte offset {template.offset}"
                    if template.offset
                    else template.key
                ),
                ecosystem=ecosystem,
            )
        )
    return out


def malformed(target: str, reason: str) -> Finding:
    """The metadata could not be read to the end."""
    return model_finding(
        MALFORMED,
        Severity.UNKNOWN,
        target,
        "GGUF metadata could not be read",
        f"Reading the GGUF metadata stopped: {reason}. Its chat template was not checked.",
        "Re-download or re-convert the file.",
        ecosystem="gguf",
    )


class _Reader:
    def __init__(self, handle: BinaryIO, size: int) -> None:
        self.handle = handle
        self.size = size
        self.version = 3  # set from the header; version 1 wrote counts and lengths as u32

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

    def string(self) -> str:
        return self.read(self.length()).decode("utf-8", "replace")

    def skip_value(self, value_type: int) -> None:
        if value_type in _FIXED:
            self.skip(_FIXED[value_type])
        elif value_type == _STRING:
            self.skip(self.length())
        elif value_type == _ARRAY:
            item_type = self.u32()
            count = self.length()
            if item_type in _FIXED:
                self.skip(_FIXED[item_type] * count)
            else:
                for _ in range(count):
                    self.skip_value(item_type)
        else:
            raise GgufError(f"unknown metadata value type {value_type}")
