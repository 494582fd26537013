"""What `--image` names: a reference, a docker-archive or OCI tarball, or an OCI layout.

Checking here means a missing or corrupt tarball is a usage error (exit 2) with a clear
reason, instead of whatever Trivy happens to print (or, worse, an empty result).
"""

from __future__ import annotations

import enum
import gzip
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

from mlsecops.errors import UsageError
from mlsecops.guarded.files import check_regular
from mlsecops.guarded.json_text import parse_json
from mlsecops.guarded.limits import InputKind, size_limit


class ImageSource(enum.Enum):
    REFERENCE = "reference"  # pulled by Trivy from a registry or the local Docker engine
    DOCKER_ARCHIVE = "docker-archive"  # `docker save` output, plain or gzipped
    OCI_LAYOUT = "oci-layout"  # an OCI image layout directory
    OCI_TARBALL = "oci-tarball"  # an OCI image layout in a tar file (Trivy needs it extracted)


@dataclass(frozen=True)
class ImageTarget:
    name: str  # what the user wrote: a reference or a path
    source: ImageSource
    path: Path | None = None


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


def _tarball_kind(path: Path) -> ImageSource:
    """Read the tarball's index to tell docker-archive from OCI, refusing anything corrupt."""
    try:
        with tarfile.open(path, "r:*") as archive:
            names = {m.name.removeprefix("./") for m in archive.getmembers()}
            if "manifest.json" in names:
                _check_docker_manifest(archive, path)
                return ImageSource.DOCKER_ARCHIVE
            if "oci-layout" in names and "index.json" in names:
                return ImageSource.OCI_TARBALL
    except (tarfile.TarError, OSError, EOFError, gzip.BadGzipFile, ValueError, KeyError) as exc:
        raise UsageError(
            f"image tarball {path} is corrupt or not a tar archive ({exc})",
            "re-create it with `docker save IMAGE -o FILE.tar`",
        ) from exc
    raise UsageError(
        f"image tarball {path} is neither a docker-archive (manifest.json) nor an OCI layout",
        "re-create it with `docker save IMAGE -o FILE.tar`",
    )


def _check_docker_manifest(archive: tarfile.TarFile, path: Path) -> None:
    """manifest.json is a list of images, each listing its layers by name; all are present."""
    info = archive.getmember("manifest.json")
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
    source = f"image tarball {path}: manifest.json"
    fix = "re-create it with `docker save IMAGE -o FILE.tar`"
    try:
        text = member.read().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{source} is not UTF-8 text ({exc.reason})", fix) from exc
    manifest = parse_json(text, source, fix)
    if not isinstance(manifest, list) or not manifest:
        raise UsageError(f"{source} lists no image (it must be a non-empty list)", fix)
    for index, entry in enumerate(manifest):
        layers = entry.get("Layers", []) if isinstance(entry, dict) else None
        if not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
            raise UsageError(
                f"{source}: entry {index} is not an image with a list of layer names", fix
            )
        for layer in layers:
            archive.getmember(layer)  # KeyError when a layer is missing


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
