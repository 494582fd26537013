"""guarded/files: regular files only, never opened when they are not, at most the limit."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.guarded.files import check_regular, read_bytes, read_text
from mlsecops.guarded.limits import InputKind, size_limit

KIND = InputKind.POLICY


def refused(path: Path, *words: str, **kwargs: object) -> str:
    """Read `path` in a thread that must finish (a blocking open would not): the message."""
    outcome: list[BaseException | bytes] = []

    def run() -> None:
        try:
            outcome.append(read_bytes(path, KIND, **kwargs))  # type: ignore[arg-type]
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout=10)
    assert not thread.is_alive(), "read_bytes blocked"
    [result] = outcome
    assert isinstance(result, UsageError), result
    message = result.one_line()
    for word in words:
        assert word in message, (word, message)
    return message


def test_reads_a_regular_file_and_a_symlink_to_one(tmp_path):
    target = tmp_path / "real.yml"
    target.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    (tmp_path / "link.yml").symlink_to(target)
    assert read_bytes(tmp_path / "link.yml", KIND) == b"\xef\xbb\xbfversion: 1\n"
    assert read_text(target, KIND) == "version: 1\n"  # the byte-order mark dropped
    assert check_regular(target, KIND).st_size == 14


def test_a_fifo_is_refused_without_being_opened(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    refused(tmp_path / "pipe", "is a FIFO (named pipe), not a regular file; it was not opened")


def test_devices_directories_and_sockets_are_refused(tmp_path):
    (tmp_path / "zero").symlink_to("/dev/zero")
    refused(tmp_path / "zero", "is a character device")
    refused(Path("/dev/null"), "is a character device")
    refused(tmp_path, "is a directory")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(tmp_path / "sock"))
        refused(tmp_path / "sock", "is a socket")


def test_missing_and_broken_symlinks_are_named(tmp_path):
    refused(tmp_path / "absent.yml", "policy file", "absent.yml not found", "check the path")
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    refused(tmp_path / "dangling", "is a broken symlink")


def test_the_size_limit_names_itself_and_how_to_raise_it(tmp_path):
    big = tmp_path / "big.yml"
    big.write_bytes(b"x" * 11)
    env = {KIND.variable: "10"}
    refused(big, "is 11 bytes", "limit of 10 bytes", f"set {KIND.variable}", environ=env)
    assert read_bytes(big, KIND, {KIND.variable: "11"}) == b"x" * 11
    assert size_limit(KIND, {}) == KIND.default_limit
    with pytest.raises(UsageError, match="not a size in bytes"):
        size_limit(KIND, {KIND.variable: "1e6"})
    with pytest.raises(UsageError, match="not a size in bytes"):
        size_limit(KIND, {KIND.variable: "0"})


def test_every_kind_has_a_distinct_variable_and_a_sane_default():
    variables = [kind.variable for kind in InputKind]
    assert len(set(variables)) == len(variables)
    assert all(v.startswith("MLSECOPS_MAX_") and v.endswith("_BYTES") for v in variables)
    assert all(kind.default_limit >= 64 * 1024 for kind in InputKind)


def test_decoding_errors_are_named(tmp_path):
    bad = tmp_path / "bad.yml"
    bad.write_bytes(b"ok: 1\n\xff\n")
    with pytest.raises(UsageError, match=r"is not UTF-8 text: byte 0xff at offset 6"):
        read_text(bad, KIND)
    assert read_text(bad, KIND, errors="replace") == "ok: 1\n\ufffd\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file")
def test_permission_denied(tmp_path):
    locked = tmp_path / "locked.yml"
    locked.write_text("x")
    locked.chmod(0)
    refused(locked, "cannot read policy file", "Permission denied")
