"""Lock files (poetry.lock, uv.lock, Pipfile.lock): every package they pin, on its line.

Trivy reads these files itself, but not always all of them: it drops the packages of a
poetry project reached only through a local path dependency, and never reads Pipfile.lock's
`develop` section. deps/project.py compares what Trivy listed with what these readers list,
and checks the rest another way. The readers scan lines rather than parse TOML (a full parse
of big locks costs more than Trivy's own run); `check_lock_syntax` does the full parse, only
for a lock Trivy said nothing about, so a malformed lock is still a usage error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlsecops.core.coverage import NotChecked, Unchecked
from mlsecops.deps.listing import Declared, FileKind, Listing, normalise
from mlsecops.deps.poetry_dev import dev_only, main_names
from mlsecops.guarded.files import read_text
from mlsecops.guarded.json_text import parse_json
from mlsecops.guarded.limits import InputKind
from mlsecops.guarded.toml_text import parse_toml

_TABLE = re.compile(r"^\s*\[\[?(?P<table>[^\]]+)\]\]?\s*$")
_STRING_KEY = re.compile(r'^(?P<key>[A-Za-z-]+)\s*=\s*"(?P<value>[^"]*)"')
_GROUPS = re.compile(r"^groups\s*=\s*\[(?P<groups>[^\]]*)\]")
_SOURCE = re.compile(r"^source\s*=\s*\{\s*(?P<kind>[a-z]+)\s*=")
# A key of `[package.dependencies]`: `ray = "^2.9.0"`, `"ruamel.yaml" = {version = ...}`.
_DEPENDENCY_KEY = re.compile(
    r"^\s*(?P<quote>\"?)(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)(?P=quote)\s*="
)
# Sources that name a local directory or a VCS checkout: nothing to look up on PyPI.
_LOCAL_SOURCES = {"directory", "editable", "virtual", "path", "git"}


@dataclass
class _Block:
    """One `[[package]]` table of a TOML lock while it is being read."""

    line: int
    fields: dict[str, str] = field(default_factory=dict)
    groups: tuple[str, ...] | None = None  # None: the lock does not say
    source: str = ""
    dependencies: list[str] = field(default_factory=list)  # normalised names


def _toml_blocks(text: str) -> list[_Block]:
    """The `[[package]]` tables of a TOML lock, with the keys the readers need."""
    blocks: list[_Block] = []
    current: _Block | None = None
    table = ""  # the table the line is in: "package", "package.source", ...
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TABLE.match(line)
        if header:
            table = header["table"].strip()
            if table == "package" and line.lstrip().startswith("[["):
                current = _Block(number)
                blocks.append(current)
            continue
        if current is None:
            continue
        if table == "package.dependencies":
            if (key := _DEPENDENCY_KEY.match(line)) is not None:
                current.dependencies.append(normalise(key["name"]))
            continue
        if table not in ("package", "package.source"):
            continue
        if (found := _STRING_KEY.match(line)) is not None:
            if table == "package.source" and found["key"] == "type":
                current.source = found["value"]
            elif table == "package" and found["key"] not in current.fields:
                current.fields[found["key"]] = found["value"]
                if found["key"] == "name":
                    current.line = number  # findings point at `name = "..."`
        elif (groups := _GROUPS.match(line)) is not None:
            current.groups = tuple(g.strip().strip("\"'") for g in groups["groups"].split(","))
        elif (source := _SOURCE.match(line)) is not None:
            current.source = source["kind"]
    return blocks


@dataclass(frozen=True)
class LockReader:
    """One kind of lock file as a Listing (poetry.lock, uv.lock or Pipfile.lock)."""

    kind: FileKind

    def read(self, path: Path, target: str) -> Listing:
        """Every package the lock pins; local and VCS packages are not checked."""
        text = _read(path, self.kind)
        if self.kind is FileKind.PIPFILE_LOCK:
            return _pipfile_listing(path, target, text)
        ecosystem = "poetry" if self.kind is FileKind.POETRY_LOCK else "uv"
        packages: list[Declared] = []
        skipped: list[NotChecked] = []
        blocks = _toml_blocks(text)
        for block in blocks:
            name, version = block.fields.get("name", ""), block.fields.get("version", "")
            if not name:
                continue
            if block.source in _LOCAL_SOURCES or not version:
                detail = f"{block.source or 'unversioned'} package in the lock"
                skipped.append(
                    NotChecked(Unchecked.NOT_A_PACKAGE, target, name, block.line, detail)
                )
                continue
            packages.append(Declared(name, version, block.line, False, ecosystem))
        if self.kind is FileKind.UV_LOCK:  # uv.lock marks no package: Trivy's walk decides
            return Listing(path, target, self.kind, tuple(packages), tuple(skipped))
        dev = _poetry_dev(path, blocks)
        packages = [replace(d, dev=True) if normalise(d.name) in dev else d for d in packages]
        return Listing(path, target, self.kind, tuple(packages), tuple(skipped), judges_dev=True)


def _poetry_dev(path: Path, blocks: list[_Block]) -> set[str]:
    """Normalised names of a poetry.lock's development-only packages (deps/poetry_dev)."""
    if any(b.groups is not None or "category" in b.fields for b in blocks):
        return {
            normalise(b.fields.get("name", ""))
            for b in blocks
            if b.fields.get("category") == "dev"
            or (b.groups is not None and "main" not in b.groups)
        }
    main = main_names(path.parent / "pyproject.toml")
    if main is None:
        return set()
    edges: dict[str, list[str]] = {}
    for block in blocks:
        edges.setdefault(normalise(block.fields.get("name", "")), []).extend(block.dependencies)
    return dev_only(main, edges, edges)


def _pipfile_listing(path: Path, target: str, text: str) -> Listing:
    """Pipfile.lock's `default` and `develop` sections (JSON; lines found by key)."""
    data = parse_json(text, f"lock file {path}", _fix(FileKind.PIPFILE_LOCK))
    lines = _json_key_lines(text)
    packages: list[Declared] = []
    skipped: list[NotChecked] = []
    for section, dev in (("default", False), ("develop", True)):
        entries = data.get(section) if isinstance(data, dict) else None
        for name, entry in (entries or {}).items() if isinstance(entries, dict) else ():
            line = lines.get((section, name))
            version = entry.get("version", "") if isinstance(entry, dict) else ""
            if isinstance(version, str) and version.startswith("=="):
                packages.append(Declared(name, version[2:], line, dev, "pipenv"))
            else:
                detail = "local, VCS or unversioned entry in the lock"
                skipped.append(NotChecked(Unchecked.NOT_A_PACKAGE, target, name, line, detail))
    kind = FileKind.PIPFILE_LOCK
    return Listing(path, target, kind, tuple(packages), tuple(skipped), judges_dev=True)


_JSON_KEY = re.compile(r'^(?P<indent>\s*)"(?P<key>[^"]+)"\s*:\s*\{')


def _json_key_lines(text: str) -> dict[tuple[str, str], int]:
    """(section, package) -> line of `"package": {` in an indented Pipfile.lock."""
    lines: dict[tuple[str, str], int] = {}
    section = ""
    section_indent = -1
    for number, line in enumerate(text.splitlines(), start=1):
        match = _JSON_KEY.match(line)
        if not match:
            continue
        indent = len(match["indent"])
        if match["key"] in ("default", "develop", "_meta") and (
            section_indent < 0 or indent <= section_indent
        ):
            section, section_indent = match["key"], indent
        elif section and indent > section_indent:
            lines.setdefault((section, match["key"]), number)
    return lines


def check_lock_syntax(path: Path, kind: FileKind) -> None:
    """Parse the whole lock; a malformed one is a UsageError (Trivy skips it silently)."""
    text = _read(path, kind)
    if kind is FileKind.PIPFILE_LOCK:
        parse_json(text, f"lock file {path}", _fix(kind))
    else:
        parse_toml(text, f"lock file {path}", _fix(kind))


_REGENERATE = {
    FileKind.POETRY_LOCK: "poetry lock",
    FileKind.UV_LOCK: "uv lock",
    FileKind.PIPFILE_LOCK: "pipenv lock",
}


def _fix(kind: FileKind) -> str:
    return f"regenerate it (`{_REGENERATE[kind]}`) and scan again"


def _read(path: Path, kind: FileKind) -> str:
    # Guarded: a regular file within the size limit, UTF-8.
    return read_text(path, InputKind.LOCK_FILE)
