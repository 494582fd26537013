"""The packages and images of a scan as CycloneDX 1.6 components.

A package listed in several places (two requirements files, a file and an image) is ONE
component, keyed by its package URL, with one evidence occurrence per place. A requirement
with no exact version (an MLS-UNPINNED finding) is a component without a version, marked
as not checked. Each image is a `container` component pinned by its digests; its OS
packages hang under an `operating-system` component, as Trivy's own SBOMs have them, which
is what lets `trivy sbom` read them back as OS packages.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from mlsecops.core.coverage import Coverage, NotChecked, Unchecked
from mlsecops.core.findings import Finding, Kind, TargetType
from mlsecops.core.inventory import Image, Package
from mlsecops.deps.listing import normalise
from mlsecops.deps.unpinned import UNPINNED_ID

PREFIX = "mlsecops:"
# Package URL types of OS packages: they belong to the image's operating-system component.
OS_PURL_TYPES = ("pkg:deb/", "pkg:rpm/", "pkg:apk/")

PackageKey = tuple[str, str, str]  # (target, normalised name, version)
# An OS package's source package under the property names Trivy itself writes and reads
# (its registered `aquasecurity:trivy` taxonomy): OS advisories are filed by source package,
# so without them `trivy sbom` finds nothing for libc6 (glibc's advisories).
TRIVY_SOURCE_PROPS = {
    "src_name": "aquasecurity:trivy:SrcName",
    "src_version": "aquasecurity:trivy:SrcVersion",
    "src_release": "aquasecurity:trivy:SrcRelease",
    "src_epoch": "aquasecurity:trivy:SrcEpoch",
}
# The ledger's reasons that name a package (the others name model files or URLs).
PACKAGE_REASONS = frozenset(
    {
        Unchecked.UNPINNED,
        Unchecked.NO_PYPI_TWIN,
        Unchecked.SKIPPED_BY_TRIVY,
        Unchecked.UNPARSEABLE_VERSION,
        Unchecked.UNRESOLVED,
        Unchecked.EXCLUDED,
    }
)


def prop(name: str, value: object) -> dict[str, str]:
    """A CycloneDX property named in our namespace (`conda_package`: `mlsecops:conda-package`)."""
    text = str(value).lower() if isinstance(value, bool) else str(value)
    return {"name": PREFIX + name.replace("_", "-"), "value": text}


def unique_props(props: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """Each (name, value) once, in first-seen order."""
    return list({(p["name"], p["value"]): p for p in props}.values())


@dataclass
class PackageComponents:
    """Library components and how to find the one a finding or an image refers to."""

    components: list[dict[str, Any]] = field(default_factory=list)
    by_place: dict[PackageKey, str] = field(default_factory=dict)  # -> bom-ref
    by_target: dict[str, list[str]] = field(default_factory=dict)  # target -> bom-refs

    def ref_for(self, finding: Finding) -> str | None:
        """The bom-ref of the component a vulnerability finding is about."""
        key = (finding.target, normalise(finding.package), finding.installed_version)
        return self.by_place.get(key)


def package_components(
    packages: Sequence[Package], unpinned: Sequence[Finding], coverage: Coverage
) -> PackageComponents:
    """One component per package URL, one occurrence per place it is listed."""
    skipped = {(i.target, normalise(i.name)): str(i.reason) for i in coverage.not_checked}
    built = PackageComponents()
    groups: dict[str, list[Package]] = {}
    for package in packages:
        groups.setdefault(_ref(package), []).append(package)
    for ref, group in groups.items():
        built.components.append(_library(ref, group, skipped))
        for package in group:
            built.by_place[(package.target, normalise(package.name), package.version)] = ref
            built.by_target.setdefault(package.target, []).append(ref)
    listed = {(target, name) for target, name, _ in built.by_place}
    for item in _unchecked_items(unpinned, coverage):
        if (item.target, normalise(item.name)) in listed:
            continue  # listed with a version elsewhere in the same file: that component says it
        ref = f"unchecked:{item.target}:{normalise(item.name)}"
        if ref not in groups:
            groups[ref] = []
            built.components.append(_unchecked(ref, item))
            built.by_target.setdefault(item.target, []).append(ref)
    return built


def _ref(package: Package) -> str:
    if package.purl:
        return package.purl
    return f"package:{package.ecosystem}:{normalise(package.name)}@{package.version}"


def _library(ref: str, group: list[Package], skipped: dict[tuple[str, str], str]) -> dict[str, Any]:
    first = group[0]
    props = [prop("ecosystem", p.ecosystem) for p in group if p.ecosystem]
    props += [_package_prop(key, value) for p in group for key, value in p.properties]
    props += [
        prop("not-checked", reason)
        for p in group
        if (reason := skipped.get((p.target, normalise(p.name))))
    ]
    component: dict[str, Any] = {"type": "library", "bom-ref": ref, "name": first.name}
    if first.version:
        component["version"] = first.version
    if first.purl:
        component["purl"] = first.purl
    component["evidence"] = {"occurrences": [_occurrence(p) for p in group]}
    if props:
        component["properties"] = unique_props(props)
    return component


def _package_prop(key: str, value: str) -> dict[str, str]:
    if key in TRIVY_SOURCE_PROPS:
        return {"name": TRIVY_SOURCE_PROPS[key], "value": value}
    return prop(key, value)


def _occurrence(package: Package) -> dict[str, Any]:
    """Where the package is listed: the dependency file and line, or the file in an image."""
    if package.path:
        return {"location": package.path, "additionalContext": f"in image {package.target}"}
    occurrence: dict[str, Any] = {"location": package.target}
    if package.line is not None:
        occurrence["line"] = package.line
    return occurrence


def _unchecked_items(unpinned: Sequence[Finding], coverage: Coverage) -> list[NotChecked]:
    """Dependencies with no version to list: the ledger's package entries, and each
    MLS-UNPINNED finding (the version spec it names kept as the detail)."""
    items = [item for item in coverage.not_checked if item.reason in PACKAGE_REASONS]
    items += [
        NotChecked(Unchecked.UNPINNED, f.target, f.package, f.line, f.properties.get("spec", ""))
        for f in unpinned
    ]
    return items


def _unchecked(ref: str, item: NotChecked) -> dict[str, Any]:
    occurrence: dict[str, Any] = {"location": item.target}
    if item.line is not None:
        occurrence["line"] = item.line
    props = [prop("not-checked", item.reason)]
    if item.detail:
        props.append(prop("not-checked-detail", item.detail))
    return {
        "type": "library",
        "bom-ref": ref,
        "name": item.name,
        "evidence": {"occurrences": [occurrence]},
        "properties": props,
    }


def add_orphans(built: PackageComponents, findings: Iterable[Finding]) -> None:
    """A component for each vulnerable package no source listed in its inventory, so that
    every vulnerability's `affects` names a component of the document."""
    for finding in findings:
        if finding.kind is not Kind.VULNERABILITY or finding.id == UNPINNED_ID:
            continue
        if built.ref_for(finding) is not None:
            continue
        key = (finding.target, normalise(finding.package), finding.installed_version)
        ref = f"finding:{finding.target}:{key[1]}@{key[2]}"
        occurrence: dict[str, Any] = {"location": finding.target}
        if finding.line is not None and finding.target_type is not TargetType.IMAGE:
            occurrence["line"] = finding.line
        component: dict[str, Any] = {"type": "library", "bom-ref": ref, "name": finding.package}
        if finding.installed_version:
            component["version"] = finding.installed_version
        component["evidence"] = {"occurrences": [occurrence]}
        built.components.append(component)
        built.by_place[key] = ref
        built.by_target.setdefault(finding.target, []).append(ref)


def unpinned_findings(findings: Iterable[Finding]) -> list[Finding]:
    """The MLS-UNPINNED findings: each names a dependency with no exact version."""
    return [f for f in findings if f.id == UNPINNED_ID and f.package]


def image_components(
    images: Sequence[Image], packages: PackageComponents
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A container component per image (its OS as a second component), and the
    dependencies: image -> OS and its language packages, OS -> its OS packages."""
    components: list[dict[str, Any]] = []
    dependencies: list[dict[str, Any]] = []
    for image in {image.name: image for image in images}.values():
        ref = image_ref(image)
        refs = list(dict.fromkeys(packages.by_target.get(image.name, [])))
        os_refs = [r for r in refs if r.startswith(OS_PURL_TYPES)]
        components.append(_container(ref, image))
        depends = [r for r in refs if r not in os_refs]
        if image.os:
            family, _, version = image.os.partition(" ")
            os_ref = f"{ref}#os"
            os_component = {"type": "operating-system", "bom-ref": os_ref, "name": family}
            components.append({**os_component, **({"version": version} if version else {})})
            dependencies.append({"ref": os_ref, "dependsOn": os_refs})
            depends.insert(0, os_ref)
        else:
            depends = refs
        dependencies.append({"ref": ref, "dependsOn": depends})
    return components, dependencies


def image_ref(image: Image) -> str:
    """The bom-ref of an image's container component."""
    return f"image:{image.name}"


def _container(ref: str, image: Image) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "container", "bom-ref": ref, "name": image.name}
    digest = image.repo_digests[0] if image.repo_digests else ""
    if digest:
        component["version"] = digest.rpartition("@")[2]
        component["purl"] = oci_purl(digest)
    elif image.image_id:
        component["version"] = image.image_id
    props = [prop("image-id", image.image_id)] if image.image_id else []
    props += [prop("repo-digest", d) for d in image.repo_digests]
    props += [prop("repo-tag", t) for t in image.repo_tags]
    props += [prop("diff-id", d) for d in image.diff_ids]
    if props:
        component["properties"] = props
    return component


def oci_purl(repo_digest: str) -> str:
    """`pkg:oci/NAME@sha256%3AHEX?repository_url=REPO` for `REPO@sha256:HEX` (purl-spec's
    oci type: the name is the last path segment, lower-cased)."""
    repository, _, digest = repo_digest.rpartition("@")
    name = repository.rsplit("/", 1)[-1].lower()
    return (
        f"pkg:oci/{quote(name, safe='')}@{quote(digest, safe='')}"
        f"?repository_url={quote(repository.lower(), safe='/')}"
    )
