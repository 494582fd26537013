"""integrity/hashing: files streamed through one reused buffer per worker, largest first."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.integrity import hashing
from mlsecops.integrity.hashing import (
    BATCH_BYTES,
    BATCH_FILES,
    BUFFER_SIZE,
    FileDigest,
    batches,
    default_jobs,
    hash_files,
)
from mlsecops.integrity.tree import ModelRoot
from tests.support.audit import recording


def recording_opens() -> contextlib.AbstractContextManager[list[str]]:
    """Every name os.open was called with in the block, in order."""
    return recording("open")


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
        got = hash_files(root, sizes, jobs=3, buffer_size=buffer)
    assert got == {name: _expected(data) for name, data in contents.items()}


def test_default_buffer_with_a_file_several_mebibytes_long(tmp_path: Path) -> None:
    data = os.urandom(3 * 2**20 + 7)
    assert len(data) > 20 * BUFFER_SIZE
    sizes = _files(tmp_path, {"shard.bin": data})
    with ModelRoot(tmp_path) as root:
        assert hash_files(root, sizes, jobs=2) == {"shard.bin": _expected(data)}


def test_largest_files_are_started_first(tmp_path: Path) -> None:
    sizes = _files(
        tmp_path, {"small": b"s", "big": b"b" * 5000, "mid": b"m" * 50, "mid2": b"n" * 50}
    )
    with ModelRoot(tmp_path) as root, recording_opens() as opened:
        hash_files(root, sizes, jobs=1)
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
        got = hash_files(root, sizes, jobs=2)
    assert len(got) == 40 and len(calls) == 40
    buffers_by_thread = {t: {id(v) for t2, v in calls if t2 == t} for t, _ in calls}
    assert 1 <= len(buffers_by_thread) <= 2
    assert all(len(buffers) == 1 for buffers in buffers_by_thread.values())  # one per thread
    assert len({id(v) for _, v in calls}) == len(buffers_by_thread)  # and none shared


def test_no_files_needs_no_threads(tmp_path: Path) -> None:
    before = threading.active_count()
    with ModelRoot(tmp_path) as root, recording_opens() as opened:
        assert hash_files(root, {}, jobs=4) == {}
    assert opened == [] and threading.active_count() == before


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_failing_file_fails_the_whole_hash(tmp_path: Path, jobs: int) -> None:
    sizes = _files(tmp_path, {f"f{i:03d}": b"x" for i in range(600)})
    before = threading.active_count()
    with ModelRoot(tmp_path) as root:
        (tmp_path / "f300").unlink()  # gone between the listing and the hash
        with pytest.raises(UsageError, match="cannot read f300 in the model"):
            hash_files(root, sizes, jobs=jobs)
    assert threading.active_count() == before  # every worker stopped


def test_each_directory_is_opened_once_per_batch_not_per_file(tmp_path: Path) -> None:
    (tmp_path / "data" / "part").mkdir(parents=True)
    contents = {f"data/part/{i:04d}.json": os.urandom(i % 50) for i in range(3 * BATCH_FILES)}
    contents["top.txt"] = b"top"
    sizes = _files(tmp_path, contents)
    with ModelRoot(tmp_path) as root, recording_opens() as opened:
        got = hash_files(root, sizes, jobs=2)
    assert got == {name: _expected(data) for name, data in contents.items()}
    # Segment by segment beneath the root, once per batch of BATCH_FILES files.
    assert opened.count("data") == opened.count("part") == 3
    assert len(opened) == len(contents) + 2 * 3


def test_batches_hold_one_directory_and_are_bounded() -> None:
    sizes = {f"d{i % 3}/f{i:05d}": 1000 for i in range(2000)}
    sizes["d0/huge"] = 10 * BATCH_BYTES
    sizes["d1/big-a"] = sizes["d1/big-b"] = BATCH_BYTES // 2 + 1
    work = batches(sizes)
    assert sorted(path for batch in work for path in batch.paths) == sorted(sizes)
    for batch in work:
        assert {path.rpartition("/")[0] for path in batch.paths} == {batch.parent}
        assert len(batch.paths) <= BATCH_FILES
        assert batch.size <= BATCH_BYTES or len(batch.paths) == 1
        assert batch.size == sum(sizes[path] for path in batch.paths)
    assert work[0].paths == ("d0/huge",)  # the largest work first
    assert [b.size for b in work] == sorted((b.size for b in work), reverse=True)


def test_a_directory_swapped_for_a_symlink_after_listing_is_never_followed(
    tmp_path: Path,
) -> None:
    model = tmp_path / "model"
    sizes = _files_in(model, {"weights/a.bin": b"a", "weights/b.bin": b"b"})
    outside = tmp_path / "outside"
    _files_in(outside, {"a.bin": b"a", "b.bin": b"b"})
    with ModelRoot(model) as root:
        (model / "weights").rename(tmp_path / "moved")
        (model / "weights").symlink_to(outside)
        with recording_opens() as opened, pytest.raises(UsageError, match="weights"):
            hash_files(root, sizes, jobs=2)
    assert "a.bin" not in opened and "b.bin" not in opened  # nothing behind the link


def _files_in(directory: Path, contents: dict[str, bytes]) -> dict[str, int]:
    for name, data in contents.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes(data)
    return {name: len(data) for name, data in contents.items()}


def test_default_jobs_is_the_cpus_we_may_use() -> None:
    assert default_jobs() == len(os.sched_getaffinity(0))
