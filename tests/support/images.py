"""Hand-built container images for Trivy, without Docker.

One layer holds just what Trivy's analyzers read: etc/os-release (and etc/debian_version
on Debian), var/lib/dpkg/status, and one site-packages/NAME-VERSION.dist-info/METADATA per
Python package. The same layer is packaged three ways: a docker-archive (`docker save`
layout), an OCI image layout directory, and that layout as a tarball. Every byte is
deterministic (fixed mtimes, owners and order), so digests are stable across runs.
"""

from __future__ import annotations

import gzip as gzip_module
import hashlib
import io
import json
import tarfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# 2024-01-01T00:00:00Z: fixed so that layer and config digests never change.
MTIME = 1704067200
CREATED = "2024-01-01T00:00:00Z"
SITE_PACKAGES = "usr/local/lib/python3.11/site-packages"

DEBIAN_12_OS_RELEASE = """\
PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
"""

_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
_OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"


@dataclass(frozen=True)
class _Blob:
    data: bytes

    @property
    def hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def digest(self) -> str:
        return f"sha256:{self.hex}"

    def descriptor(self, media_type: str, **extra: Any) -> dict[str, Any]:
        return {"mediaType": media_type, "digest": self.digest, "size": len(self.data), **extra}


def _os_release_field(os_release: str, name: str) -> str:
    for line in os_release.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == name:
            return value.strip().strip('"')
    return ""


def dpkg_status(packages: Sequence[tuple[str, str, str]]) -> str:
    """A var/lib/dpkg/status with (binary package, source package, version) entries."""
    stanzas = []
    for name, source, version in packages:
        lines = [
            f"Package: {name}",
            "Status: install ok installed",
            "Priority: optional",
            "Architecture: amd64",
        ]
        if source and source != name:  # dpkg leaves Source out when it equals Package
            lines.append(f"Source: {source}")
        lines += [f"Version: {version}", f"Description: {name} (test fixture)"]
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def python_metadata(name: str, version: str) -> str:
    """A minimal core-metadata file, as pip leaves in NAME-VERSION.dist-info/METADATA."""
    return f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: test fixture\n"


def layer_files(
    *,
    os_release: str,
    dpkg: Sequence[tuple[str, str, str]],
    python_packages: Sequence[tuple[str, str]],
    extra_files: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """Path (inside the image) -> content of every file of the image's single layer.

    `extra_files` adds files of the test's own (paths relative to the image root).
    """
    files = {"etc/os-release": os_release.encode(), **(extra_files or {})}
    if _os_release_field(os_release, "ID") == "debian":
        # Trivy's Debian analyzer reads the release number from here, not from os-release.
        files["etc/debian_version"] = (_os_release_field(os_release, "VERSION_ID") + "\n").encode()
    if dpkg:
        files["var/lib/dpkg/status"] = dpkg_status(dpkg).encode()
    for name, version in python_packages:
        # dist-info directory names use the normalised name (PEP 427: '-' -> '_').
        dist_info = f"{SITE_PACKAGES}/{name.replace('-', '_')}-{version}.dist-info"
        files[f"{dist_info}/METADATA"] = python_metadata(name, version).encode()
    return files


def _tar(entries: Mapping[str, bytes], directories: Iterable[str] = ()) -> bytes:
    """A deterministic tar: sorted entries, fixed mtime, root-owned."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for directory in sorted(set(directories)):
            info = tarfile.TarInfo(directory)
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, MTIME
            info.uname = info.gname = "root"
            tar.addfile(info)
        for path in sorted(entries):
            info = tarfile.TarInfo(path)
            info.size, info.mode, info.mtime = len(entries[path]), 0o644, MTIME
            info.uname = info.gname = "root"
            tar.addfile(info, io.BytesIO(entries[path]))
    return buffer.getvalue()


def _parents(paths: Iterable[str]) -> set[str]:
    parents: set[str] = set()
    for path in paths:
        parts = path.split("/")[:-1]
        parents.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    return parents


def _layer(
    os_release: str,
    dpkg: Sequence[tuple[str, str, str]],
    python_packages: Sequence[tuple[str, str]],
    extra_files: Mapping[str, bytes] | None = None,
) -> _Blob:
    files = layer_files(
        os_release=os_release,
        dpkg=dpkg,
        python_packages=python_packages,
        extra_files=extra_files,
    )
    return _Blob(_tar(files, _parents(files)))


def _config(layer: _Blob, env: Sequence[str] = ()) -> _Blob:
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": CREATED,
        "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin", *env], "Cmd": ["python3"]},
        # diff_ids are digests of the UNcompressed layer tar; Trivy checks them.
        "rootfs": {"type": "layers", "diff_ids": [layer.digest]},
        "history": [{"created": CREATED, "created_by": "tests/support/images.py"}],
    }
    return _Blob(json.dumps(config, sort_keys=True).encode())


def _gzip(data: bytes) -> bytes:
    return gzip_module.compress(data, mtime=0)


def build_docker_archive(
    path: Path,
    *,
    os_release: str = DEBIAN_12_OS_RELEASE,
    dpkg: Sequence[tuple[str, str, str]] = (),
    python_packages: Sequence[tuple[str, str]] = (),
    gzip: bool = False,
    repo_tag: str = "example/ml:1.0",
    extra_files: Mapping[str, bytes] | None = None,
    env: Sequence[str] = (),
) -> Path:
    """Write a `docker save`-style tarball (gzipped whole when `gzip`); return `path`.

    `dpkg` holds (binary package, source package, version); `python_packages` (name, version);
    `extra_files` more files for the layer (path in the image -> content); `env` more
    `NAME=value` entries for the image config's Env (as a Dockerfile ENV leaves them).
    Scan it with `trivy image --input PATH`.
    """
    layer = _layer(os_release, dpkg, python_packages, extra_files)
    config = _config(layer, env)
    manifest = [
        {
            "Config": f"{config.hex}.json",
            "RepoTags": [repo_tag],
            "Layers": [f"{layer.hex}/layer.tar"],
        }
    ]
    entries = {
        f"{config.hex}.json": config.data,
        f"{layer.hex}/layer.tar": layer.data,
        "manifest.json": json.dumps(manifest).encode(),
        "repositories": json.dumps(_repositories(repo_tag, layer.hex)).encode(),
    }
    archive = _tar(entries, [layer.hex])
    path.write_bytes(_gzip(archive) if gzip else archive)
    return path


def _repositories(repo_tag: str, top_layer: str) -> dict[str, dict[str, str]]:
    repository, _, tag = repo_tag.rpartition(":")
    return {repository or repo_tag: {tag or "latest": top_layer}}


def _oci_entries(
    os_release: str,
    dpkg: Sequence[tuple[str, str, str]],
    python_packages: Sequence[tuple[str, str]],
    compress_layer: bool,
    ref_name: str,
    extra_files: Mapping[str, bytes] | None = None,
) -> dict[str, bytes]:
    """Relative path -> content of an OCI image layout holding one single-layer image."""
    layer = _layer(os_release, dpkg, python_packages, extra_files)
    config = _config(layer)
    stored_layer = _Blob(_gzip(layer.data)) if compress_layer else layer
    layer_type = _OCI_LAYER + ("+gzip" if compress_layer else "")
    manifest = _Blob(
        json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": _OCI_MANIFEST,
                "config": config.descriptor(_OCI_CONFIG),
                "layers": [stored_layer.descriptor(layer_type)],
            },
            sort_keys=True,
        ).encode()
    )
    annotations = {"org.opencontainers.image.ref.name": ref_name}
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [manifest.descriptor(_OCI_MANIFEST, annotations=annotations)],
    }
    return {
        "oci-layout": json.dumps({"imageLayoutVersion": "1.0.0"}).encode(),
        "index.json": json.dumps(index, sort_keys=True).encode(),
        **{f"blobs/sha256/{blob.hex}": blob.data for blob in (config, stored_layer, manifest)},
    }


def build_oci_layout(
    directory: Path,
    *,
    os_release: str = DEBIAN_12_OS_RELEASE,
    dpkg: Sequence[tuple[str, str, str]] = (),
    python_packages: Sequence[tuple[str, str]] = (),
    compress_layer: bool = True,
    ref_name: str = "1.0",
    extra_files: Mapping[str, bytes] | None = None,
) -> Path:
    """Write an OCI image layout directory (oci-layout, index.json, blobs/); return it.

    Trivy reads it with `trivy image --input DIRECTORY`. `extra_files` as for
    `build_docker_archive`.
    """
    entries = _oci_entries(os_release, dpkg, python_packages, compress_layer, ref_name, extra_files)
    for relative, data in entries.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


def build_oci_tarball(
    path: Path,
    *,
    os_release: str = DEBIAN_12_OS_RELEASE,
    dpkg: Sequence[tuple[str, str, str]] = (),
    python_packages: Sequence[tuple[str, str]] = (),
    compress_layer: bool = True,
    ref_name: str = "1.0",
) -> Path:
    """Write the OCI image layout of `build_oci_layout` as one (uncompressed) tarball.

    Trivy 0.76 does NOT read this with `--input` (it only opens OCI layouts that are
    directories): extract it first. It is here to test that a scanner handles such files.
    """
    entries = _oci_entries(os_release, dpkg, python_packages, compress_layer, ref_name)
    path.write_bytes(_tar(entries, ["blobs", "blobs/sha256"]))
    return path
