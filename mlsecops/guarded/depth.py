"""Bounds shared by the guarded parsers: how deep data may nest, and real Unicode only.

No input format of ours nests more than a handful of levels; MAX_DEPTH is far above that
and far below where the parsers (and jsonschema, and our own walks) recurse into a
RecursionError.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlsecops.errors import UsageError

MAX_DEPTH = 64


def check_depth(depth: int, source: str, fix: str) -> None:
    """UsageError when `depth` is past MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise too_deep(source, fix)


def too_deep(source: str, fix: str) -> UsageError:
    """The error for data nested past MAX_DEPTH."""
    return UsageError(f"{source} is nested deeper than {MAX_DEPTH} levels", fix)


def data_depth(data: Any) -> int:
    """How deep lists and mappings nest in parsed data, walked without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, Mapping):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth <= MAX_DEPTH:  # past the limit the answer is known: stop walking
            stack.extend((child, depth + 1) for child in children)
    return deepest


def check_unicode(data: Any, source: str, fix: str) -> None:
    """Refuse strings that are not real Unicode (lone surrogates cannot be written as UTF-8)."""
    stack: list[Any] = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as exc:
                shown = value[exc.start : exc.start + 1].encode("unicode_escape").decode()
                raise UsageError(
                    f"{source} holds a string that is not valid Unicode (a lone surrogate, "
                    f"{shown})",
                    fix,
                ) from exc
        elif isinstance(value, Mapping):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
