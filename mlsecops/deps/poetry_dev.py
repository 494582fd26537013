"""Which packages of a poetry.lock only development groups bring in, judged without Trivy.

Trivy marks as development dependencies the packages it cannot reach from the project's
main dependencies, and it cannot follow a local path package's `^`/`~` constraints: a whole
production subtree behind `core = {path = "../core"}` comes out "dev" (and --skip-dev-deps
would drop it). A lock says it itself where it can: `category = "dev"` (Poetry < 1.5) or
`groups = [...]` (Poetry 2). A lock of the years between says nothing, so the main group is
walked here by name from pyproject.toml through every package's `[package.dependencies]`,
whatever their constraints say. In doubt (no pyproject.toml, none readable, no main group
named), nothing is development: checking one package too many beats dropping one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlsecops.deps.listing import normalise
from mlsecops.deps.requirements_txt import parse_requirement
from mlsecops.errors import UsageError
from mlsecops.guarded.limits import InputKind
from mlsecops.guarded.toml_text import load_toml


def main_names(pyproject: Path) -> set[str] | None:
    """Normalised names of the main group's dependencies, or None when unknown."""
    if not pyproject.is_file():
        return None
    try:
        data = load_toml(pyproject, InputKind.LOCK_FILE, "fix pyproject.toml's TOML")
    except UsageError:
        return None  # Trivy reads it, and says so; here it only means "no dev judgement"
    names: set[str] = set()
    poetry = _table(_table(data, "tool"), "poetry")
    names |= {normalise(n) for n in _table(poetry, "dependencies") if n.lower() != "python"}
    project = _table(data, "project")
    written = list(_strings(project.get("dependencies")))
    for extra in _table(project, "optional-dependencies").values():
        written += _strings(extra)  # an extra is the project's own, not a dev group
    for text in written:
        requirement = parse_requirement(text)
        if requirement is not None:
            names.add(requirement.key)
    return names or None


def dev_only(main: set[str], edges: Mapping[str, Sequence[str]], listed: Iterable[str]) -> set[str]:
    """The names in `listed` that no path from `main` reaches (`edges`: name -> names)."""
    reached = set(main)
    stack = list(main)
    while stack:
        for name in edges.get(stack.pop(), ()):
            if name not in reached:
                reached.add(name)
                stack.append(name)
    return {name for name in listed if name not in reached}


def _table(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []
