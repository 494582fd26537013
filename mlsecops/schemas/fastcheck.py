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
    defs: dict[str, Any] = schema.get("$defs", {})
    compiled_defs: dict[str, Check] = {}

    def ref_check(ref: str) -> Check:
        if not ref.startswith("#/$defs/") or ref.removeprefix("#/$defs/") not in defs:
            raise UnsupportedSchema(f"$ref {ref!r}: only local #/$defs/ references")
        name = ref.removeprefix("#/$defs/")

        def check(v: Any) -> bool:
            # Compiled on first use, so a recursive definition does not recurse forever here.
            if name not in compiled_defs:
                compiled_defs[name] = build(defs[name])
            return compiled_defs[name](v)

        return check

    def build(node: dict[str, Any]) -> Check:
        checks = [
            keyword_check(keyword, value, node)
            for keyword, value in node.items()
            if keyword not in _ANNOTATIONS and keyword != "$defs"
        ]
        return _all_of(checks)

    def keyword_check(keyword: str, value: Any, node: dict[str, Any]) -> Check:
        if keyword == "type":
            kinds = [_TYPES[t] for t in ([value] if isinstance(value, str) else value)]
            return kinds[0] if len(kinds) == 1 else lambda v: any(kind(v) for kind in kinds)
        if keyword == "enum":
            return lambda v: any(_same(v, option) for option in value)
        if keyword == "const":
            return lambda v: _same(v, value)
        if keyword == "minLength":
            return lambda v: not isinstance(v, str) or len(v) >= value
        if keyword == "minimum":
            return lambda v: not _TYPES["number"](v) or v >= value
        if keyword == "pattern":
            regex = re.compile(value)
            return lambda v: not isinstance(v, str) or regex.search(v) is not None
        if keyword == "required":
            return lambda v: not isinstance(v, dict) or all(k in v for k in value)
        if keyword == "properties":
            return _properties({name: build(sub) for name, sub in value.items()})
        if keyword == "additionalProperties":
            known = set(node.get("properties", {}))
            if value is True:
                return lambda v: True
            extra: Check = build(value) if isinstance(value, dict) else (lambda _v: False)
            return lambda v: (
                not isinstance(v, dict)
                or all(extra(item) for k, item in v.items() if k not in known)
            )
        if keyword == "propertyNames":
            name_check = build(value)
            return lambda v: not isinstance(v, dict) or all(name_check(k) for k in v)
        if keyword == "items":
            item_check = build(value)
            return lambda v: not isinstance(v, list) or all(map(item_check, v))
        if keyword == "$ref":
            return ref_check(value)
        raise UnsupportedSchema(f"keyword {keyword!r} is not implemented")

    return build(schema)


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
