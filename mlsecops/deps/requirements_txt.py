"""requirements*.txt, read far enough to tell which requirements Trivy can check.

Trivy matches only `name==version` pins in a requirements file; everything else (`>=`,
`~=`, `===`, wildcards, bare names, URLs) it skips without a word. This reader makes that
split visible: each requirement with its line and, when pinned the way Trivy reads it, the
exact version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind

_NAME = re.compile(
    r"^(?P<name>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?P<extras>\[[^\]]*\])?"
)
_PIN = re.compile(r"^==\s*(?P<version>[A-Za-z0-9][A-Za-z0-9.!+_-]*)$")
_COMMENT = re.compile(r"(^|\s)#.*$")
_INCLUDE = re.compile(r"^(-r|--requirement|-c|--constraint)(\s+|=)(?P<file>\S+)")
_EDITABLE = re.compile(r"^(-e|--editable)(\s+|=)")


def normalise(name: str) -> str:
    """PEP 503 project-name normalisation: `PyYAML`, `pyyaml` and `py_yaml` are one project."""
    return re.sub(r"[-_.]+", "-", name).lower()


@dataclass(frozen=True)
class Requirement:
    name: str  # as written
    spec: str  # the version part as written: "==2.19.1", ">=1.24", "@ https://...", ""
    line: int
    pinned: str = ""  # the exact version when an `==` clause pins it (what Trivy reads)

    @property
    def key(self) -> str:
        return normalise(self.name)


@dataclass(frozen=True)
class RequirementsFile:
    path: Path
    requirements: tuple[Requirement, ...]
    includes: tuple[tuple[str, int], ...] = ()  # `-r` / `-c` files and their line
    # Lines that install something without naming a package and version (`-e git+...`,
    # a wheel URL, `./vendored`), so nothing can be looked up for them; and their line.
    unchecked: tuple[tuple[str, int], ...] = ()

    def line_of(self, name: str) -> int | None:
        key = normalise(name)
        return next((r.line for r in self.requirements if r.key == key), None)


def read_requirements(path: Path) -> RequirementsFile:
    """Every requirement in the file, with the line it starts on."""
    # Guarded: never a FIFO or a device, never past the size limit. A stray non-UTF-8 byte
    # (a Latin-1 comment) is replaced, not fatal: pip and Trivy read such files too.
    text = read_text(path, InputKind.REQUIREMENTS, errors="replace")
    requirements: list[Requirement] = []
    includes: list[tuple[str, int]] = []
    unchecked: list[tuple[str, int]] = []
    for line, logical in _logical_lines(text):
        include = _INCLUDE.match(logical)
        if include:
            includes.append((include["file"], line))
            continue
        requirement = parse_requirement(logical, line)
        if requirement is not None:
            requirements.append(requirement)
        elif logical.strip() and (not logical.lstrip().startswith("-") or _EDITABLE.match(logical)):
            unchecked.append((" ".join(logical.split()), line))
    return RequirementsFile(path, tuple(requirements), tuple(includes), tuple(unchecked))


def parse_requirement(text: str, line: int = 0) -> Requirement | None:
    """One requirement line; None for options (`-e`, `--index-url`, ...) and bare URLs/paths."""
    text = text.strip()
    if not text or text.startswith(("-", ".", "/")) or "://" in text.split("@")[0]:
        return None
    match = _NAME.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    rest = rest.split(";", 1)[0]  # environment marker
    rest = re.split(r"\s--?[A-Za-z]", " " + rest, maxsplit=1)[0]  # per-line options (--hash)
    spec = " ".join(rest.split())
    return Requirement(match["name"], spec, line, _pinned(spec))


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
        stripped = _COMMENT.sub("", raw).rstrip()
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append((start, pending + stripped))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines
