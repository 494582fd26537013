"""JSON Schemas shipped with the package, and validation that names what is wrong."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import TYPE_CHECKING, Any

from mlsecops.schemas.fastcheck import Check, UnsupportedSchema, compile_schema

if TYPE_CHECKING:
    import jsonschema


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema shipped inside the package, by file name (e.g. 'report.schema.json')."""
    text = resources.files(__package__).joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _fast_check(name: str) -> Check | None:
    """The fast path for schema `name`, or None when it uses keywords the fast path lacks."""
    try:
        return compile_schema(load_schema(name))
    except UnsupportedSchema:
        return None


def schema_errors(instance: Any, name: str) -> list[jsonschema.ValidationError]:
    """Every violation of schema `name`, most specific first, in document order."""
    fast = _fast_check(name)
    if fast is not None and fast(instance):
        return []
    # Imported only now, for the exact errors: importing jsonschema costs ~0.3-1.5 s (its
    # format checkers build grammars at import), more than most runs take in all.
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema(name))
    return sorted(validator.iter_errors(instance), key=lambda e: [str(p) for p in e.absolute_path])


def describe(error: jsonschema.ValidationError) -> str:
    """`ignore[0].reason: 'reason' is a required property` style text."""
    where = ""
    for part in error.absolute_path:
        where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
    return f"{where or '(top level)'}: {error.message}"
