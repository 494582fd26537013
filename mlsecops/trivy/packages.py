"""Trivy's typed results -> the inventory: every package it listed, and an image's digests.

Trivy lists every package it read under each result (we always pass --list-all-pkgs),
vulnerable or not; the run's metadata holds the digests that pin a scanned image.
"""

from __future__ import annotations

from collections.abc import Collection

from mlsecops.core.inventory import Image, Package
from mlsecops.trivy.results import Package as TrivyPackage
from mlsecops.trivy.results import TargetNamer, TrivyRun


def inventory_packages(
    run: TrivyRun, name_target: TargetNamer, skip_types: Collection[str] = ()
) -> tuple[Package, ...]:
    """One inventory Package per package per result, except results of a type in `skip_types`."""
    return tuple(
        _package(package, name_target(result.target), result.type)
        for result, package in run.packages()
        if result.type not in skip_types and package.name
    )


def _package(package: TrivyPackage, target: str, ecosystem: str) -> Package:
    properties: tuple[tuple[str, str], ...] = ()
    if package.source is not None:
        name, version, release, epoch = package.source
        properties = tuple(
            (key, value)
            for key, value in (
                ("src_name", name),
                ("src_version", version),
                ("src_release", release),
                ("src_epoch", str(epoch) if epoch else ""),
            )
            if value
        )
    return Package(
        name=package.name,
        version=package.full_version or package.version,
        purl=package.purl,
        target=target,
        ecosystem=ecosystem,
        line=package.lines[0] if package.lines else None,
        path=package.path,
        properties=properties,
    )


def image_inventory(run: TrivyRun, name: str) -> Image:
    """The image `name` with the digests and OS Trivy reported for it."""
    metadata = run.metadata
    return Image(
        name=name,
        image_id=metadata.image_id,
        repo_digests=metadata.repo_digests,
        repo_tags=metadata.repo_tags,
        diff_ids=metadata.diff_ids,
        os=metadata.os,
    )
