"""`--resolve`: a requirements file as the whole tree pip would install, checked version by version.

Trivy checks only `==` pins and never sees transitive dependencies. With --resolve each
requirements file is resolved on its own (deps/pip_resolver.py); those exact versions are
checked, each finding pinned on the top-level requirement that pulls its package in
("via X"). Only index requirements are handed to pip: local paths, VCS links and URLs could
make pip run the project's code, so they stay in the ledger as not checked (a wheel or
sdist URL whose file name states its version is checked at that version instead). A pin
pip skips for this interpreter (an environment marker) is checked at its pinned version all
the same. A file pip cannot resolve falls back to its pins, with a note saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mlsecops.core.coverage import Unchecked
from mlsecops.deps.listing import Declared, FileKind, Listing
from mlsecops.deps.pip_resolver import Resolution, Resolved, ResolveFailed, Resolver
from mlsecops.deps.requirements_txt import (
    Requirement,
    RequirementsFile,
    included_files,
    not_a_package,
    read_requirements,
    requirements_listing,
)
from mlsecops.errors import UsageError

_MAX_INCLUDE_DEPTH = 20


@dataclass(frozen=True)
class ResolveReader:
    """A requirements file, resolved (see the module docstring)."""

    resolver: Resolver

    def read(self, path: Path, target: str) -> Listing:
        """The resolved tree as a Listing that replaces Trivy's reading of the file."""
        requirements = read_requirements(path)
        try:
            lines, constraints = pip_input(requirements)
            resolution = self.resolver.resolve(lines, constraints)
        except ResolveFailed as failed:
            return _fallback(requirements, target, failed.reason)
        return resolved_listing(requirements, resolution, target)


def pip_input(requirements: RequirementsFile) -> tuple[list[str], list[str]]:
    """The requirement and constraint lines handed to pip: index requirements only, with
    `-r` / `-c` files read here (so what they hold is filtered too), and index options."""
    lines: list[str] = []
    constraints: list[str] = []
    _gather(requirements, lines, constraints, set(), 0)
    return lines, constraints


def _gather(
    requirements: RequirementsFile,
    lines: list[str],
    constraints: list[str],
    seen: set[Path],
    depth: int,
) -> None:
    seen.add(requirements.path.resolve())
    lines += requirements.index_options
    lines += [r.text for r in requirements.requirements if r.from_index]
    for included, into in ((requirements.includes, lines), (requirements.constraints, None)):
        for name, _line in included:
            path = (requirements.path.parent / name).resolve()
            if path in seen:
                continue
            if depth >= _MAX_INCLUDE_DEPTH:
                raise ResolveFailed(f"includes nested deeper than {_MAX_INCLUDE_DEPTH} files")
            try:
                nested = read_requirements(path)
            except UsageError as exc:
                raise ResolveFailed(f"cannot read {name}: {exc.problem}") from exc
            if into is None:  # a constraints file constrains, whatever it includes
                sub: list[str] = []
                _gather(nested, sub, constraints, seen, depth + 1)
                constraints += [line for line in sub if not line.startswith("-")]
            else:
                _gather(nested, lines, constraints, seen, depth + 1)


def resolved_listing(
    requirements: RequirementsFile, resolution: Resolution, target: str
) -> Listing:
    """Every package of the tree, placed on the requirement that brings it in."""
    packages = resolution.packages
    by_key = {p.key: p for p in packages}
    reached = reached_from(packages, [r.key for r in requirements.requirements])
    include_line = requirements.includes[0][1] if requirements.includes else None
    declared = [_declared(p, reached.get(p.key, []), requirements, include_line) for p in packages]
    # pip skips a requirement whose environment marker excludes this interpreter
    # (`tqdm==4.66.1 ; sys_platform == "win32"`); where it applies, the pin is installed,
    # so a pinned one is still checked at its pinned version.
    index = [r for r in requirements.requirements if r.from_index]
    skipped = [r for r in index if r.pinned and r.key not in by_key]
    declared += [_pin(r, "pin") for r in skipped]
    declared += [_pin(r, "url") for r in requirements.requirements if not r.from_index]
    notes = [_resolved_note(requirements, resolution, target)]
    if skipped:
        shown = ", ".join(f"{r.name}=={r.pinned}" for r in skipped)
        notes.append(
            f"{target}: {len(skipped)} pinned requirement(s) pip does not install for Python "
            f"{resolution.python} (an environment marker excludes them): {shown}; checked at "
            "the pinned version all the same."
        )
    return Listing(
        requirements.path,
        target,
        FileKind.REQUIREMENTS,
        tuple(declared),
        tuple(not_a_package(requirements, target)),
        notes=tuple(notes),
        replaces_trivy=True,
        includes=included_files(requirements),
    )


def _resolved_note(requirements: RequirementsFile, resolution: Resolution, target: str) -> str:
    unpinned = sum(1 for r in requirements.requirements if not r.pinned)
    return (
        f"{target}: resolved with pip for Python {resolution.python}: "
        f"{len(resolution.packages)} package(s) checked at the versions pip picks today"
        + (f" ({unpinned} requirement(s) without an exact pin among them)" if unpinned else "")
        + "."
    )


def _declared(
    package: Resolved, via: list[str], requirements: RequirementsFile, include_line: int | None
) -> Declared:
    if package.requested or not via:
        dependency = "direct" if package.requested else "transitive"
        line = requirements.line_of(package.name) or include_line
        direct = (("resolved_by", "pip"), ("dependency", dependency))
        return Declared(package.name, package.version, line, properties=direct)
    line = requirements.line_of(via[0]) or include_line
    through = (("resolved_by", "pip"), ("dependency", "transitive"), ("via", ", ".join(via)))
    return Declared(package.name, package.version, line, properties=through)


def _pin(requirement: Requirement, how: str) -> Declared:
    """A pin checked as written: one pip skips for this Python, or an archive URL's version."""
    properties = (("resolved_by", how), ("dependency", "direct"))
    return Declared(requirement.name, requirement.pinned, requirement.line, properties=properties)


def _fallback(requirements: RequirementsFile, target: str, reason: str) -> Listing:
    """The file's pins, when pip cannot resolve it; what pip would have added is unresolved."""
    listing = requirements_listing(requirements, target)
    not_checked = tuple(
        replace(item, reason=Unchecked.UNRESOLVED, detail=f"pip: {reason}")
        if item.reason is Unchecked.UNPINNED
        else item
        for item in listing.not_checked
    )
    note = (
        f"{target}: pip could not resolve it ({reason}); checked its pinned lines only, "
        "as without --resolve."
    )
    return replace(listing, not_checked=not_checked, notes=(*listing.notes, note))


def reached_from(packages: Sequence[Resolved], order: Sequence[str]) -> dict[str, list[str]]:
    """For each package, the requested packages whose dependency tree contains it.

    Edges come from each package's declared requirements whose target was resolved, so a
    dependency behind an environment marker or an extra counts when pip installed it for
    another reason: an over-approximation, which for "who pulls this in" errs towards naming
    one requirement too many rather than none. `order` (normalised names) sorts the result.
    """
    by_key = {p.key: p for p in packages}
    rank = {key: index for index, key in enumerate(order)}
    tops = sorted((p for p in packages if p.requested), key=lambda p: rank.get(p.key, len(rank)))
    reached: dict[str, list[str]] = {}
    for top in tops:
        seen = {top.key}
        stack = [top.key]
        while stack:
            for dep in by_key[stack.pop()].requires:
                if dep in by_key and dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
                    reached.setdefault(dep, []).append(top.name)
    return reached
