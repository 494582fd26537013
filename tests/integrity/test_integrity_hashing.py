from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.integrity import hashing
from mlsecops.integrity.hashing import BUFFER_SIZE, FileDigest, default_jobs, hash_files
from mlsecops.integrity.tree import ModelRoot


def _expected(data: bytes) -> FileDigest:
    return FileDigest(len(data), hashlib.sha256(data).hexdigest())


def _files(directory: Path, contents: dict[str, bytes]) -> dict[str, int]:
    for name, data in contents.items():
        (directory / name).write_bytes(data)
    return {name: len(data) for name, data in contents.items()}


def test_streams_files_larger_than_the_buffer_and_empty_ones(tmp_path: Path) -> None:
    buffer = 4096
    contents = {
        "empty": b"",
        "one-byte": b"x",
        "exact-buffer": os.urandom(buffer),
        "buffer-plus-one": os.urandom(3 * buffer + 1),
        "many-buffers": os.urandom(50 * buffer + 17),
    }
    sizes = _files(tmp_path, contents)
    with ModelRoot(tmp_path) as root:
        got = hash_files(root.open_file, sizes, jobs=3, buffer_size=buffer)
    assert got == {name: _expected(data) for name, data in contents.items()}


def test_default_buffer_with_a_file_several_mebibytes_long(tmp_path: Path) -> None:
    data = os.urandom(3 * 2**20 + 7)
    assert len(data) > 20 * BUFFER_SIZE
    sizes = _files(tmp_path, {"shard.bin": data})
    with ModelRoot(tmp_path) as root:
        assert hash_files(root.open_file, sizes, jobs=2) == {"shard.bin": _expected(data)}


def test_largest_files_are_started_first(tmp_path: Path) -> None:
    sizes = _files(
        tmp_path, {"small": b"s", "big": b"b" * 5000, "mid": b"m" * 50, "mid2": b"n" * 50}
    )
    opened: list[str] = []
    with ModelRoot(tmp_path) as root:

        def recording_open(path: str) -> int:
            opened.append(path)
            return root.open_file(path)

        hash_files(recording_open, sizes, jobs=1)
    assert opened == ["big", "mid", "mid2", "small"]


def test_each_worker_allocates_one_buffer_for_all_its_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = _files(tmp_path, {f"f{i}": os.urandom(100) for i in range(40)})
    # (thread, buffer) of every file hashed; holding the views keeps their ids unique.
    calls: list[tuple[int, memoryview]] = []
    real = hashing.hash_descriptor

    def recording(fd: int, view: memoryview) -> FileDigest:
        calls.append((threading.get_ident(), view))
        return real(fd, view)

    monkeypatch.setattr(hashing, "hash_descriptor", recording)
    with ModelRoot(tmp_path) as root:
        got = hash_files(root.open_file, sizes, jobs=2)
    assert len(got) == 40 and len(calls) == 40
    buffers_by_thread = {t: {id(v) for t2, v in calls if t2 == t} for t, _ in calls}
    assert 1 <= len(buffers_by_thread) <= 2
    assert all(len(buffers) == 1 for buffers in buffers_by_thread.values())  # one per thread
    assert len({id(v) for _, v in calls}) == len(buffers_by_thread)  # and none shared


def test_no_files_needs_no_threads() -> None:
    def never(path: str) -> int:
        raise AssertionError(path)

    assert hash_files(never, {}, jobs=4) == {}


def test_a_failing_file_fails_the_whole_hash(tmp_path: Path) -> None:
    sizes = _files(tmp_path, {"a": b"a", "b": b"b"})
    with ModelRoot(tmp_path) as root:

        def failing_open(path: str) -> int:
            if path == "b":
                raise UsageError("cannot read b")
            return root.open_file(path)

        with pytest.raises(UsageError, match="cannot read b"):
            hash_files(failing_open, sizes, jobs=2)


def test_default_jobs_is_the_cpus_we_may_use() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0))
