"""What this process touches on disk, recorded by an audit hook: the real calls, nothing replaced.

`recording(*events)` yields the paths passed to the given audit events (`open`, `os.scandir`,
`os.listdir`, `os.readlink`, ...) inside the block, in order. One hook serves every test: it is
added once, when this module is first imported, and records only while a block is open.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

_touched: list[str] = []
_events: frozenset[str] = frozenset()


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event in _events:
        _touched.append(str(args[0]))


sys.addaudithook(_audit)


@contextlib.contextmanager
def recording(*events: str) -> Iterator[list[str]]:
    """The paths the block passed to `events`, in order (by name, as passed)."""
    global _events
    _touched.clear()
    _events = frozenset(events)
    try:
        yield _touched
    finally:
        _events = frozenset()
