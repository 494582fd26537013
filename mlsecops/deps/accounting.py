"""Every package each dependency file lists, checked once and accounted for in the ledger.

Trivy reads requirements pins and lock files itself (`trivy fs`); the readers in deps/ say
what each file lists. This module matches the two by (name, version): a package Trivy
listed was checked by Trivy; one it skipped (a poetry subtree behind a local path package,
Pipfile.lock's `develop`, a file Trivy never reads, a conda package, a resolved tree) goes
to the Checker (one `trivy sbom` run for all of them). Each file then gets one FileRead and
a NotChecked per package it lists that was not checked, so the ledger adds up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.findings import Finding
from mlsecops.core.inventory import Inventory
from mlsecops.core.inventory import Package as InventoryPackage
from mlsecops.core.source import SourceResult
from mlsecops.deps.listing import Declared, FileKind, Listing, normalise
from mlsecops.deps.locks import check_lock_syntax
from mlsecops.deps.sbom_bridge import Checked, Checker, Component
from mlsecops.trivy.advisory_bounds import Uncompared
from mlsecops.trivy.results import Package, Result, TargetNamer, TrivyRun

Key = tuple[str, str]  # (normalised name, version)


class BoundsChecker(Protocol):
    """Names the advisories Trivy cannot apply to a package (trivy/advisory_bounds)."""

    def uncompared(
        self, packages: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], list[Uncompared]]:
        """(name as listed, version) -> advisories Trivy would drop for it."""
        ...


@dataclass
class _Plan:
    """One listing while it is matched against Trivy: what goes where."""

    listing: Listing
    trivy: Result | None
    by_trivy: list[Declared] = field(default_factory=list)
    by_checker: list[Declared] = field(default_factory=list)
    trivy_only: list[Package] = field(default_factory=list)  # Trivy listed, the reader did not
    not_checked: list[NotChecked] = field(default_factory=list)
    dev_keys: set[Key] = field(default_factory=set)
    # Checked, but with an advisory Trivy cannot apply: counted as not (fully) checked.
    uncompared: list[NotChecked] = field(default_factory=list)

    def checked(self) -> Iterable[tuple[str, str, int | None]]:
        """(name, version, line) of every package that goes to a check."""
        for declared in (*self.by_trivy, *self.by_checker):
            yield declared.name, declared.version, declared.line
        for package in self.trivy_only:
            yield package.name, package.version, _start(package.lines)


def account(
    listings: Sequence[Listing],
    run: TrivyRun,
    checker: Checker,
    name_target: TargetNamer,
    *,
    subject: str,
    include_dev: bool = True,
    bounds: BoundsChecker | None = None,
) -> SourceResult:
    """Findings, notes, ledger and inventory of the project's dependency files."""
    results = _results_by_target(run, name_target)
    plans = []
    for listing in listings:
        trivy = results.pop(listing.target, None)  # never a file of its own, whatever follows
        # Trivy lists a conda environment's packages without checking them.
        trusted = not listing.replaces_trivy and listing.kind is not FileKind.CONDA
        plans.append(_plan(listing, trivy if trusted else None))
    if not include_dev:
        for plan in plans:
            _exclude_dev(plan)
    if bounds is not None:
        _mark_uncompared(plans, bounds)
    components = [Component(d.name, d.version) for p in plans for d in p.by_checker]
    checked = checker.check(components, subject)
    total = SourceResult(notes=checked.notes)
    for plan in plans:
        total = total + _result(plan, checked, name_target)
    for target, result in results.items():  # files Trivy read that no reader knows
        total = total + _trivy_only_file(target, result, name_target)
    return total


def _results_by_target(run: TrivyRun, name_target: TargetNamer) -> dict[str, Result]:
    merged: dict[str, Result] = {}
    for result in run.results:
        target = name_target(result.target)
        if target in merged:
            earlier = merged[target]
            result = replace(
                earlier,
                packages=earlier.packages + result.packages,
                findings=earlier.findings + result.findings,
            )
        merged[target] = result
    return merged


def _plan(listing: Listing, trivy: Result | None) -> _Plan:
    """Split a listing's packages between Trivy (it listed them) and the Checker."""
    if listing.kind.is_lock and trivy is None:
        check_lock_syntax(listing.path, listing.kind)  # Trivy is silent on a malformed lock
    plan = _Plan(listing, trivy)
    listed = {(normalise(p.name), p.version): p for p in trivy.packages} if trivy else {}
    declared_keys = {d.key for d in listing.packages}
    for declared in listing.packages:
        package = listed.get(declared.key)
        if package is not None:
            plan.by_trivy.append(declared)
        else:
            plan.by_checker.append(declared)
        trivy_dev = package is not None and package.dev and not listing.judges_dev
        if declared.dev or trivy_dev:
            plan.dev_keys.add(declared.key)
    # A local, VCS or virtual package (a uv project's own root, a poetry path package) is
    # no PyPI project: Trivy lists it, but its advisories would be another project's.
    local = {normalise(i.name) for i in listing.not_checked if i.reason is Unchecked.NOT_A_PACKAGE}
    plan.trivy_only = [
        p for key, p in listed.items() if key not in declared_keys and key[0] not in local
    ]
    plan.dev_keys |= {(normalise(p.name), p.version) for p in plan.trivy_only if p.dev}
    plan.not_checked = list(listing.not_checked)
    return plan


def _mark_uncompared(plans: Sequence[_Plan], bounds: BoundsChecker) -> None:
    """Item 8 of issue 14: advisories in the DB whose bounds Trivy cannot compare."""
    found = bounds.uncompared((n, v) for plan in plans for n, v, _line in plan.checked())
    for plan in plans:
        for name, version, line in plan.checked():
            problems = found.get((name, version))
            if problems:
                detail = "; ".join(f"{p.advisory}: {p.reason}" for p in problems)
                item = NotChecked(
                    Unchecked.UNPARSEABLE_VERSION, plan.listing.target, name, line, detail
                )
                plan.uncompared.append(item)


def _exclude_dev(plan: _Plan) -> None:
    """Development dependencies leave the check and enter the ledger as excluded."""
    target = plan.listing.target
    for kept in (plan.by_trivy, plan.by_checker):
        dev = [d for d in kept if d.key in plan.dev_keys]
        kept[:] = [d for d in kept if d.key not in plan.dev_keys]
        plan.not_checked += [_excluded_dev(target, d.name, d.line) for d in dev]
    dev_only = [p for p in plan.trivy_only if p.dev]
    plan.trivy_only = [p for p in plan.trivy_only if not p.dev]
    plan.not_checked += [_excluded_dev(target, p.name, None) for p in dev_only]


def _excluded_dev(target: str, name: str, line: int | None) -> NotChecked:
    return NotChecked(Unchecked.EXCLUDED, target, name, line, "development dependency")


def _result(plan: _Plan, checked: Checked, name_target: TargetNamer) -> SourceResult:
    listing = plan.listing
    findings = list(listing.findings)
    findings += _trivy_findings(plan, name_target)
    for declared in plan.by_checker:
        findings += [_placed(f, declared, listing.target) for f in checked.findings(declared.key)]
    checked_count = len(plan.by_trivy) + len(plan.by_checker) + len(plan.trivy_only)
    checked_count -= len(plan.uncompared)
    not_checked = (*plan.not_checked, *plan.uncompared)
    read = FileRead(
        listing.target, str(listing.kind), checked_count + len(not_checked), checked_count
    )
    notes = list(listing.notes)
    if plan.trivy is not None and plan.by_checker:
        notes.append(
            f"{listing.target}: Trivy skipped {len(plan.by_checker)} package(s) the file "
            "lists; they were checked through an SBOM instead."
        )
    return SourceResult(
        tuple(findings),
        tuple(notes),
        coverage=Coverage((read,), not_checked),
        inventory=Inventory(tuple(_inventory(plan))),
    )


def _trivy_findings(plan: _Plan, name_target: TargetNamer) -> Iterable[Finding]:
    """Trivy's findings for the file, on the line of the package at that exact version."""
    if plan.trivy is None:
        return []
    kept = {d.key for d in plan.by_trivy} | {
        (normalise(p.name), p.version) for p in plan.trivy_only
    }
    lines = {d.key: d.line for d in plan.listing.packages}
    run = TrivyRun((plan.trivy,))
    located = []
    for finding in run.findings(name_target):
        key = (normalise(finding.package), finding.installed_version)
        if key not in kept:
            continue  # an excluded development dependency
        line = lines.get(key)
        if line is not None and finding.line != line and not _trivy_line_fits(finding, line):
            finding = replace(finding, line=line, end_line=line)
        if key in plan.dev_keys:
            finding = replace(finding, properties={**finding.properties, "dev": "true"})
        located.append(finding)
    return located


def _trivy_line_fits(finding: Finding, line: int) -> bool:
    """Trivy's span (Pipfile.lock: a whole entry) already contains the reader's line."""
    if finding.line is None:
        return False
    return finding.line <= line <= (finding.end_line or finding.line)


def _placed(finding: Finding, declared: Declared, target: str) -> Finding:
    """A finding about a package checked through the SBOM, put where the file lists it."""
    properties = {**finding.properties, **dict(declared.properties)}
    if declared.dev:
        properties["dev"] = "true"
    title, fix = finding.title, finding.fix
    conda = properties.get("conda_package")
    if conda and normalise(conda) != normalise(finding.package) and finding.fixed_version:
        fix = f"upgrade {conda} (PyPI: {finding.package}) to {finding.fixed_version}"
    via = properties.get("via")
    if via:
        title = f"{finding.title or finding.id} (via {via})"
        if finding.fixed_version:
            fix = (
                f"upgrade {finding.package} to {finding.fixed_version}: it comes in through "
                f"{via} (upgrade that, or constrain {finding.package} in {target})"
            )
    return replace(
        finding,
        target=target,
        line=declared.line,
        end_line=declared.line,
        location="",
        ecosystem=declared.ecosystem,
        title=title,
        fix=fix,
        properties=properties,
    )


def _trivy_only_file(target: str, result: Result, name_target: TargetNamer) -> SourceResult:
    """A file Trivy read that no reader here knows (another ecosystem's lock file)."""
    count = len(result.packages)
    packages = tuple(
        InventoryPackage(p.name, p.version, p.purl, target, result.type, _start(p.lines), p.path)
        for p in result.packages
    )
    return SourceResult(
        tuple(TrivyRun((result,)).findings(name_target)),
        coverage=Coverage((FileRead(target, result.type or "trivy", count, count),)),
        inventory=Inventory(packages),
    )


def _inventory(plan: _Plan) -> Iterable[InventoryPackage]:
    target = plan.listing.target
    for declared in (*plan.by_trivy, *plan.by_checker):
        purl = Component(declared.name, declared.version).purl
        yield InventoryPackage(
            declared.name,
            declared.version,
            purl,
            target,
            declared.ecosystem,
            declared.line,
            properties=declared.properties,
        )
    for package in plan.trivy_only:
        yield InventoryPackage(
            package.name,
            package.version,
            package.purl,
            target,
            plan.trivy.type if plan.trivy else "",
            _start(package.lines),
        )


def _start(lines: tuple[int, int] | None) -> int | None:
    return lines[0] if lines else None
