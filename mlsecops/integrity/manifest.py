"""The manifest: every file's path, size and SHA-256, its canonical form, and its digest.

The digest is the SHA-256 of the canonical JSON of everything except `signature` (sorted keys,
no whitespace, UTF-8, integers only), so it does not depend on how the file was pretty-printed,
and the HMAC signs exactly the same bytes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from itertools import islice
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, NoReturn

from mlsecops.errors import UsageError
from mlsecops.guarded.files import read_text
from mlsecops.guarded.json_text import parse_json
from mlsecops.guarded.limits import InputKind
from mlsecops.integrity.provenance import Provenance
from mlsecops.integrity.relpath import path_problem
from mlsecops.integrity.tree import Kind

SCHEMA = "manifest.schema.json"
SCHEMA_VERSION = 1
FORMAT = "mlsecops-model-manifest"
ALGORITHM = "sha256"
# Matched with fullmatch: `$` would also accept a trailing newline.
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)  # slots: a manifest may hold 100,000s
class FileEntry:
    """One file of the model."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Signature:
    """An HMAC over the manifest's canonical bytes; not part of the digest it protects."""

    algorithm: str
    value: str


@dataclass(frozen=True)
class Manifest:
    """A model's files, in canonical (sorted) order, with the run it came from."""

    kind: Kind
    files: tuple[FileEntry, ...]
    provenance: Provenance | None = None
    signature: Signature | None = None

    @property
    def total_bytes(self) -> int:
        """The sum of all file sizes."""
        return sum(entry.size for entry in self.files)

    def body(self) -> dict[str, Any]:
        """Everything the digest covers: the whole manifest but its signature."""
        body = self._shell()
        body["files"] = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in self.files]
        return body

    def canonical_bytes(self) -> bytes:
        """The bytes the digest and the HMAC are computed over."""
        return b"".join(self.canonical_chunks())

    def canonical_chunks(self) -> Iterator[bytes]:
        """The canonical bytes, a few thousand files at a time (what a hash can stream)."""
        shell = canonical_json(self._shell())
        before, after = shell.split(b'"files":[]', 1)  # see _shell
        entry = '{{"path":{},"sha256":{},"size":{}}}'  # keys sorted, no whitespace
        parts = (entry.format(_string(e.path), _string(e.sha256), int(e.size)) for e in self.files)
        yield before + b'"files":['
        for chunk in _chunks(parts, ","):
            yield chunk.encode("utf-8")
        yield b"]" + after

    def digest(self) -> str:
        """`sha256:<hex>` of the canonical bytes."""
        return self._digest

    # Computed once per manifest: the digest check and the outputs all need it, and a
    # manifest of many files is slow to serialize. Safe to cache: a Manifest is immutable
    # all the way down, and dataclasses.replace makes a new one.
    @cached_property
    def _digest(self) -> str:
        digest = hashlib.sha256()
        for chunk in self.canonical_chunks():
            digest.update(chunk)
        return "sha256:" + digest.hexdigest()

    def to_json(self) -> str:
        """The manifest file's text: the canonical content, indented, fields in reading order."""
        return "".join(self.json_chunks())

    def json_chunks(self) -> Iterator[str]:
        """`to_json()`, a few thousand files at a time (what a file can be written from)."""
        shell = self._shell()
        if self.signature is not None:
            shell["signature"] = {
                "algorithm": self.signature.algorithm,
                "value": self.signature.value,
            }
        text = json.dumps(shell, indent=2, ensure_ascii=False) + "\n"
        if not self.files:
            yield text
            return
        before, after = text.split('"files": []', 1)  # see _shell
        entry = '    {{\n      "path": {},\n      "size": {},\n      "sha256": {}\n    }}'
        parts = (entry.format(_string(e.path), int(e.size), _string(e.sha256)) for e in self.files)
        yield before + '"files": [\n'
        yield from _chunks(parts, ",\n")
        yield "\n  ]" + after

    def _shell(self) -> dict[str, Any]:
        """The body with an empty `files`, which the callers fill in.

        The files are written as json.dumps would write them (its indenting encoder is pure
        Python, ~30 us a file: 3 s for 100,000 files; and a dict per file costs ~200 bytes),
        into the one place `"files": []` can be in the shell's JSON: every other quote the
        shell holds is inside a string, where json escapes it, so it can only be the key.
        """
        shell: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "format": FORMAT,
            "algorithm": ALGORITHM,
            "kind": self.kind,
            "files": [],
        }
        if self.provenance is not None:
            shell["provenance"] = self.provenance.to_dict()
        return shell


# json's own string encoder (C), the one json.dumps(ensure_ascii=False) uses.
_string = encode_basestring
_CHUNK = 4096


def _chunks(parts: Iterator[str], separator: str) -> Iterator[str]:
    """`separator.join(parts)` cut into pieces of _CHUNK parts: never every part at once."""
    lead = ""
    while chunk := list(islice(parts, _CHUNK)):
        yield lead + separator.join(chunk)
        lead = separator


def normalize_digest(value: str) -> str | None:
    """`value` as a manifest digest, `sha256:<64 lowercase hex>` (surrounding blanks and case
    do not matter), or None when it is not one."""
    digest = value.strip().lower()
    return digest if _DIGEST.fullmatch(digest) else None


def canonical_json(data: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8 (not \\u escapes): one byte string per content."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def sort_key(entry: FileEntry) -> str:
    """The canonical order: by path, in Unicode code point order (the same as UTF-8 bytes)."""
    return entry.path


def read_manifest(path: Path) -> Manifest:
    """Load and check a manifest file; unreadable, not JSON or off-schema is a UsageError."""
    # Guarded: a FIFO or device is refused unopened, a huge file before it is read.
    return parse_manifest(read_text(path, InputKind.MANIFEST), f"manifest {path}")


def parse_manifest(text: str, source: str = "manifest") -> Manifest:
    """A manifest from JSON text, validated against the shipped schema."""
    # Imported here: jsonschema costs a tenth of a second, which `hash` never needs to pay.
    from mlsecops.schemas import describe, schema_errors

    # Bounded depth, no lone surrogates (a path must be writable as UTF-8), no duplicate keys.
    data = parse_json(
        text,
        source,
        "pass the file `mlsecops hash` wrote",
        object_pairs_hook=_no_duplicate_keys,
        parse_float=_no_float,
        parse_constant=_no_float,
    )
    errors = schema_errors(data, SCHEMA)
    if errors:
        raise UsageError(
            f"{source} is not a valid manifest: {describe(errors[0])}",
            "pass the file `mlsecops hash` wrote",
        )
    provenance = data.get("provenance")
    signature = data.get("signature")
    # The schema's `^[0-9a-f]{64}$` is applied with Python's re.search (fast path and
    # jsonschema alike), where `$` also matches before a final newline: check whole strings.
    hexes = ((f"files[{i}].sha256", f["sha256"]) for i, f in enumerate(data["files"]))
    signed = [("signature.value", signature["value"])] if signature else []
    for where, value in itertools.chain(hexes, signed):
        if not _HEX_SHA256.fullmatch(value):
            raise UsageError(
                f"{source} is not a valid manifest: {where}: {value!r} is not 64 lowercase hex "
                "digits",
                "pass the file `mlsecops hash` wrote",
            )
    del text  # ~150 bytes a file, no longer needed: not held while the entries are made
    return Manifest(
        kind=data["kind"],
        files=tuple(FileEntry(f["path"], f["size"], f["sha256"]) for f in data["files"]),
        provenance=Provenance(**provenance) if provenance else None,
        signature=Signature(signature["algorithm"], signature["value"]) if signature else None,
    )


def entry_problems(manifest: Manifest) -> list[tuple[str, str]]:
    """Every entry `hash` could never have written: unsafe paths, repeats, out of order.

    Such a manifest was edited by hand or by an attacker (for instance to make `verify` look
    outside the model root), so it is an integrity failure, reported before the model is read.
    """
    problems: list[tuple[str, str]] = []
    for entry in manifest.files:
        problem = path_problem(entry.path)
        if problem:
            problems.append((entry.path, problem))
    counts = Counter(entry.path for entry in manifest.files)
    problems += [(path, f"listed {n} times") for path, n in counts.items() if n > 1]
    if manifest.kind == "file" and (len(manifest.files) != 1 or "/" in manifest.files[0].path):
        problems.append(("(manifest)", "a single-file manifest must list exactly one file name"))
    paths = [entry.path for entry in manifest.files]
    if paths != sorted(paths):
        problems.append(("(manifest)", "entries are not in canonical (sorted) order"))
    return problems


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads would keep the last of two equal keys; a reader that kept the first would
    # see another manifest. Refuse the ambiguity.
    data = dict(pairs)
    if len(data) != len(pairs):  # rare: only then count, to name the key
        keys = Counter(key for key, _ in pairs)
        repeated = next(key for key, count in keys.items() if count > 1)
        raise ValueError(f"duplicate key {repeated!r}")
    return data


def _no_float(text: str) -> NoReturn:
    # Only integers appear in a manifest; a float (or NaN) would not round-trip canonically.
    raise ValueError(f"number {text} is not an integer")
