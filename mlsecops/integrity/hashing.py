"""SHA-256 of many files at once: one thread per core, largest work first, constant memory.

Threads are enough: hashlib releases the GIL while it digests a large chunk, and so does the
read, so the cores run in parallel. Each worker owns one buffer for its whole life, so memory
is `jobs x buffer_size` whatever the size of the model. Small files are hashed in batches, one
directory each: the directory is opened once per batch (beneath the root, see tree.py), not
once per file, and the batches flow through a queue a few items long, so nothing per file is
allocated up front but the batch lists. Largest first, so a big shard picked up last does
not leave the other cores idle at the end.
"""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mlsecops.integrity.tree import ModelRoot

# 128 KiB. Measured in fresh processes (2-core EPYC VM, page cache warm), 64-128 KiB buffers
# hash ~25% faster than 256 KiB-1 MiB ones, most likely because the buffer, written by the
# kernel's copy and then read by SHA-256, then stays in the core's L2 (512 KiB there) next
# to the data being copied. Syscalls per byte are still negligible at this size.
BUFFER_SIZE = 128 * 1024
# A batch ends at this many files or bytes, whichever comes first: small enough that the
# cores share the work evenly, large enough that queueing costs nothing per file.
BATCH_FILES = 256
BATCH_BYTES = 8 * 2**20
_FADVISE = hasattr(os, "posix_fadvise")


@dataclass(frozen=True, slots=True)  # slots: one per file hashed
class FileDigest:
    """What hashing one file found: the bytes actually read and their SHA-256."""

    size: int
    sha256: str


Found = Callable[[str, "FileDigest"], None]
"""Takes one file's digest: its path under the root, and what hashing it found."""


@dataclass(frozen=True)
class Batch:
    """Files of one directory, hashed by one worker through one directory descriptor."""

    parent: str  # the directory, relative to the root ("" the root itself)
    paths: tuple[str, ...]  # largest first
    size: int  # their expected bytes in all


def default_jobs() -> int:
    """The CPUs this process may run on (the affinity mask, which containers narrow)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # macOS has no sched_getaffinity
        return max(1, os.cpu_count() or 1)


def hash_files(
    root: ModelRoot,
    sizes: Mapping[str, int],
    jobs: int,
    buffer_size: int = BUFFER_SIZE,
) -> dict[str, FileDigest]:
    """Hash every path in `sizes` (path -> expected size, used only to plan the work)."""
    digests: dict[str, FileDigest] = {}
    each_digest(root, sizes, jobs, digests.__setitem__, buffer_size)  # one key per path
    return digests


def each_digest(
    root: ModelRoot,
    sizes: Mapping[str, int],
    jobs: int,
    found: Found,
    buffer_size: int = BUFFER_SIZE,
) -> None:
    """Hash every path in `sizes`, handing each digest to `found` as it is made (from the
    workers' threads), so that a caller comparing them keeps none."""
    if not sizes:
        return
    work = batches(sizes)
    workers = max(1, min(jobs, len(work)))
    if workers == 1:  # no thread to start or queue to feed
        view = memoryview(bytearray(buffer_size))
        for batch in work:
            _hash_batch(root, batch, view, found)
        return
    errors: list[BaseException] = []
    pending: queue.Queue[Batch | None] = queue.Queue(maxsize=2 * workers)

    def worker() -> None:
        view = memoryview(bytearray(buffer_size))
        while (batch := pending.get()) is not None:
            if errors:
                continue  # one file failed the hash: drain the queue without reading
            try:
                _hash_batch(root, batch, view, found)
            except BaseException as exc:  # re-raised in the caller's thread below
                errors.append(exc)

    threads = [
        threading.Thread(target=worker, name=f"mlsecops-hash-{n}", daemon=True)
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    try:
        for batch in work:
            if errors:
                break
            pending.put(batch)
    finally:
        for _ in threads:
            pending.put(None)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]


def batches(sizes: Mapping[str, int]) -> list[Batch]:
    """The files grouped by directory, cut into batches, the largest batches first."""
    by_parent: dict[str, list[str]] = {}
    for path in sizes:
        by_parent.setdefault(path.rpartition("/")[0], []).append(path)
    work: list[Batch] = []
    for parent, paths in by_parent.items():
        paths.sort(key=lambda path: (-sizes[path], path))
        start, total = 0, 0
        for index, path in enumerate(paths):
            if index > start and (
                index - start >= BATCH_FILES or total + sizes[path] > BATCH_BYTES
            ):
                work.append(Batch(parent, tuple(paths[start:index]), total))
                start, total = index, 0
            total += sizes[path]
        work.append(Batch(parent, tuple(paths[start:]), total))
    work.sort(key=lambda batch: (-batch.size, batch.parent, batch.paths[0]))
    return work


def _hash_batch(root: ModelRoot, batch: Batch, view: memoryview, found: Found) -> None:
    """Hash one batch through one descriptor of its directory."""
    with root.directory(batch.parent) as dir_fd:
        for path in batch.paths:
            fd = root.open_in(dir_fd, path.rpartition("/")[2], path)
            found(path, hash_descriptor(fd, view))


def hash_descriptor(fd: int, view: memoryview) -> FileDigest:
    """Stream `fd` to its end through `view` and close it."""
    digest = hashlib.sha256()
    size = 0
    into = [view]
    try:
        count = os.readv(fd, into)
        if count == len(view) and _FADVISE:
            # More than a buffer: a hint to read ahead, which helps a cold cache. Asked only
            # now, so a small file costs no extra call.
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while count:
            digest.update(view[:count])
            size += count
            count = os.readv(fd, into)
    finally:
        os.close(fd)
    return FileDigest(size, digest.hexdigest())
