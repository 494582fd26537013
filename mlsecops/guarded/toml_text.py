"""Guarded TOML: tomllib with over-long dotted keys refused before it sees them.

tomllib is super-linear in the number of parts of a dotted key (10,000 parts: minutes and
gigabytes); a key of more than MAX_TOML_KEY_PARTS parts is refused first, and with the
kind's size limit that bounds the parse time (measured: about 1.5 s per MiB at worst).
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

from mlsecops.errors import UsageError
from mlsecops.guarded.depth import check_depth, data_depth, too_deep
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind

MAX_TOML_KEY_PARTS = 32

_TOML_PART = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_LONG_TOML_KEY = re.compile(
    rf"(?<![A-Za-z0-9_-]){_TOML_PART}(?:[ \t]*\.[ \t]*{_TOML_PART}){{{MAX_TOML_KEY_PARTS},}}"
)


def parse_toml(text: str, source: str, fix: str) -> dict[str, Any]:
    """TOML from `text`, refusing over-long dotted keys before tomllib sees them."""
    long_key = _LONG_TOML_KEY.search(text)
    if long_key is not None:
        line = text.count("\n", 0, long_key.start()) + 1
        raise UsageError(
            f"{source}:{line} has a dotted key of more than {MAX_TOML_KEY_PARTS} parts "
            "(no lock file needs one, and parsing it takes time quadratic in its length)",
            fix,
        )
    try:
        data = tomllib.loads(text)
    except RecursionError as exc:
        raise too_deep(source, fix) from exc
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source} is not valid TOML: {exc}", fix) from exc
    check_depth(data_depth(data), source, fix)
    return data


def load_toml(path: Path, kind: InputKind, fix: str) -> dict[str, Any]:
    """read_text + parse_toml, the file named by its kind in messages."""
    return parse_toml(read_text(path, kind), f"{kind.noun} {path}", fix)
