"""Read an input file only when it is a regular file, and at most its kind's size limit.

The path is stat()ed first (following symlinks: a requirements.txt linked to a shared file
is fine, one linked to /dev/zero is a character device): a FIFO, a device, a socket or a
directory is refused before anything opens it, since opening a FIFO blocks and opening a
device can have effects of its own. The file is then opened non-blocking and fstat()ed, so a
swap between the two checks is caught, and read up to one byte past the limit.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from mlsecops.errors import UsageError
from mlsecops.guarded.limits import InputKind, size_limit

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_READ_CHUNK = 1024 * 1024
_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def check_regular(
    path: Path, kind: InputKind, environ: Mapping[str, str] | None = None
) -> os.stat_result:
    """The file's status when it is a regular file within the size limit; else UsageError.

    For files another program reads (Trivy): checked here so that a FIFO never reaches it.
    """
    try:
        status = path.stat()
    except FileNotFoundError as exc:
        broken = path.is_symlink()
        raise UsageError(
            f"{kind.noun} {path} " + ("is a broken symlink" if broken else "not found"),
            "check the path" + (" or the symlink's target" if broken else ""),
        ) from exc
    except OSError as exc:
        raise _unreadable(path, kind, exc) from exc
    _check_status(path, kind, status, environ)
    return status


def read_bytes(path: Path, kind: InputKind, environ: Mapping[str, str] | None = None) -> bytes:
    """The whole file, when it is a regular file within its kind's size limit."""
    first = check_regular(path, kind, environ)
    limit = size_limit(kind, environ)
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise _unreadable(path, kind, exc) from exc
    try:
        now = os.fstat(fd)
        if (now.st_dev, now.st_ino) != (first.st_dev, first.st_ino):
            raise UsageError(
                f"{kind.noun} {path} changed while it was being opened",
                "make sure nothing rewrites it during the scan, then scan again",
            )
        _check_status(path, kind, now, environ)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:  # one byte past the limit is enough to see a growing file
            chunk = os.read(fd, min(_READ_CHUNK, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _unreadable(path, kind, exc) from exc
    finally:
        os.close(fd)
    if size > limit:
        raise _too_big(path, kind, size, limit, grew=True)
    return b"".join(chunks)


def read_text(
    path: Path,
    kind: InputKind,
    *,
    errors: str = "strict",
    environ: Mapping[str, str] | None = None,
) -> str:
    """The file as UTF-8 text (a leading byte-order mark dropped); undecodable bytes named.

    `errors="replace"` is for formats whose consumers accept stray bytes (requirements
    files: a Latin-1 comment must not stop a scan).
    """
    data = read_bytes(path, kind, environ)
    try:
        text = data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1].hex()
        raise UsageError(
            f"{kind.noun} {path} is not UTF-8 text: byte 0x{bad} at offset {exc.start} "
            f"({exc.reason})",
            "save the file as UTF-8",
        ) from exc
    return text.removeprefix("\ufeff")


def _check_status(
    path: Path, kind: InputKind, status: os.stat_result, environ: Mapping[str, str] | None
) -> None:
    mode = status.st_mode
    if not stat.S_ISREG(mode):
        what = next((name for test, name in _TYPES if test(mode)), "not a regular file")
        raise UsageError(
            f"{kind.noun} {path} is {what}, not a regular file; it was not opened",
            "replace it with a regular file, or remove it",
        )
    limit = size_limit(kind, environ)
    if status.st_size > limit:
        raise _too_big(path, kind, status.st_size, limit)


def _too_big(path: Path, kind: InputKind, size: int, limit: int, grew: bool = False) -> UsageError:
    size_text = f"grew past {limit:,} bytes while being read" if grew else f"is {size:,} bytes"
    return UsageError(
        f"{kind.noun} {path} {size_text}: over the limit of {limit:,} bytes for a {kind.noun}",
        f"if the file is genuine, raise the limit: set {kind.variable} to a larger number of bytes",
    )


def _unreadable(path: Path, kind: InputKind, exc: OSError) -> UsageError:
    return UsageError(
        f"cannot read {kind.noun} {path}: {exc.strerror or type(exc).__name__}",
        "fix the file's permissions or the path, then scan again",
    )
