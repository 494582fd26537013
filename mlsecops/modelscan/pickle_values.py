"""What a slot of the pickle machine's stack or memo stands for.

Plain constants (None, bools, ints, floats, str, bytes) are the Python values themselves.
What a pickle names, builds or computes gets a class here. Containers keep their first
KEEP items and count the rest: no argument role, message or joblib field looks further,
and so the memory a pickle of a million-item list costs does not grow with the list.
Large bytes and text keep only their head once they have been checked (LargeData).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

KEEP = 16  # items of a container that are kept


class Action(enum.Enum):
    """What a pickle does with a value."""

    IMPORT = "import"  # GLOBAL, STACK_GLOBAL, INST, EXT*: the name is resolved
    CALL = "call"  # REDUCE, INST, OBJ: the value is called with arguments
    INSTANCE = "instance"  # NEWOBJ, NEWOBJ_EX: cls.__new__(cls), then usually BUILD
    SETATTR = "setattr"  # BUILD applied to a global itself: writes attributes of a module or class

    # Members are singletons: hashed by identity, not by Enum's Python-level name hash
    # (these are dict keys once per opcode that does something).
    __hash__ = object.__hash__


class Value:
    """Base of the values that are not plain constants."""

    __slots__ = ()


@dataclass(eq=False, slots=True)
class Global(Value):
    """A name the pickle imports."""

    module: str
    name: str

    @property
    def dotted(self) -> str:
        """module.name, as the findings write it."""
        return f"{self.module}.{self.name}"


@dataclass(eq=False, slots=True)
class Items(Value):
    """A tuple, list, set or frozenset: its first KEEP items and its size."""

    kind: str
    items: list[object] = field(default_factory=list)
    size: int = 0

    def extend(self, values: list[object]) -> None:
        """Add items (only the first KEEP are kept)."""
        room = KEEP - len(self.items)
        if room > 0:
            self.items.extend(values[:room])
        self.size += len(values)


@dataclass(eq=False, slots=True)
class DictValue(Value):
    """A dict: its first KEEP pairs and its size."""

    pairs: list[tuple[object, object]] = field(default_factory=list)
    size: int = 0

    def update(self, flat: list[object]) -> None:
        """Add key, value, key, value... (only the first KEEP pairs are kept)."""
        room = KEEP - len(self.pairs)
        if room > 0:
            self.pairs.extend(zip(flat[: 2 * room : 2], flat[1 : 2 * room : 2], strict=False))
        self.size += len(flat) // 2


@dataclass(eq=False, slots=True)
class Result(Value):
    """What a call or an instance creation produced."""

    action: Action
    target: object
    args: object


@dataclass(eq=False, slots=True)
class Opaque(Value):
    """A value the pickle gets from outside (a persistent id, an out-of-band buffer)."""

    what: str


@dataclass(eq=False, slots=True)
class LargeData(Value):
    """Bytes or text too large to keep: its head, after the checks that needed all of it."""

    kind: str  # "bytes" or "str"
    size: int
    head: bytes
    checked: bool  # False when it was too large even to check for a hidden pickle


class _Mark(Value):
    __slots__ = ()

    def __repr__(self) -> str:
        return "MARK"


MARK = _Mark()

# Constants a pickle pushes, as Python values; everything else is a Value.
Constant = None | bool | int | float | str | bytes | bytearray


def is_text(value: object) -> bool:
    """True for a str constant (what STACK_GLOBAL needs)."""
    return type(value) is str


def shown(value: object, limit: int = 40) -> str:
    """A short, safe rendering of a constant for messages (never fails, never huge)."""
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        if value.bit_length() > 64:
            return f"<an integer of {value.bit_length()} bits>"
        return repr(value)
    if isinstance(value, str):
        return repr(value[:limit]) + ("..." if len(value) > limit else "")
    if isinstance(value, bytes | bytearray):
        return repr(bytes(value[:limit])) + ("..." if len(value) > limit else "")
    if isinstance(value, LargeData):
        return f"<{value.size} {'bytes' if value.kind == 'bytes' else 'characters'}>"
    return "..."
