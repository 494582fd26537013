"""requirements*.txt, read far enough to tell which requirements can be checked.

Trivy matches only `name==version` pins in a requirements file; everything else (`>=`,
`~=`, `===`, wildcards, bare names, URLs) it skips without a word. This reader makes that
split visible: each requirement with its line and, when pinned the way Trivy reads it, the
exact version. A wheel or sdist URL (or path) whose file name states the project and
version (`name @ https://.../name-1.0-py3-none-any.whl`, or the bare URL) is pinned to that
version too; other URLs, VCS links and local directories name nothing that can be looked up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.coverage import NotChecked, Unchecked
from mlsecops.deps.archive_names import archive_name_version
from mlsecops.deps.listing import Declared, FileKind, Listing, normalise
from mlsecops.deps.unpinned import unpinned_finding
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind

_NAME = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?"
)
_PIN = re.compile(r"^==\s*(?P<version>[A-Za-z0-9][A-Za-z0-9.!+_-]*)$")
_COMMENT = re.compile(r"(^|\s)#.*$")
# The common line, `name==1.2.3` (no extras, marker, option or URL): read without the
# general parse, which costs more than Trivy's own reading of a 20,000-pin monorepo.
_PLAIN_PIN = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*==\s*"
    r"(?P<version>[A-Za-z0-9][A-Za-z0-9.!+_-]*)\s*$"
)
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(\s+|=)(?P<file>\S+)")
_EDITABLE = re.compile(r"^(-e|--editable)(\s+|=)")
# Options that only choose where packages come from: kept when pip resolves the file.
_INDEX_OPTION = re.compile(r"^(-i|--index-url|--extra-index-url|--pre)(\s+|=|$)")
_LINE_OPTION = re.compile(r"\s--?[A-Za-z]")


@dataclass(frozen=True)
class Requirement:
    """One requirement line of a requirements file, as written and as pinned."""

    name: str  # as written
    spec: str  # the version part as written: "==2.19.1", ">=1.24", "@ https://...", ""
    line: int
    pinned: str = ""  # the exact version when an `==` clause (or an archive's name) pins it
    url: str = ""  # a direct reference: `name @ URL`, or a bare archive URL or path
    text: str = ""  # the requirement as written, per-line options (--hash) dropped

    @property
    def from_index(self) -> bool:
        """Installed from a package index (what pip may resolve), not from a URL or path."""
        return not self.url

    @property
    def key(self) -> str:
        """The name as PyPI compares it (PEP 503: lower case, runs of `-_.` as `-`)."""
        return normalise(self.name)


@dataclass(frozen=True)
class RequirementsFile:
    """A requirements file read: its requirements, the files it pulls in, and its options."""

    path: Path
    requirements: tuple[Requirement, ...]
    includes: tuple[tuple[str, int], ...] = ()  # `-r` files and their line
    constraints: tuple[tuple[str, int], ...] = ()  # `-c` files and their line
    index_options: tuple[str, ...] = ()  # `--index-url`, `--extra-index-url`, `--pre` lines
    # Lines that install something without naming a package and version (`-e git+...`,
    # a wheel URL, `./vendored`), so nothing can be looked up for them; and their line.
    unchecked: tuple[tuple[str, int], ...] = ()

    def line_of(self, name: str) -> int | None:
        """The line of the requirement naming `name`, if any."""
        key = normalise(name)
        return next((r.line for r in self.requirements if r.key == key), None)


def read_requirements(path: Path) -> RequirementsFile:
    """Every requirement in the file, with the line it starts on."""
    # Guarded: never a FIFO or a device, never past the size limit. A stray non-UTF-8 byte
    # (a Latin-1 comment) is replaced, not fatal: pip and Trivy read such files too.
    text = read_text(path, InputKind.REQUIREMENTS, errors="replace")
    requirements: list[Requirement] = []
    files: dict[str, list[tuple[str, int]]] = {"-r": [], "-c": []}
    unchecked: list[tuple[str, int]] = []
    options: list[str] = []
    for line, logical in _logical_lines(text):
        include = _INCLUDE.match(logical.strip())
        if include:
            kind = "-c" if include[1] in ("-c", "--constraint") else "-r"
            files[kind].append((include["file"], line))
            continue
        if _INDEX_OPTION.match(logical.strip()):
            options.append(" ".join(logical.split()))
            continue
        requirement = parse_requirement(logical, line)
        if requirement is not None and (requirement.from_index or requirement.pinned):
            requirements.append(requirement)
        elif logical.strip() and (not logical.lstrip().startswith("-") or _EDITABLE.match(logical)):
            unchecked.append((" ".join(logical.split()), line))
    return RequirementsFile(
        path,
        tuple(requirements),
        includes=tuple(files["-r"]),
        constraints=tuple(files["-c"]),
        index_options=tuple(options),
        unchecked=tuple(unchecked),
    )


def parse_requirement(text: str, line: int = 0) -> Requirement | None:
    """One requirement line; None for options (`-e`, `--index-url`, ...) and for URLs or
    paths that name no project and version. A `name @ URL` requirement comes back with its
    `url`, pinned only when the archive's file name states the same project's version."""
    plain = _PLAIN_PIN.match(text)
    if plain is not None:
        written = text.strip()
        spec = " ".join(written[len(plain["name"]) :].split())
        return Requirement(plain["name"], spec, line, plain["version"], text=written)
    text = text.strip()
    if not text or text.startswith("-"):
        return None
    if _is_location(text):
        return _archive_requirement(text.split()[0].split(";")[0], line)
    match = _NAME.match(text)
    if not match:
        return None
    written = _LINE_OPTION.split(" " + text, maxsplit=1)[0].strip()  # per-line options (--hash)
    rest = written[match.end() :].split(";", 1)[0]  # environment marker dropped
    spec = " ".join(rest.split())
    if spec.startswith("@"):
        url = spec[1:].strip()
        archive = archive_name_version(url)
        same = archive is not None and normalise(archive[0]) == normalise(match["name"])
        version = archive[1] if archive and same else ""
        return Requirement(match["name"], spec, line, version, url, written)
    return Requirement(match["name"], spec, line, _pinned(spec), text=written)


def _is_location(text: str) -> bool:
    """A URL or a local path rather than a project name."""
    first = text.split()[0]
    return first.startswith((".", "/", "~")) or "://" in first.split("@")[0] or ":\\" in first


def _archive_requirement(location: str, line: int) -> Requirement | None:
    archive = archive_name_version(location)
    if archive is None:
        return None
    return Requirement(archive[0], location, line, archive[1], location, location)


def _pinned(spec: str) -> str:
    # Like Trivy: any `==` clause pins the version (`requests==2.19.1,<3` is 2.19.1);
    # a wildcard (`==2.5.*`) or `===` does not.
    for clause in spec.replace(" ", "").split(","):
        pin = _PIN.match(clause)
        if pin:
            return pin["version"]
    return ""


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(first physical line, text) with comments dropped and `\\` continuations joined."""
    lines: list[tuple[int, str]] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        stripped = (_COMMENT.sub("", raw) if "#" in raw else raw).rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append((start, pending + stripped))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


class RequirementsReader:
    """requirements*.txt (and `.in` files, and other pip requirement files) as a Listing."""

    def read(self, path: Path, target: str) -> Listing:
        """Pins are checked; unpinned requirements get MLS-UNPINNED; lines naming no
        project and version (a VCS link, a local directory) are not checked."""
        return requirements_listing(read_requirements(path), target)


def requirements_listing(requirements: RequirementsFile, target: str) -> Listing:
    """The Listing of a requirements file read without --resolve."""
    pinned = tuple(
        Declared(r.name, r.pinned, r.line) for r in requirements.requirements if r.pinned
    )
    unpinned = [r for r in requirements.requirements if not r.pinned]
    not_checked = [
        NotChecked(Unchecked.UNPINNED, target, r.name, r.line, r.spec or "any version")
        for r in unpinned
    ]
    not_checked += not_a_package(requirements, target)
    findings = tuple(
        unpinned_finding(
            package=r.name,
            spec=r.spec,
            target=target,
            line=r.line,
            ecosystem="pip",
            how_to_pin=f"pin it ({r.name}==X.Y.Z) or use a lock file, or scan with --resolve "
            "to check the versions pip resolves today",
        )
        for r in unpinned
    )
    return Listing(
        requirements.path,
        target,
        FileKind.REQUIREMENTS,
        pinned,
        tuple(not_checked),
        findings,
        includes=included_files(requirements),
    )


def included_files(requirements: RequirementsFile) -> tuple[Path, ...]:
    """The files a requirements file pulls in with `-r`, relative to it."""
    return tuple(requirements.path.parent / name for name, _line in requirements.includes)


def not_a_package(requirements: RequirementsFile, target: str) -> list[NotChecked]:
    """One ledger entry per line that installs something without naming a project and
    version (`-e git+...`, a URL, a local path): nothing can be looked up for it."""
    return [
        NotChecked(Unchecked.NOT_A_PACKAGE, target, text, line, "local, VCS or URL requirement")
        for text, line in requirements.unchecked
    ]
