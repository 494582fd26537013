"""The inventory: what a scan found to be there, beside what was wrong with it.

Findings say what is wrong; the inventory says what exists, so that a bill of materials
(reports/cyclonedx) can list it: every package a dependency file, environment or image
lists (with its package URL and where it is listed), every image scanned (with the digests
that pin it) and every model given (with its files' SHA-256, as `mlsecops hash` records
them, and their formats). Sources fill it in their SourceResult; inventories add up with `+`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    """One package at one version, where one source found it listed.

    The same package listed in two files is two entries (one per place); a report that
    lists each package once merges them by `purl`.
    """

    name: str  # as the source spells it (Trivy's PkgName, the file's text)
    version: str  # the full version (a Debian package's epoch:version-release)
    purl: str = ""  # the package URL; "" when the source gives none
    target: str = ""  # the file or image that lists it, as findings name it
    ecosystem: str = ""  # as findings name it: pip, poetry, uv, pipenv, python-pkg, debian, conda
    line: int | None = None  # 1-based line in `target`, when it is a file and the line is known
    path: str = ""  # inside an image: the file that records it (dist-info METADATA, ...)
    properties: tuple[tuple[str, str], ...] = ()  # more facts, e.g. ("conda_package", "pytorch")


@dataclass(frozen=True)
class Image:
    """One container image that was scanned, and the digests that pin it."""

    name: str  # as the user gave it, and as findings name it
    image_id: str = ""  # sha256:<hex> of the image config
    repo_digests: tuple[str, ...] = ()  # NAME@sha256:<hex> of the manifest, when it has one
    repo_tags: tuple[str, ...] = ()
    diff_ids: tuple[str, ...] = ()  # sha256:<hex> of each uncompressed layer
    os: str = ""  # "debian 12", when the image has a known OS


@dataclass(frozen=True)
class ModelFile:
    """One file of a model: what `mlsecops hash` records, and its format."""

    path: str  # relative to the model root, as the manifest names it
    size: int
    sha256: str  # 64 lowercase hex digits
    format: str  # detected from the content (pickle, safetensors, ...), never from the name


@dataclass(frozen=True)
class Model:
    """One `--model` path: its files and, when a manifest for it was given, its digest."""

    target: str  # as findings name it
    kind: str  # "file" or "directory"
    files: tuple[ModelFile, ...] = ()
    manifest_digest: str = ""  # sha256:<hex> of the matching `mlsecops hash` manifest
    manifest_source: str = ""  # the manifest file given
    problem: str = ""  # why it could not be hashed; "" when it was


@dataclass(frozen=True)
class Inventory:
    """The inventory of one source, or of a whole scan."""

    packages: tuple[Package, ...] = ()
    images: tuple[Image, ...] = ()
    models: tuple[Model, ...] = ()

    def __add__(self, other: Inventory) -> Inventory:
        """Both inventories in one, in order."""
        return Inventory(
            self.packages + other.packages,
            self.images + other.images,
            self.models + other.models,
        )
