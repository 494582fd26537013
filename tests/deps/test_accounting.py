"""deps/accounting without the Trivy binary: real files read by the real readers, Trivy's
results and the SBOM check played by hand-written fakes (the seams deps/ is built on)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from mlsecops.core.coverage import Unchecked
from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.deps.accounting import account
from mlsecops.deps.conda import CondaReader
from mlsecops.deps.listing import FileKind, Listing
from mlsecops.deps.locks import LockReader
from mlsecops.deps.pip_resolver import Resolution, Resolved, ResolveFailed
from mlsecops.deps.requirements_txt import RequirementsReader
from mlsecops.deps.resolve import ResolveReader
from mlsecops.deps.sbom_bridge import Checked, Component
from mlsecops.errors import UsageError
from mlsecops.trivy.results import Package, Result, ResultClass, TrivyRun

POETRY_LOCK = """\
[[package]]
name = "grpcio"
version = "1.49.1"
description = "HTTP/2-based RPC framework"
optional = false
python-versions = ">=3.7"
files = [
    {file = "grpcio-1.49.1.tar.gz", hash = "sha256:0000"},
]

[[package]]
name = "grpcio"
version = "1.51.3"
description = "HTTP/2-based RPC framework"
optional = false
python-versions = ">=3.7"

[[package]]
name = "ray"
version = "2.9.0"
description = "reached only through a local path package"
optional = false
python-versions = ">=3.8"

[[package]]
name = "pytest"
version = "7.4.0"
description = "dev group"
optional = false
python-versions = ">=3.7"
groups = ["dev"]

[[package]]
name = "service-core"
version = "0.1.0"
description = "the local path package"
optional = false
python-versions = "^3.10"

[package.source]
type = "directory"
url = "../core"
"""


def advisory(package: str, version: str, cve: str) -> Finding:
    return Finding(cve, Kind.VULNERABILITY, Severity.HIGH, "sbom", package=package,
                   installed_version=version, fixed_version="99.0")  # fmt: skip


class FakeChecker:
    """The SBOM route as a table: (normalised name, version) -> findings."""

    def __init__(self, table: dict[tuple[str, str], tuple[Finding, ...]]) -> None:
        self.table = table
        self.asked: list[tuple[str, str]] = []

    def check(self, components: Sequence[Component], subject: str) -> Checked:
        self.asked += [c.key for c in components]
        return Checked({c.key: self.table.get(c.key, ()) for c in components})


def trivy_run(
    target: str, type_: str, packages: Sequence[Package], findings: Sequence[Finding] = ()
) -> TrivyRun:
    return TrivyRun(
        (Result(target, ResultClass.LANGUAGE_PACKAGES, type_, tuple(packages), tuple(findings)),)
    )


def ledger_adds_up(result) -> None:  # type: ignore[no-untyped-def]
    assert result.coverage.discrepancies() == []


def test_what_trivy_skipped_in_a_lock_goes_through_the_checker(tmp_path):
    lock = tmp_path / "poetry.lock"
    lock.write_text(POETRY_LOCK)
    listing = LockReader(FileKind.POETRY_LOCK).read(lock, "poetry.lock")
    # Trivy listed both grpcio versions (finding on the second) and nothing behind the path dep.
    grpc_finding = advisory("grpcio", "1.51.3", "CVE-2023-33953")
    listed = [Package("grpcio", "1.49.1"), Package("grpcio", "1.51.3")]
    listed.append(Package("pytest", "7.4.0", dev=True))
    run = trivy_run("poetry.lock", "poetry", listed, [grpc_finding])
    checker = FakeChecker({("ray", "2.9.0"): (advisory("ray", "2.9.0", "CVE-2023-48022"),)})
    result = account([listing], run, checker, str, subject="p")
    assert checker.asked == [("ray", "2.9.0")]
    found = {(f.id, f.package, f.line) for f in result.findings}
    # Each finding on the line of the package at that exact version (issue 14 item 6).
    assert found == {("CVE-2023-33953", "grpcio", 12), ("CVE-2023-48022", "ray", 19)}
    [read] = result.coverage.files
    assert (read.path, read.kind, read.packages, read.checked) == (
        "poetry.lock",
        "poetry.lock",
        5,
        4,
    )
    assert [(i.reason, i.name) for i in result.coverage.not_checked] == [
        (Unchecked.NOT_A_PACKAGE, "service-core")
    ]
    assert any("Trivy skipped 1 package(s)" in n for n in result.notes)
    ledger_adds_up(result)


def test_dev_dependencies_are_checked_and_marked_or_left_out(tmp_path):
    lock = tmp_path / "poetry.lock"
    lock.write_text(POETRY_LOCK)
    listing = LockReader(FileKind.POETRY_LOCK).read(lock, "poetry.lock")
    run = trivy_run("poetry.lock", "poetry", [], [])
    table = {("pytest", "7.4.0"): (advisory("pytest", "7.4.0", "CVE-X"),)}
    result = account([listing], run, FakeChecker(table), str, subject="p")
    [dev] = [f for f in result.findings if f.package == "pytest"]
    assert dev.properties["dev"] == "true"
    left_out = account([listing], run, FakeChecker(table), str, subject="p", include_dev=False)
    assert not [f for f in left_out.findings if f.package == "pytest"]
    excluded = [i for i in left_out.coverage.not_checked if i.reason is Unchecked.EXCLUDED]
    assert [(i.name, i.detail) for i in excluded] == [("pytest", "development dependency")]
    ledger_adds_up(left_out)


def test_a_malformed_lock_trivy_said_nothing_about_is_a_usage_error(tmp_path):
    lock = tmp_path / "uv.lock"
    lock.write_text('version = 1\n[[package]\nname = "x"\n')
    listing = LockReader(FileKind.UV_LOCK).read(lock, "uv.lock")
    with pytest.raises(UsageError, match="is not valid TOML"):
        account([listing], TrivyRun(()), FakeChecker({}), str, subject="p")


def test_conda_packages_go_through_the_checker_on_their_lines(tmp_path):
    env = tmp_path / "environment.yml"
    env.write_text(
        "dependencies:\n  - pytorch=2.5.1\n  - python=3.11\n  - pip:\n    - requests==2.19.1\n"
    )
    listing = CondaReader().read(env, "environment.yml")
    table = {("torch", "2.5.1"): (advisory("torch", "2.5.1", "CVE-2025-32434"),)}
    checker = FakeChecker(table)
    # Trivy lists a conda environment's packages but checks none: its listing never counts.
    run = trivy_run("environment.yml", "conda-environment", [Package("pytorch", "2.5.1")])
    result = account([listing], run, checker, str, subject="p")
    assert sorted(checker.asked) == [("requests", "2.19.1"), ("torch", "2.5.1")]
    [torch] = result.findings
    assert (torch.line, torch.ecosystem, torch.fix) == (
        2,
        "conda",
        "upgrade pytorch (PyPI: torch) to 99.0",
    )
    assert [(i.reason, i.name) for i in result.coverage.not_checked] == [
        (Unchecked.NO_PYPI_TWIN, "python")
    ]
    ledger_adds_up(result)


class FakeResolver:
    """pip as a table: what it is handed, and what it answers."""

    def __init__(self, answer: Resolution | None) -> None:
        self.answer = answer
        self.lines: list[str] = []

    def resolve(self, lines: Sequence[str], constraints: Sequence[str]) -> Resolution:
        self.lines = list(lines)
        if self.answer is None:
            raise ResolveFailed("No matching distribution found for mlserve")
        return self.answer


def test_resolve_hands_pip_index_requirements_only_and_attributes_the_tree(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("mlserve>=1.0\n./vendored\n-e git+https://example.com/x.git#egg=x\n"
                   "https://h/tqdm-4.66.1-py3-none-any.whl\n-r base.txt\n")  # fmt: skip
    (tmp_path / "base.txt").write_text("-e .\nnumpy==1.26.4\n")
    tree = Resolution((
        Resolved("mlserve", "1.0", True, ("requests",)),
        Resolved("requests", "2.19.1", False),
        Resolved("numpy", "1.26.4", True),
    ), "3.11.7")  # fmt: skip
    resolver = FakeResolver(tree)
    listing = ResolveReader(resolver).read(req, "requirements.txt")
    assert resolver.lines == ["mlserve>=1.0", "numpy==1.26.4"]  # nothing local, VCS or URL
    table = {("requests", "2.19.1"): (advisory("requests", "2.19.1", "CVE-2018-18074"),)}
    result = account([listing], TrivyRun(()), FakeChecker(table), str, subject="p")
    [finding] = result.findings
    assert (finding.line, finding.title, finding.properties["via"]) == (
        1,
        "CVE-2018-18074 (via mlserve)",
        "mlserve",
    )
    ledger = [(i.reason, i.name) for i in result.coverage.not_checked]
    vcs = "-e git+https://example.com/x.git#egg=x"
    assert ledger == [(Unchecked.NOT_A_PACKAGE, "./vendored"), (Unchecked.NOT_A_PACKAGE, vcs)]
    [read] = result.coverage.files
    assert (read.packages, read.checked) == (6, 4)  # 3 resolved + the wheel URL; 2 not
    ledger_adds_up(result)


def test_a_file_pip_cannot_resolve_keeps_its_pins(tmp_path):
    req = tmp_path / "requirements.txt"
    req.write_text("mlserve>=1.0\nrequests==2.19.1\n")
    listing = ResolveReader(FakeResolver(None)).read(req, "requirements.txt")
    assert [d.name for d in listing.packages] == ["requests"]
    assert [(i.reason, i.name) for i in listing.not_checked] == [(Unchecked.UNRESOLVED, "mlserve")]
    assert (
        "pip could not resolve it (No matching distribution found for mlserve)" in listing.notes[0]
    )


def test_a_requirements_file_trivy_never_reads_is_checked_whole(tmp_path):
    req = tmp_path / "dev_requirements.txt"
    req.write_text("requests==2.19.1\nflask>=2.0\n")
    listing: Listing = RequirementsReader().read(req, "dev_requirements.txt")
    checker = FakeChecker({})
    result = account([listing], TrivyRun(()), checker, str, subject="p")
    assert checker.asked == [("requests", "2.19.1")]
    assert [f.id for f in result.findings] == ["MLS-UNPINNED"]
    ledger_adds_up(result)
