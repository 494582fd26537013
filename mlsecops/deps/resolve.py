"""`--resolve`: what pip would install for a requirements file, scanned version by version.

Trivy checks only `==` pins in requirements.txt and never sees transitive dependencies.
`pip install --dry-run --ignore-installed --report` resolves the whole tree for the running
interpreter without installing anything; those exact versions go to Trivy as an SBOM, and
each finding is pinned on the top-level requirement that pulls its package in ("via X").
A pinned requirement pip skips for this interpreter (its environment marker does not match)
is checked at its pinned version all the same, with a note.

pip may build an sdist to read its metadata (that runs the package's build backend); set
PIP_ONLY_BINARY=:all: in the environment to forbid that.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mlsecops.core.findings import Finding
from mlsecops.deps.requirements_txt import (
    Requirement,
    RequirementsFile,
    normalise,
    parse_requirement,
)
from mlsecops.deps.sbom_bridge import Component, scan_components
from mlsecops.errors import ToolError
from mlsecops.paths import display_path
from mlsecops.trivy.run import Trivy

PIP_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Resolved:
    """One package of the resolved tree."""

    name: str
    version: str
    requested: bool  # named in the requirements file (or a file it includes)
    requires: tuple[str, ...] = ()  # normalised names of the packages it depends on

    @property
    def key(self) -> str:
        return normalise(self.name)


@dataclass(frozen=True)
class Resolution:
    packages: tuple[Resolved, ...]
    python: str  # the Python version pip resolved for


@dataclass(frozen=True)
class ResolveScan:
    findings: tuple[Finding, ...]
    notes: tuple[str, ...]


def pip_resolve(
    requirements: Path,
    *,
    index_url: str | None = None,
    python: str = sys.executable,
    timeout: int = PIP_TIMEOUT_SECONDS,
) -> Resolution:
    """The packages `pip install -r requirements` would install, without installing them."""
    env = dict(os.environ)
    if index_url:
        # Through the environment, not argv: an index URL may carry a token.
        env["PIP_INDEX_URL"] = index_url
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    shown = display_path(requirements)
    with tempfile.TemporaryDirectory(prefix="mlsecops-pip-") as tmp:
        report = Path(tmp) / "report.json"
        command = [
            python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--no-input", "--prefer-binary", "--report", str(report),
            "-r", str(requirements.resolve()),
        ]  # fmt: skip
        try:
            proc = subprocess.run(
                command,
                cwd=requirements.resolve().parent,
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ToolError(
                f"pip did not resolve {shown} within {timeout}s",
                "check the network to the package index, or drop --resolve",
            ) from exc
        except OSError as exc:
            raise ToolError(f"cannot run {python} -m pip: {exc}", "install pip") from exc
        if proc.returncode != 0:
            raise ToolError(
                f"pip could not resolve {shown}: {_pip_error(proc.stderr)}",
                "make `pip install --dry-run -r FILE` work for this Python (pass --index-url "
                "for a private index), or drop --resolve",
            )
        try:
            data = json.loads(report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ToolError(
                f"pip wrote no readable --report for {shown} ({exc})",
                "use pip 22.2 or newer (`python -m pip install -U pip`)",
            ) from exc
    return _resolution(data)


def _pip_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no message"])[-1].removeprefix("ERROR:").strip()


def _resolution(data: Any) -> Resolution:
    packages = []
    items = data.get("install") if isinstance(data, dict) else None
    for item in items if isinstance(items, list) else []:
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(metadata, dict) or not metadata.get("name"):
            continue
        requires = []
        for text in metadata.get("requires_dist") or []:
            requirement = parse_requirement(str(text))
            if requirement is not None:
                requires.append(requirement.key)
        packages.append(
            Resolved(
                name=str(metadata["name"]),
                version=str(metadata.get("version", "")),
                requested=bool(item.get("requested")),
                requires=tuple(requires),
            )
        )
    environment = data.get("environment") if isinstance(data, dict) else None
    python = ""
    if isinstance(environment, dict):
        python = str(environment.get("python_full_version") or environment.get("python_version"))
    return Resolution(tuple(packages), python or sys.version.split()[0])


def reached_from(packages: Sequence[Resolved], order: Sequence[str]) -> dict[str, list[str]]:
    """For each package, the requested packages whose dependency tree contains it.

    Edges come from each package's declared requirements whose target was resolved, so a
    dependency behind an environment marker or an extra counts when pip installed it for
    another reason: an over-approximation, which for "who pulls this in" errs towards naming
    one requirement too many rather than none. `order` (normalised names) sorts the result.
    """
    by_key = {p.key: p for p in packages}
    rank = {key: index for index, key in enumerate(order)}
    tops = sorted((p for p in packages if p.requested), key=lambda p: rank.get(p.key, len(rank)))
    reached: dict[str, list[str]] = {}
    for top in tops:
        seen = {top.key}
        stack = [top.key]
        while stack:
            for dep in by_key[stack.pop()].requires:
                if dep in by_key and dep not in seen:
                    seen.add(dep)
                    stack.append(dep)
                    reached.setdefault(dep, []).append(top.name)
    return reached


def resolve_requirements(
    trivy: Trivy, requirements: RequirementsFile, project: Path, index_url: str | None
) -> ResolveScan:
    """Findings for every package pip resolves for one requirements file."""
    target = display_path(requirements.path)
    resolution = pip_resolve(requirements.path, index_url=index_url)
    packages = resolution.packages
    order = [r.key for r in requirements.requirements]
    reached = reached_from(packages, order)
    by_key = {p.key: p for p in packages}
    # pip skips a requirement whose environment marker excludes this interpreter
    # (`tqdm==4.66.1 ; sys_platform == "win32"`); where it applies, the pin is installed,
    # so a pinned one is still checked at its pinned version.
    skipped = {r.key: r for r in requirements.requirements if r.pinned and r.key not in by_key}
    components = [Component(p.name, p.version) for p in packages]
    components += [Component(r.name, r.pinned) for r in skipped.values()]
    scan = scan_components(trivy, components, target, project)
    findings = [
        _attributed(finding, package, reached.get(package.key, []), requirements, target)
        for package in packages
        for finding in scan.findings(Component(package.name, package.version))
    ]
    findings += [
        _pinned_only(finding, requirement, target)
        for requirement in skipped.values()
        for finding in scan.findings(Component(requirement.name, requirement.pinned))
    ]
    unpinned = sum(1 for r in requirements.requirements if not r.pinned)
    notes = [
        f"{target}: resolved with pip for Python {resolution.python}: {len(packages)} "
        "package(s) checked at the versions pip picks today"
        + (f" ({unpinned} requirement(s) without an exact pin among them)" if unpinned else "")
        + "."
    ]
    if skipped:
        shown = ", ".join(f"{r.name}=={r.pinned}" for r in skipped.values())
        notes.append(
            f"{target}: {len(skipped)} pinned requirement(s) pip does not install for Python "
            f"{resolution.python} (an environment marker excludes them): {shown}; checked at "
            "the pinned version all the same."
        )
    return ResolveScan(tuple(findings), (*notes, *scan.notes))


def _pinned_only(finding: Finding, requirement: Requirement, target: str) -> Finding:
    """A finding for a pin pip skipped for this Python: on the pin's line, as a direct one."""
    properties = {**finding.properties, "resolved_by": "pin", "dependency": "direct"}
    line = requirement.line
    return replace(
        finding, target=target, line=line, end_line=line, properties=properties, location=""
    )


def _attributed(
    finding: Finding,
    package: Resolved,
    via: list[str],
    requirements: RequirementsFile,
    target: str,
) -> Finding:
    include_line = requirements.includes[0][1] if requirements.includes else None
    properties = {**finding.properties, "resolved_by": "pip"}
    if package.requested or not via:
        properties["dependency"] = "direct" if package.requested else "transitive"
        line = requirements.line_of(package.name) or include_line
        return replace(
            finding, target=target, line=line, end_line=line, properties=properties, location=""
        )
    properties.update(dependency="transitive", via=", ".join(via))
    line = requirements.line_of(via[0]) or include_line
    fix = finding.fix
    if finding.fixed_version:
        fix = (
            f"upgrade {finding.package} to {finding.fixed_version}: it comes in through "
            f"{', '.join(via)} (upgrade that, or constrain {finding.package} in {target})"
        )
    return replace(
        finding,
        target=target,
        line=line,
        end_line=line,
        title=f"{finding.title or finding.id} (via {', '.join(via)})",
        fix=fix,
        properties=properties,
        location="",
    )
