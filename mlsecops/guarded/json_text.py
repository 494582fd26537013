"""Guarded JSON: depth measured on the text before parsing, no lone surrogates.

Light on purpose (no yaml, no tomllib): `mlsecops hash` and `verify` read manifests with it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from itertools import accumulate
from pathlib import Path
from typing import Any

from mlsecops.errors import ToolError, UsageError
from mlsecops.guarded.depth import check_depth, check_unicode, too_deep
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind

_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")
_DEPTH_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse_json(
    text: str,
    source: str,
    fix: str,
    *,
    object_pairs_hook: Callable[[list[tuple[str, Any]]], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
    parse_constant: Callable[[str], Any] | None = None,
) -> Any:
    """JSON from `text`; too deep, not JSON or holding a lone surrogate is a UsageError.

    `source` names the file in messages, `fix` says what to do. The hooks are json.loads's;
    a ValueError they raise is reported as invalid JSON.
    """
    check_depth(_json_depth(text), source, fix)
    try:
        data = json.loads(
            text,
            object_pairs_hook=object_pairs_hook,
            parse_float=parse_float,
            parse_constant=parse_constant,
        )
    except RecursionError as exc:  # unreachable after the depth check; kept as a backstop
        raise too_deep(source, fix) from exc
    except ValueError as exc:
        raise UsageError(f"{source} is not valid JSON: {exc}", fix) from exc
    if _SURROGATE_ESCAPE.search(text):  # rare: only then walk every string
        check_unicode(data, source, fix)
    return data


def load_json(path: Path, kind: InputKind, fix: str, **hooks: Any) -> Any:
    """read_text + parse_json, the file named by its kind in messages."""
    return parse_json(read_text(path, kind), f"{kind.noun} {path}", fix, **hooks)


def load_tool_json(path: Path, kind: InputKind, fix: str) -> Any:
    """load_json for what a tool we ran wrote (Trivy's or pip's report): the same guards,
    but a refusal is the tool's failure (ToolError, exit 3), not the user's input."""
    try:
        return load_json(path, kind, fix)
    except UsageError as exc:
        # Over the size limit, raising it is the fix; otherwise the caller's words.
        raise ToolError(exc.problem, exc.fix if kind.variable in exc.fix else fix) from exc


def _json_depth(text: str) -> int:
    # Strings removed first: a "[" inside one opens nothing.
    brackets = _BRACKETS.findall(_JSON_STRING.sub("", text))
    return max(accumulate(map(_DEPTH_STEP.__getitem__, brackets)), default=0)
