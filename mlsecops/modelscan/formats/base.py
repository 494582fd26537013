"""The one interface every model format handler implements, and what it is given.

A handler is a `Handler(name, sniff, scan)` line in the table in `formats/__init__.py`:
`sniff` looks at the first bytes (a `Sniffed`) and says whether the data is its format;
`scan` reads the `Data` and returns findings. Everything a handler needs from the rest of
the scanner (the rules, scanning data nested inside, handing strings to a collector) comes
through the `Context` it is given, so a handler is tested with real bytes and no scanner.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from mlsecops.core.findings import Finding
from mlsecops.modelscan.budget import Budget
from mlsecops.modelscan.pickle_findings import Loader
from mlsecops.modelscan.pickle_stream import Parse
from mlsecops.modelscan.rules import Rules
from mlsecops.modelscan.streams import Stream

HEAD_SIZE = 4096  # enough for an HDF5 superblock behind a user block of up to 2 KiB


class TooLarge(Exception):
    """Data a handler needs whole, or one of its parts, is over the scanner's limit."""

    def __init__(self, what: str, limit: int) -> None:
        super().__init__(f"{what} is over the limit of {limit} bytes")
        self.what = what  # e.g. "the member's data", "the .npy header of 70000000 bytes"
        self.limit = limit


@dataclass(frozen=True)
class Where:
    """Where a piece of data sits: the file, the archive members and pickles around it."""

    target: str  # display path of the file on disk
    member: tuple[str, ...] = ()  # the archive members it is in, outermost first
    model_dir: Path | None = None  # the directory external files are resolved against
    depth: int = 0  # archives, compressed layers and pickles this data is inside of
    loader: Loader = Loader.PICKLE  # which loader unpickles it (decides the advice)
    prefix: str = ""  # location prefix for data nested inside a pickle
    # The pickle reader's budgets, shared by everything read from one top-level file.
    budget: Budget = dataclasses.field(default_factory=lambda: Budget.for_file(0))

    @property
    def in_archive(self) -> bool:
        """True for data inside another file (a member, decompressed or nested bytes)."""
        return self.depth > 0

    def inside_member(self, name: str, loader: Loader) -> Where:
        """An archive member, one level deeper."""
        return dataclasses.replace(
            self, member=(*self.member, name), depth=self.depth + 1, loader=loader, prefix=""
        )

    def inside(self, prefix: str = "") -> Where:
        """Data found inside this data (decompressed, or bytes in a pickle): one level deeper."""
        return dataclasses.replace(self, depth=self.depth + 1, prefix=prefix)

    def place(self, findings: list[Finding]) -> list[Finding]:
        """Findings made here, placed: in this member (unless placed deeper), after the prefix."""
        return [self._place(finding) for finding in findings]

    def _place(self, finding: Finding) -> Finding:
        if self.member and not finding.member:
            finding = dataclasses.replace(finding, member=self.member)
        if self.prefix:
            location = f"{self.prefix}{finding.location}".rstrip(": ")
            finding = dataclasses.replace(finding, location=location)
        return finding


class Sniffed:
    """The first bytes of some data, its name, and (on demand) its parse as an old pickle.

    Protocol 0/1 pickles have no magic number: telling them from text takes a parse of the
    whole data, which is done at most once and handed to the pickle handler.
    """

    def __init__(self, head: bytes, name: str, parse: Callable[[], Parse]) -> None:
        self.head = head
        self.name = name  # the file or member name: only for formats a loader picks by suffix
        self._parse = parse
        self._parsed: Parse | None = None
        self.memo: dict[str, object] = {}  # a handler's sniff keeps its parse here for its scan

    @property
    def parsed(self) -> Parse | None:
        """The pickle parse, if one was run (None: it was not needed)."""
        return self._parsed

    def pickle_parse(self) -> Parse:
        """The data parsed as pickles from its start (run once)."""
        if self._parsed is None:
            self._parsed = self._parse()
        return self._parsed


@dataclass(frozen=True)
class Data:
    """A piece of model data to scan: a file, an archive member, decompressed or nested bytes.

    `open()` gives a fresh peekable stream from the start (pickles are read that way, never
    whole); `random_access()` a seekable handle positioned at 0, for formats that jump
    around (zip, safetensors, GGUF, ONNX, HDF5). It raises TooLarge when the data would
    have to be held whole (decompressed) and is over the scanner's limit.
    """

    where: Where
    sniffed: Sniffed
    open: Callable[[], Stream]
    random_access: Callable[[], BinaryIO]
    size: int | None = None  # None when only known by reading (compressed data)
    on_disk: BinaryIO | None = None  # the real file, for formats that map it (ONNX)

    @property
    def head(self) -> bytes:
        """The first bytes (up to HEAD_SIZE)."""
        return self.sniffed.head

    def seekable(self) -> tuple[BinaryIO, int]:
        """`random_access()` and the data's size (measured when not known beforehand)."""
        handle = self.random_access()
        if self.size is not None:
            return handle, self.size
        size = handle.seek(0, 2)
        handle.seek(0)
        return handle, size


class Accept(enum.Enum):
    """Which handlers nested data may be dispatched to."""

    ANY = "any"
    LOADABLE = "loadable"  # only what a loader unpickles or unpacks: pickle, zip, .npy


@dataclass(frozen=True)
class Found:
    """A string a handler read from a model (for the secrets collector)."""

    target: str  # the file on disk
    member: tuple[str, ...]  # the archive members it is in, outermost first
    location: str  # where in the data, e.g. "metadata key general.name"
    text: str

    @classmethod
    def at(cls, where: Where, location: str, text: str) -> Found:
        """A string read from the data at `where`."""
        return cls(where.target, where.member, location, text)


@dataclass(frozen=True)
class ScanOptions:
    """What the caller of a model scan may choose."""

    allowed_globals: tuple[str, ...] = ()  # project-trusted pickle globals (policy)
    use_h5py: bool = True  # read .h5 files with h5py when it is installed
    strings: Callable[[list[Found]], None] | None = None  # the string collector, if any


class Context(Protocol):
    """What a handler may ask of the scanner that runs it."""

    @property
    def rules(self) -> Rules:
        """The pickle allow/deny lists, with the project's own trusted globals."""
        ...

    @property
    def options(self) -> ScanOptions:
        """The scan's options."""
        ...

    def identify(self, data: Data, accept: Accept = Accept.ANY) -> Handler | None:
        """The handler that would scan `data` (None: a format the scanner does not read)."""
        ...

    def scan(self, data: Data, accept: Accept = Accept.ANY, claim: str = "") -> list[Finding]:
        """Scan data found inside other data (depth-limited); [] for data of no interest.

        `claim` names the handler to use when the data sniffs as no format (an archive
        member a loader unpickles by its name, whatever it looks like).
        """
        ...

    def strings(self, found: list[Found]) -> None:
        """Hand strings read from a model (configs, metadata, templates) to the collector."""
        ...

    def external_files(self, paths: list[Path]) -> None:
        """Files a model names as its own data (ONNX external data): known, not unknown."""
        ...


@dataclass(frozen=True)
class Handler:
    """One model format: how to recognise it, and how to scan it.

    `suffixes`: file names a loader reads as this format whatever their content; data that
    sniffs as nothing else but carries one of them goes to this handler, which reports it
    as a malformed file of its format rather than as an unknown file.
    """

    name: str
    sniff: Callable[[Data], bool]
    scan: Callable[[Data, Context], list[Finding]]
    suffixes: tuple[str, ...] = ()
    loadable: bool = False  # a loader unpickles or unpacks it when found inside a pickle
    fallback: bool = False  # tried only after name claims (text: what is left over)
