"""The allow-list and deny-list of pickle globals, read from data shipped in the package.

The lists live in `mlsecops/data/modelscan-rules.yml` so they can be reviewed and extended
without touching code; this module only compiles the patterns and applies the precedence
that file documents.
"""

from __future__ import annotations

import _compat_pickle
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from importlib import resources
from typing import Any

import yaml

RULES_RESOURCE = "modelscan-rules.yml"


class Trust(enum.Enum):
    """How far the rules trust a global a pickle names."""

    DENY = "deny"  # known dangerous: any use is CRITICAL
    ALLOW = "allow"  # known safe to import, call and instantiate
    INSTANCE = "instance"  # safe to create through NEWOBJ/BUILD, not to call
    UNKNOWN = "unknown"  # judged by what the pickle does with it


@dataclass(frozen=True)
class Verdict:
    """The rules' judgement of one global, and why (for a denied one, what it can do)."""

    trust: Trust
    why: str = ""


@dataclass(frozen=True)
class ArgumentRoles:
    """Which positional arguments a trusted reconstructor instantiates, calls or unpickles."""

    instance: tuple[int, ...] = ()
    call: tuple[int, ...] = ()
    deserialize: tuple[int, ...] = ()  # loaded as a pickle or checkpoint of its own


NO_ROLES = ArgumentRoles()  # what a callable with no argument roles has


@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    why: str
    exact: bool


class _PatternSet:
    """Patterns tested together: one combined regex says whether any matches at all."""

    def __init__(self, patterns: Iterable[_Pattern]) -> None:
        self.patterns = tuple(patterns)
        combined = "|".join(f"(?:{p.regex.pattern})" for p in self.patterns) or "(?!)"
        self._any = re.compile(combined)

    def first(self, key: str) -> _Pattern | None:
        """The first pattern that matches all of `key`."""
        if not self._any.fullmatch(key):
            return None
        return next(p for p in self.patterns if p.regex.fullmatch(key))


@dataclass(frozen=True)
class Rules:
    """Compiled rules; `judge` answers for one global."""

    deny: tuple[_Pattern, ...]
    allow: tuple[_Pattern, ...]
    instances: tuple[_Pattern, ...]
    arguments: tuple[tuple[re.Pattern[str], ArgumentRoles], ...] = ()  # first match applies

    @cached_property
    def _sets(self) -> tuple[_PatternSet, _PatternSet, _PatternSet, _PatternSet]:
        exact = _PatternSet(p for p in self.allow if p.exact)
        return exact, _PatternSet(self.deny), _PatternSet(self.allow), _PatternSet(self.instances)

    @cached_property
    def _verdicts(self) -> dict[tuple[str, str], Verdict]:
        return {}

    def judge(self, module: str, name: str) -> Verdict:
        """How far `module.name` is trusted; see the precedence in the rules file.

        A name that reaches a deny-listed one through an alias is denied too: an attribute
        walk (`__main__.runpy`, `torch.serialization.os.system`), the builtins under another
        name (`__builtins__.eval`, `__main__.eval`).
        """
        known = self._verdicts.get((module, name))
        if known is not None:
            return known
        verdict = self._judge_name(module, name)
        if verdict.trust is not Trust.DENY:
            for alias_module, alias_name in _aliases(module, name):
                reached = self._judge_name(alias_module, alias_name)
                if reached.trust is Trust.DENY:
                    shown = f"{alias_module}.{alias_name}".rstrip(".")
                    verdict = Verdict(Trust.DENY, f"{reached.why} (it reaches {shown})")
                    break
        self._verdicts[(module, name)] = verdict
        return verdict

    def _judge_name(self, module: str, name: str) -> Verdict:
        key = f"{module}:{name}"
        exact, deny, allow, instances = self._sets
        if found := exact.first(key):
            return Verdict(Trust.ALLOW, found.why)
        if found := deny.first(key):
            return Verdict(Trust.DENY, found.why)
        parts = name.split(".")
        if (len(parts) > 1 and any(map(_is_dunder, parts))) or _is_dunder_walk(name):
            # `Class.__init__.__globals__`, `__builtins__.eval` and friends walk from any
            # harmless name to the builtins: protocol 4 resolves dotted names part by part.
            return Verdict(Trust.DENY, "walks Python internals through dunder attributes")
        if found := allow.first(key):
            return Verdict(Trust.ALLOW, found.why)
        if found := instances.first(key):
            return Verdict(Trust.INSTANCE, found.why)
        return Verdict(Trust.UNKNOWN)

    @cached_property
    def _roles(self) -> dict[tuple[str, str], ArgumentRoles]:
        return {}

    def roles(self, module: str, name: str) -> ArgumentRoles:
        """Which arguments of `module.name` it instantiates, calls or deserializes."""
        known = self._roles.get((module, name))
        if known is None:
            key = f"{module}:{name}"
            found = (roles for pattern, roles in self.arguments if pattern.fullmatch(key))
            known = self._roles[(module, name)] = next(found, NO_ROLES)
        return known

    def with_allowed(self, extra: Sequence[str]) -> Rules:
        """These rules plus project-allowed globals (`module.name` or `module:name` patterns).

        Extra entries rank with the wildcard allow entries, so they never override a deny.
        """
        if not extra:
            return self
        patterns = tuple(
            _Pattern(
                _compile(_split_global(text, policy=True)),
                "allowed by the project policy",
                exact=False,
            )
            for text in extra
        )
        return Rules(self.deny, self.allow + patterns, self.instances, self.arguments)


@lru_cache(maxsize=4096)
def normalize(module: str, name: str) -> tuple[str, str]:
    """Map Python 2 names to what Python 3's unpickler imports (`__builtin__` -> `builtins`)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]
    return _compat_pickle.IMPORT_MAPPING.get(module, module), name


@lru_cache(maxsize=1)
def default_rules() -> Rules:
    """The rules shipped with the package."""
    text = resources.files("mlsecops").joinpath("data", RULES_RESOURCE).read_text("utf-8")
    return parse_rules(yaml.safe_load(text))


def parse_rules(data: Mapping[str, Any]) -> Rules:
    """Compile the rules file's structure (see the file for its shape)."""
    arguments = tuple(
        (
            _compile(_split_global(str(key))),
            ArgumentRoles(
                tuple(roles.get("instance", ())),
                tuple(roles.get("call", ())),
                tuple(roles.get("deserialize", ())),
            ),
        )
        for key, roles in (data.get("arguments") or {}).items()
    )
    return Rules(
        deny=tuple(_patterns(data.get("deny", ()))),
        allow=tuple(_patterns(data.get("allow", ()))),
        instances=tuple(_patterns(data.get("instances", ()))),
        arguments=arguments,
    )


def _patterns(groups: Iterable[Mapping[str, Any]]) -> Iterable[_Pattern]:
    for group in groups:
        for text in group["match"]:
            module, name = _split_global(str(text))
            exact = not any(char in text for char in "*[") and ":" in text
            yield _Pattern(_compile((module, name)), str(group["why"]), exact)


def _split_global(text: str, *, policy: bool = False) -> tuple[str, str | None]:
    """`module:name`. Without a colon, a rules-file entry is a bare `module` (the module and
    all its submodules, name None) and a policy entry is `module.name`, split at the last dot.
    """
    if ":" in text:
        module, name = text.split(":", 1)
        return module, name
    if policy:
        module, _, name = text.rpartition(".")
        return module, name
    return text, None


def _compile(parts: tuple[str, str | None]) -> re.Pattern[str]:
    module, name = parts
    if name is None:  # a whole module tree
        return re.compile(re.escape(module) + r"(\.[^:]*)?:.*")
    return re.compile(_glob(module, module_part=True) + ":" + _glob(name, module_part=False))


def _glob(text: str, *, module_part: bool) -> str:
    # `**` crosses dots (module parts only), `*` stays within one dotted part, `[A-Z]` is a
    # character class; everything else is literal.
    out = []
    index = 0
    while index < len(text):
        if text.startswith("**", index):
            out.append(".*" if module_part else "[^.:]*")
            index += 2
        elif text[index] == "*":
            out.append("[^.:]*")
            index += 1
        elif text[index] == "[" and "]" in text[index:]:
            end = text.index("]", index)
            out.append(text[index : end + 1])
            index = end + 1
        else:
            out.append(re.escape(text[index]))
            index += 1
    return "".join(out)


_BUILTINS_NAMES = frozenset({"builtins", "__builtins__", "__builtin__"})


def _aliases(module: str, name: str) -> list[tuple[str, str]]:
    """(module, name) pairs that `module.name` may really be, through attribute walks.

    Each part of a dotted name is an attribute of what precedes it, and a module that
    imported `os` has `os` as an attribute: so every run of parts is tried as a module,
    with the rest as the name within it. Any spelling of the builtins module maps to it,
    and `__main__` is judged as the builtins too (its globals fall back to them in REPLs and
    notebooks, and scripts that star-import put names there).
    """
    parts = name.split(".")
    found: list[tuple[str, str]] = []
    if module in _BUILTINS_NAMES or module == "__main__":
        found.append(("builtins", name))
    for start, part in enumerate(parts):
        if part in _BUILTINS_NAMES:
            found.append(("builtins", ".".join(parts[start + 1 :])))
            continue
        found.extend(
            (".".join(parts[start:end]), ".".join(parts[end:]))
            for end in range(start + 1, len(parts) + 1)
        )
    return found


def _is_dunder(part: str) -> bool:
    return len(part) > 4 and part.startswith("__") and part.endswith("__")


def _is_dunder_walk(name: str) -> bool:
    # A lone dunder name is fine only for the few module-level functions that have one.
    return _is_dunder(name) and name not in _MODULE_LEVEL_DUNDERS


_MODULE_LEVEL_DUNDERS = frozenset(
    {
        "__newobj__",  # copyreg
        "__newobj_ex__",
    }
)
