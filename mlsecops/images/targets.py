"""What `--image` names: a reference, a docker-archive or OCI tarball, or an OCI layout.

Checking here means a missing or corrupt tarball is a usage error (exit 2) with a clear
reason, instead of whatever Trivy happens to print (or, worse, an empty result).
"""

from __future__ import annotations

import enum
import gzip
import io
import os
import re
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from mlsecops.errors import UsageError
from mlsecops.guarded.files import check_regular
from mlsecops.guarded.json_text import parse_json
from mlsecops.guarded.limits import InputKind, size_limit


class ImageSource(enum.Enum):
    """What an `--image` argument names: each one reaches Trivy in its own way."""

    REFERENCE = "reference"  # pulled by Trivy from a registry or the local Docker engine
    DOCKER_ARCHIVE = "docker-archive"  # `docker save` output, plain or gzipped
    OCI_LAYOUT = "oci-layout"  # an OCI image layout directory
    OCI_TARBALL = "oci-tarball"  # an OCI image layout in a tar file (Trivy needs it extracted)


@dataclass(frozen=True)
class ImageTarget:
    """An `--image` argument, checked: what it is and, for a local image, its path."""

    name: str  # what the user wrote: a reference or a path
    source: ImageSource
    path: Path | None = None
    # False for a gzipped `docker save` archive told by its first header alone: the rest
    # is checked only if Trivy refuses it (`check_tarball`), so corrupt stays exit 2.
    checked_in_full: bool = True


def classify_image(arg: str) -> ImageTarget:
    """Decide whether `--image ARG` is a tarball, an OCI layout directory or a reference."""
    path = Path(arg)
    if path.is_dir():
        if not (path / "oci-layout").is_file() or not (path / "index.json").is_file():
            raise UsageError(
                f"image directory {arg} is not an OCI image layout (no oci-layout/index.json)",
                "pass an OCI layout directory, a docker-archive tarball, or an image reference",
            )
        return ImageTarget(arg, ImageSource.OCI_LAYOUT, path.resolve())
    if os.path.lexists(path):
        # A FIFO or a device named like a tarball is refused before anything opens it.
        check_regular(path, InputKind.IMAGE_TARBALL)
        if _corrupt_unless(lambda: _classic_docker_gzip(path), path):
            return ImageTarget(arg, ImageSource.DOCKER_ARCHIVE, path.resolve(), False)
        return ImageTarget(arg, _tarball_kind(path), path.resolve())
    if _looks_like_path(arg):
        raise UsageError(
            f"image tarball not found: {arg}",
            "check the path, or pass an image reference such as python:3.11-slim",
        )
    return ImageTarget(arg, ImageSource.REFERENCE)


def _looks_like_path(arg: str) -> bool:
    lowered = arg.lower()
    return lowered.endswith((".tar", ".tar.gz", ".tgz")) or arg.startswith(("./", "../", "/"))


_GZIP_MAGIC = b"\x1f\x8b"
_DOCKER_ID_NAME = re.compile(r"[0-9a-f]{64}(?:/.*|\.json)?", re.DOTALL)
# Reads this size from a gzipped tarball: the stream pass then costs about what zlib does.
_STREAM_BUFFER = 2**20
_FIX = "re-create it with `docker save IMAGE -o FILE.tar`"


@dataclass(frozen=True)
class _Contents:
    """What classifying a tarball needs: every member's name, and manifest.json's bytes."""

    names: frozenset[str]
    manifest: bytes | None  # None: no manifest.json in the archive


def check_tarball(path: Path) -> None:
    """Read all of a tarball told by its first header, refusing anything corrupt (exit 2).

    Called only when Trivy refused the archive: a gzipped `docker save` archive is read in
    full by Trivy alone on the way that works (gunzipping it here too would double the
    cost), and here on the way that fails, so that a bad input still gets our reason.
    """
    _tarball_kind(path)


def _tarball_kind(path: Path) -> ImageSource:
    """Read the tarball's index to tell docker-archive from OCI, refusing anything corrupt."""
    contents = _corrupt_unless(lambda: _read_contents(path), path)
    if contents.manifest is not None:
        _check_docker_manifest(contents, path)
        return ImageSource.DOCKER_ARCHIVE
    if "oci-layout" in contents.names and "index.json" in contents.names:
        return ImageSource.OCI_TARBALL
    raise UsageError(
        f"image tarball {path} is neither a docker-archive (manifest.json) nor an OCI layout",
        _FIX,
    )


_T = TypeVar("_T")


def _corrupt_unless(read: Callable[[], _T], path: Path) -> _T:
    """`read()`, with any error reading the archive as the one-line corrupt-tarball error."""
    try:
        return read()
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile, ValueError) as exc:
        raise UsageError(
            f"image tarball {path} is corrupt or not a tar archive ({exc})", _FIX
        ) from exc


def _classic_docker_gzip(path: Path) -> bool:
    """True for a gzipped tarball whose first member is one `docker save` names by an
    image or layer ID (`<64 hex>/`, `<64 hex>.json`): nothing else writes such names."""
    with path.open("rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            return False
        raw.seek(0)
        with (
            gzip.GzipFile(fileobj=raw, mode="rb") as unzipped,
            tarfile.open(fileobj=unzipped, mode="r|") as archive,
        ):
            first = archive.next()  # its header only, and any extended header before it
        return first is not None and _DOCKER_ID_NAME.fullmatch(_name(first)) is not None


def _read_contents(path: Path) -> _Contents:
    """The names and manifest.json of a tarball, reading a gzipped one exactly once.

    A plain tar is indexed by seeking from header to header (its data is never read). A
    gzipped one cannot be seeked in: it is read front to back in one pass (manifest.json
    taken as it goes by, `docker save` puts it near the end), never rewound to reach it.
    """
    with path.open("rb") as raw:
        gzipped = raw.read(2) == _GZIP_MAGIC
        raw.seek(0)
        if not gzipped:
            with tarfile.open(fileobj=raw, mode="r:*") as archive:
                members = archive.getmembers()
                manifest = next((m for m in members if _name(m) == "manifest.json"), None)
                data = _member_bytes(archive, manifest, path) if manifest else None
                return _Contents(frozenset(_name(m) for m in members), data)
        names: set[str] = set()
        data = None
        with (
            _ForwardGzip(fileobj=raw, mode="rb") as unzipped,
            tarfile.open(fileobj=unzipped, mode="r:") as archive,
        ):
            while (member := archive.next()) is not None:
                names.add(_name(member))
                if _name(member) == "manifest.json" and data is None:
                    data = _member_bytes(archive, member, path)  # right here: no rewind
        return _Contents(frozenset(names), data)


class _ForwardGzip(gzip.GzipFile):
    """A GzipFile that skips forward a megabyte at a time (GzipFile's own seek decompresses
    8 KiB per call: a tenth of a second more per 100 MB); seeking back still rewinds."""

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Move to `offset`; forward by reading on, in large steps."""
        if whence == io.SEEK_SET and offset > self.tell():
            while (ahead := offset - self.tell()) > 0 and self.read(min(ahead, _STREAM_BUFFER)):
                pass
            return self.tell()
        return super().seek(offset, whence)


def _name(member: tarfile.TarInfo) -> str:
    return member.name.removeprefix("./")


def _member_bytes(archive: tarfile.TarFile, info: tarfile.TarInfo, path: Path) -> bytes:
    """manifest.json's bytes, refused unread when over its size limit."""
    limit = size_limit(InputKind.IMAGE_MANIFEST)
    if info.size > limit:
        raise UsageError(
            f"image tarball {path}: manifest.json is {info.size:,} bytes, over the limit of "
            f"{limit:,} bytes",
            f"if the image is genuine, set {InputKind.IMAGE_MANIFEST.variable} to more bytes",
        )
    member = archive.extractfile(info)
    if member is None:
        raise tarfile.TarError("manifest.json is not a regular file")
    return member.read()


def _check_docker_manifest(contents: _Contents, path: Path) -> None:
    """manifest.json is a list of images, each listing its layers by name; all are present."""
    source = f"image tarball {path}: manifest.json"
    assert contents.manifest is not None
    try:
        text = contents.manifest.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source} is not UTF-8 text ({exc.reason})", _FIX) from exc
    manifest = parse_json(text, source, _FIX)
    if not isinstance(manifest, list) or not manifest:
        raise UsageError(f"{source} lists no image (it must be a non-empty list)", _FIX)
    for index, entry in enumerate(manifest):
        layers = entry.get("Layers", []) if isinstance(entry, dict) else None
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise UsageError(
                f"{source}: entry {index} is not an image with a list of layer names", _FIX
            )
        for layer in layers:
            if layer.removeprefix("./") not in contents.names:
                raise UsageError(
                    f"image tarball {path} is corrupt or not a tar archive "
                    f"({f'filename {layer!r} not found'})",
                    _FIX,
                )


def extract_oci_tarball(tarball: Path, into: Path) -> Path:
    """Unpack an OCI tarball for Trivy, which reads OCI layouts only as directories."""
    try:
        with tarfile.open(tarball, "r:*") as archive:
            # The "data" filter refuses absolute paths, `..` and links out of `into`.
            archive.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise UsageError(
            f"cannot unpack OCI image tarball {tarball}: {exc}", "re-create the OCI tarball"
        ) from exc
    return into
