"""conda environment files (`environment.yml`, MLflow's `conda.yaml`, ...) as a Listing.

Trivy lists conda packages but does not look up their vulnerabilities, not even those of
the `pip:` section (aquasecurity/trivy#1856). Here the `pip:` entries are PyPI packages as
they are; conda packages that are a PyPI project under the same or another name
(deps/conda_names: conda-forge's mapping plus a curated one) are looked up as that project,
through the SBOM route.
Findings point at the file's line. Conda packages with no PyPI twin are in the coverage
ledger (no-pypi-twin), and specs without an exact version become unpinned findings.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from mlsecops.core.coverage import NotChecked, Unchecked
from mlsecops.core.findings import Finding
from mlsecops.deps.conda_names import pypi_name
from mlsecops.deps.listing import Declared, FileKind, Listing
from mlsecops.deps.requirements_txt import parse_requirement
from mlsecops.deps.unpinned import unpinned_finding
from mlsecops.errors import UsageError
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind
from mlsecops.guarded.yaml_text import compose_yaml

_CONDA_SPEC = re.compile(r"^(?:[^\s:]+::)?(?P<name>[A-Za-z0-9_][A-Za-z0-9._-]*)\s*(?P<rest>.*)$")
_PLAIN_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+!-]*$")
_BRACKET_VERSION = re.compile(r"version\s*=\s*['\"]?(?P<version>[^'\",\]]+)")


@dataclass(frozen=True)
class CondaDependency:
    """One dependency line of an environment.yml, conda's or its `pip:` section's."""

    name: str  # as written, channel dropped
    spec: str  # the version part as written ("=1.26", ">=1.24", "" for none)
    line: int
    version: str  # the exact version when pinned, else ""
    source: str  # "conda" or "pip"


@dataclass(frozen=True)
class Environment:
    """What an environment.yml declares: its dependencies and the pip lines naming none."""

    path: Path
    dependencies: tuple[CondaDependency, ...]
    unchecked_pip: tuple[tuple[str, int], ...] = ()  # pip: lines naming no package (-r, URLs)


def conda_version(rest: str) -> str:
    """The exact version a conda match spec pins, or "" when it allows several.

    `==1.26.4`, `=1.26.4=py311h…` (what `conda env export` writes), `1.26.4` and
    `=1.26.4` pin; `=1.26` means every 1.26.* release, and ranges or wildcards pin nothing.
    """
    rest = rest.strip()
    if rest.startswith("["):
        match = _BRACKET_VERSION.search(rest)
        return conda_version(match["version"]) if match else ""
    if rest.startswith("=="):
        version = rest[2:].split("=")[0].strip()
        return version if _PLAIN_VERSION.match(version) else ""
    if rest.startswith("="):
        version, *build = rest[1:].split("=")
        version = version.strip()
        if not _PLAIN_VERSION.match(version):
            return ""
        # `=1.26` is a prefix match (1.26.*); three release parts name one release.
        return version if build or _release_parts(version) >= 3 else ""
    if not rest or rest[0] in "<>!~":
        return ""
    version = rest.split()[0]  # `name 1.26.4 py311_0`: version then build
    return version if _PLAIN_VERSION.match(version) else ""


def _release_parts(version: str) -> int:
    match = re.match(r"^\d+(?:\.\d+)*", version)
    return len(match[0].split(".")) if match else 0


def read_environment(path: Path) -> Environment:
    """The dependencies of an environment file, each with its line."""
    # Guarded: a regular file within the size limit, UTF-8; no aliases, bounded depth.
    text = read_text(path, InputKind.CONDA_ENVIRONMENT)
    root = compose_yaml(
        text,
        f"conda environment file {path}",
        "fix the YAML (`conda env export` writes a valid one)",
    )
    dependencies: list[CondaDependency] = []
    unchecked: list[tuple[str, int]] = []
    for node in _dependency_nodes(root, path):
        if isinstance(node, yaml.ScalarNode):
            dependencies.append(_conda_dependency(str(node.value), node.start_mark.line + 1))
        elif isinstance(node, yaml.MappingNode) and _is_pip_section(node):
            for pip_node in _pip_nodes(node, path):
                line = pip_node.start_mark.line + 1
                requirement = parse_requirement(str(pip_node.value), line)
                if requirement is None or (requirement.url and not requirement.pinned):
                    unchecked.append((str(pip_node.value), line))
                    continue
                dependencies.append(
                    CondaDependency(
                        requirement.name, requirement.spec, line, requirement.pinned, "pip"
                    )
                )
        else:
            raise UsageError(
                f"conda environment file {path}:{node.start_mark.line + 1}: a dependency must "
                "be a package spec or a `pip:` list",
                "write `- name=version` or `- pip: [name==version, ...]`",
            )
    return Environment(path, tuple(dependencies), tuple(unchecked))


def _dependency_nodes(root: yaml.Node | None, path: Path) -> Iterator[yaml.Node]:
    if root is None:
        return
    if not isinstance(root, yaml.MappingNode):
        raise UsageError(
            f"conda environment file {path}:{root.start_mark.line + 1}: not a mapping",
            "an environment file has `name:`, `channels:` and `dependencies:` keys",
        )
    for key, value in root.value:
        if key.value != "dependencies":
            continue
        if isinstance(value, yaml.ScalarNode) and value.value in ("", None):
            return
        if not isinstance(value, yaml.SequenceNode):
            raise UsageError(
                f"conda environment file {path}:{value.start_mark.line + 1}: `dependencies` "
                "must be a list",
                "write each dependency as a `- name=version` list item",
            )
        yield from value.value


def _is_pip_section(node: yaml.MappingNode) -> bool:
    return len(node.value) == 1 and node.value[0][0].value == "pip"


def _pip_nodes(node: yaml.MappingNode, path: Path) -> list[yaml.ScalarNode]:
    value = node.value[0][1]
    items = value.value if isinstance(value, yaml.SequenceNode) else None
    if items is None or not all(isinstance(item, yaml.ScalarNode) for item in items):
        raise UsageError(
            f"conda environment file {path}:{value.start_mark.line + 1}: `pip:` must be a list "
            "of requirements",
            "write `- pip:` followed by `- name==version` items",
        )
    return list(items)


def _conda_dependency(text: str, line: int) -> CondaDependency:
    match = _CONDA_SPEC.match(text.strip())
    if not match:
        return CondaDependency(text.strip(), "", line, "", "conda")
    rest = " ".join(match["rest"].split())
    return CondaDependency(match["name"], rest, line, conda_version(rest), "conda")


@dataclass(frozen=True)
class CondaReader:
    """A conda environment file as a Listing."""

    def read(self, path: Path, target: str) -> Listing:
        """Pinned `pip:` entries and pinned conda packages with a PyPI twin are checked
        (as that PyPI project); the rest is in the ledger with its reason."""
        environment = read_environment(path)
        packages: list[Declared] = []
        findings: list[Finding] = []
        skipped = [
            NotChecked(Unchecked.NOT_A_PACKAGE, target, text, line, "local, VCS or URL entry")
            for text, line in environment.unchecked_pip
        ]
        for dep in environment.dependencies:
            name = dep.name if dep.source == "pip" else pypi_name(dep.name)
            if name is None:
                detail = (
                    "no known PyPI project; add it to mlsecops/data/conda-pypi.yml if it is one"
                )
                skipped.append(
                    NotChecked(Unchecked.NO_PYPI_TWIN, target, dep.name, dep.line, detail)
                )
            elif not dep.version:
                findings.append(_unpinned(dep, target))
                skipped.append(
                    NotChecked(
                        Unchecked.UNPINNED, target, dep.name, dep.line, dep.spec or "any version"
                    )
                )
            else:
                properties = (("conda_package", dep.name),) if dep.source == "conda" else ()
                packages.append(
                    Declared(name, dep.version, dep.line, False, dep.source, properties)
                )
        return Listing(
            path, target, FileKind.CONDA, tuple(packages), tuple(skipped), tuple(findings)
        )


def _unpinned(dep: CondaDependency, target: str) -> Finding:
    if dep.source == "pip":
        how = f"pin it ({dep.name}==X.Y.Z) in the pip: section"
    else:
        how = f"pin it ({dep.name}=X.Y.Z, or export the solved environment with `conda env export`)"
    return unpinned_finding(
        package=dep.name,
        spec=dep.spec,
        target=target,
        line=dep.line,
        ecosystem=dep.source,
        how_to_pin=how,
    )
