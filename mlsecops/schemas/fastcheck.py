"""A fast yes/no check for the subset of JSON Schema our shipped schemas use.

jsonschema spends ~170 us per report finding (20,000 findings: 3.4 s, more than the rest of
the report pipeline together). This check answers only "valid?" in one pass; when it says
no, jsonschema runs and produces the exact errors. It refuses to compile a schema that uses
a keyword it does not implement, so it can never pass something by ignoring a rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

Check = Callable[[Any], bool]

# Keywords that only annotate; they never make an instance invalid.
_ANNOTATIONS = {"$schema", "$id", "title", "description", "default", "examples", "$comment"}
_TYPES: dict[str, Check] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
}


class UnsupportedSchema(Exception):
    """The schema uses a keyword this checker does not implement."""


def compile_schema(schema: dict[str, Any]) -> Check:
    """A function telling whether an instance is valid against `schema` (a root schema)."""
    return _Compiler(schema.get("$defs", {})).build(schema)


class _Compiler:
    """Turns schema nodes into checks: one method per keyword that builds sub-schemas,
    `_SIMPLE` for those that need only their value."""

    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.compiled_defs: dict[str, Check] = {}

    def build(self, node: dict[str, Any]) -> Check:
        """The check of one schema node: every keyword it has must hold."""
        return _all_of(
            [
                self.keyword_check(keyword, value, node)
                for keyword, value in node.items()
                if keyword not in _ANNOTATIONS and keyword != "$defs"
            ]
        )

    def keyword_check(self, keyword: str, value: Any, node: dict[str, Any]) -> Check:
        """The check of one keyword; a keyword not implemented refuses the whole schema."""
        simple = _SIMPLE.get(keyword)
        if simple is not None:
            return simple(value)
        method = _KEYWORDS.get(keyword)
        if method is None:
            raise UnsupportedSchema(f"keyword {keyword!r} is not implemented")
        return method(self, value, node)

    def ref(self, value: Any, node: dict[str, Any]) -> Check:
        """`$ref` to a local definition, compiled on first use (so recursion terminates)."""
        ref = str(value)
        name = ref.removeprefix("#/$defs/")
        if not ref.startswith("#/$defs/") or name not in self.defs:
            raise UnsupportedSchema(f"$ref {ref!r}: only local #/$defs/ references")

        def check(v: Any) -> bool:
            if name not in self.compiled_defs:
                self.compiled_defs[name] = self.build(self.defs[name])
            return self.compiled_defs[name](v)

        return check

    def properties(self, value: Any, node: dict[str, Any]) -> Check:
        """Each named property present must match its schema."""
        return _properties({name: self.build(sub) for name, sub in value.items()})

    def additional_properties(self, value: Any, node: dict[str, Any]) -> Check:
        """Properties not named in the node's `properties`: allowed, refused, or checked."""
        known = set(node.get("properties", {}))
        if value is True:
            return lambda v: True
        extra: Check = self.build(value) if isinstance(value, dict) else (lambda _v: False)
        return lambda v: (
            not isinstance(v, dict) or all(extra(item) for k, item in v.items() if k not in known)
        )

    def property_names(self, value: Any, node: dict[str, Any]) -> Check:
        """Every key of an object must match the schema."""
        name_check = self.build(value)
        return lambda v: not isinstance(v, dict) or all(name_check(k) for k in v)

    def items(self, value: Any, node: dict[str, Any]) -> Check:
        """Every element of an array must match the schema."""
        item_check = self.build(value)
        return lambda v: not isinstance(v, list) or all(map(item_check, v))


def _type_check(value: Any) -> Check:
    kinds = [_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
    return kinds[0] if len(kinds) == 1 else lambda v: any(kind(v) for kind in kinds)


def _pattern_check(value: Any) -> Check:
    regex = re.compile(value)
    return lambda v: not isinstance(v, str) or regex.search(v) is not None


# Keywords whose check needs only the keyword's value.
_SIMPLE: dict[str, Callable[[Any], Check]] = {
    "type": _type_check,
    "enum": lambda value: lambda v: any(_same(v, option) for option in value),
    "const": lambda value: lambda v: _same(v, value),
    "minLength": lambda value: lambda v: not isinstance(v, str) or len(v) >= value,
    "minimum": lambda value: lambda v: not _TYPES["number"](v) or v >= value,
    "pattern": _pattern_check,
    "required": lambda value: lambda v: not isinstance(v, dict) or all(k in v for k in value),
}
# Keywords whose check builds sub-schemas (or reads the rest of the node).
_KEYWORDS: dict[str, Callable[[_Compiler, Any, dict[str, Any]], Check]] = {
    "$ref": _Compiler.ref,
    "properties": _Compiler.properties,
    "additionalProperties": _Compiler.additional_properties,
    "propertyNames": _Compiler.property_names,
    "items": _Compiler.items,
}


# The two checks every object and array runs, as plain loops: a generator per call would
# cost more than the checks themselves (a 100,000-file manifest runs them 400,000 times).
def _all_of(checks: list[Check]) -> Check:
    """Valid when every one of `checks` passes (one node's keywords)."""
    if len(checks) == 1:
        return checks[0]

    def check(v: Any) -> bool:
        for one in checks:  # noqa: SIM110 - all() over a generator costs more here
            if not one(v):
                return False
        return True

    return check


def _properties(props: dict[str, Check]) -> Check:
    """Each known property of an object valid against its schema."""

    def check(v: Any) -> bool:
        if not isinstance(v, dict):
            return True
        for key, item in v.items():
            sub = props.get(key)
            if sub is not None and not sub(item):
                return False
        return True

    return check


def _same(a: Any, b: Any) -> bool:
    # JSON equality: true is not 1, and 1 == 1.0.
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    return bool(a == b)
