"""Random opcode sequences, and the names CPython's unpicklers import from them.

The differential test of the pickle reader: each sequence mixes globals of the deny-list
with every opcode that moves the stack, the memo or the reading position (MARK, INST, OBJ,
frames of any length, bytes and strings whose lengths swallow what follows, PROTO and STOP
anywhere), and no PROTO at the start half the time. Whatever name one of CPython's ways of
reading a pickle imports, the scanner must report.
"""

from __future__ import annotations

import io
import pickle
import random
import struct
from collections.abc import Callable

# Every one is on the deny-list: a name the scanner reports is a name it found.
NAMES = (
    ("os", "system"), ("posix", "popen"), ("subprocess", "call"), ("pty", "spawn"),
    ("nt", "system"), ("shutil", "rmtree"), ("os", "popen"), ("subprocess", "run"),
)  # fmt: skip
DOTTED = frozenset(f"{module}.{name}" for module, name in NAMES)


class _CRecorder(pickle.Unpickler):
    """The C unpickler, recording the names it is asked for and importing nothing."""

    def __init__(self, file: io.BytesIO | io.BufferedReader, seen: list[str]) -> None:
        super().__init__(file)
        self.seen = seen

    def find_class(self, module: str, name: str) -> object:
        self.seen.append(f"{module}.{name}")
        return lambda *args, **kwargs: None


class _PyRecorder(pickle._Unpickler):  # type: ignore[name-defined, misc]
    """pickle's pure-Python unpickler (the one joblib subclasses), recording likewise."""

    def __init__(self, file: io.BytesIO, seen: list[str]) -> None:
        super().__init__(file)
        self.seen = seen

    def find_class(self, module: str, name: str) -> object:
        self.seen.append(f"{module}.{name}")
        return lambda *args, **kwargs: None


def imported(data: bytes) -> set[str]:
    """The deny-listed names any of CPython's readings imports, over repeated loads.

    A BytesIO has no peek (torch.load's way: the C unpickler drops a frame's unread tail);
    a BufferedReader has one (pickle.load of an open file); the Python unpickler reads
    frames its own way and imports INST's name before it looks for the MARK.
    """
    seen: list[str] = []
    readings: list[tuple[type, Callable[[], io.BytesIO | io.BufferedReader]]] = [
        (_CRecorder, lambda: io.BytesIO(data)),
        (_CRecorder, lambda: io.BufferedReader(io.BytesIO(data))),
        (_PyRecorder, lambda: io.BytesIO(data)),
    ]
    for recorder, stream in readings:
        file = stream()
        try:
            for _ in range(50):
                recorder(file, seen).load()
        except Exception:  # the end of the data, or damage: what ran before is in `seen`
            pass
    return DOTTED & set(seen)


def _ustr(text: str) -> bytes:
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def _opcode(rng: random.Random, module: bytes, name: bytes) -> bytes:
    """One opcode, or a short run of them, with random arguments."""
    choices: list[Callable[[], bytes]] = [
        lambda: b"c" + module + b"\n" + name + b"\n",
        lambda: b"i" + module + b"\n" + name + b"\n",
        lambda: b"(c" + module + b"\n" + name + b"\nS'x'\no",
        lambda: _ustr(module.decode()) + _ustr(name.decode()) + b"\x93",
        lambda: _ustr(module.decode()),
        lambda: b"S'" + module + b"'\n",
        lambda: b"V" + name + b"\n",
        lambda: b"\x95" + struct.pack("<Q", rng.randrange(40)),
        lambda: b"C" + bytes([rng.randrange(12)]),
        lambda: b"X" + struct.pack("<I", rng.randrange(12)),
        lambda: b"\x80" + bytes([rng.randrange(6)]),
        lambda: b"p%d\n" % rng.randrange(3),
        lambda: b"g%d\n" % rng.randrange(3),
        lambda: b"h" + bytes([rng.randrange(3)]),
        lambda: b"q" + bytes([rng.randrange(3)]),
        lambda: bytes([rng.randrange(256)]),
        lambda: b"I1\n",
        lambda: b"K\x07",
    ]
    choices += [lambda op=op: op for op in (b"(", b"0", b"1", b"2", b"N", b")", b"t", b"\x85",
                                            b"R", b"b", b"}", b"s", b"]", b"a", b"e", b"\x81",
                                            b".", b"\x94")]  # fmt: skip
    return rng.choice(choices)()


def sequence(rng: random.Random) -> bytes:
    """A random opcode sequence (PROTO first, or not)."""
    parts = [rng.choice([b"", b"", b"\x80\x02", b"\x80\x04", b"\x80\x05"])]
    for index in range(rng.randint(3, 25)):
        module, name = NAMES[(index + rng.randrange(2)) % len(NAMES)]
        run = _opcode(rng, module.encode(), name.encode())
        if rng.random() < 0.2:  # a frame around it, its length a little off half the time
            run += _opcode(rng, module.encode(), name.encode())
            length = max(0, len(run) + rng.choice((0, 0, 0, -1, -2, -3, 1, 2, 5)))
            run = b"\x95" + struct.pack("<Q", length) + run
        parts.append(run)
    return b"".join(parts)
