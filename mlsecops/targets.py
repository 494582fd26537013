"""What a scan looks at: the project directory and container images, checked before Trivy runs.

Checking here means a bad path or a corrupt tarball is a usage error (exit 2) with a clear
reason, instead of whatever Trivy happens to print (or, worse, an empty result).
"""

from __future__ import annotations

import enum
import fnmatch
import gzip
import json
import os
import tarfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.errors import UsageError

# Dependency files Trivy reads in a Python project; we check each is readable before scanning,
# because Trivy silently skips a file it cannot open.
DEPENDENCY_FILE_GLOBS = ("requirements*.txt", "poetry.lock", "uv.lock", "Pipfile.lock")
SKIPPED_DIRS = {".git", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".mypy_cache"}


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


def check_project(path: Path) -> Path:
    """The project directory to scan, resolved; every dependency file in it must be readable."""
    if not path.exists():
        raise UsageError(f"path not found: {path}", "pass an existing project directory")
    if not path.is_dir():
        raise UsageError(f"not a directory: {path}", "pass the project directory, not a file")
    for dep_file in dependency_files(path):
        _check_readable(dep_file)
    return path.resolve()


def dependency_files(root: Path, globs: Sequence[str] = DEPENDENCY_FILE_GLOBS) -> list[Path]:
    """The files under `root` whose name matches one of `globs` (by default the dependency
    files Trivy will read), hidden and vendored dirs skipped, in a stable order."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIPPED_DIRS)
        # A directory named like a dependency file is unreadable as one: listed too, so
        # that reading it fails loudly instead of the file being skipped.
        for name in [*sorted(filenames), *dirnames]:
            if any(fnmatch.fnmatchcase(name, glob) for glob in globs):
                found.append(Path(dirpath) / name)
    return found


# Trivy skips a lock file it cannot parse without a word (0.76: "num=0" and no result), which
# would read as "no vulnerabilities". So we check the syntax ourselves and refuse to pass.
_LOCK_SYNTAX = {
    "poetry.lock": ("TOML", "poetry lock"),
    "uv.lock": ("TOML", "uv lock"),
    "Pipfile.lock": ("JSON", "pipenv lock"),
}


def _check_readable(dep_file: Path) -> None:
    try:
        data = dep_file.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UsageError(
            f"cannot read dependency file {dep_file}: {reason}",
            "fix the file's permissions or remove it, then scan again",
        ) from exc
    syntax = _LOCK_SYNTAX.get(dep_file.name)
    if syntax is None:
        return
    language, regenerate = syntax
    try:
        text = data.decode("utf-8")
        if language == "TOML":
            tomllib.loads(text)
        else:
            json.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise UsageError(
            f"malformed lock file {dep_file}: not valid {language} ({exc})",
            f"regenerate it (`{regenerate}`) and scan again",
        ) from exc


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
    if path.is_file():
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
                _check_docker_manifest(archive)
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


def _check_docker_manifest(archive: tarfile.TarFile) -> None:
    member = archive.extractfile("manifest.json")
    if member is None:
        raise tarfile.TarError("manifest.json is not a regular file")
    manifest = json.loads(member.read())
    if not isinstance(manifest, list) or not manifest:
        raise ValueError("manifest.json lists no image")
    for entry in manifest:
        for layer in entry.get("Layers", []):
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
