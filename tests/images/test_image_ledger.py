"""An image's coverage ledger: every package Trivy listed, checked or not checked and why.

The runs are typed Trivy results written out here (what trivy/parse makes of Trivy's JSON),
for the cases a hand-built image cannot produce; the real image scans are in
tests/secretscan/test_secret_scan.py.
"""

from __future__ import annotations

from mlsecops.core.coverage import Unchecked
from mlsecops.core.scanners import ALL_SCANNERS, Scanner
from mlsecops.images.source import image_ledger
from mlsecops.trivy.results import Package, Result, ResultClass, TrivyRun

OS = Result("img (debian 12)", ResultClass.OS_PACKAGES, "debian", (Package("bash", "5.2.15"),))
PYTHON = Result(
    "Python", ResultClass.LANGUAGE_PACKAGES, "python-pkg", (Package("requests", "2.19.1"),)
)
CONDA = Result(
    "opt/conda", ResultClass.LANGUAGE_PACKAGES, "conda-pkg",
    (Package("numpy", "1.26.4"), Package("pytorch", "2.1.0")),
)  # fmt: skip


def test_every_package_is_checked_when_trivy_has_data_for_it() -> None:
    ledger = image_ledger("img", TrivyRun((OS, PYTHON)), ALL_SCANNERS)
    assert (ledger.packages_listed, ledger.packages_checked) == (2, 2)
    assert ledger.discrepancies() == []


def test_packages_trivy_lists_but_never_looks_up_are_not_checked() -> None:
    odd = Result("x", ResultClass.LANGUAGE_PACKAGES, "swift", (Package("Alamofire", "5.0"),))
    warning = 'The library type is not supported for vulnerability scanning type="swift"'
    run = TrivyRun((OS, CONDA, odd), (warning,))

    ledger = image_ledger("img", run, ALL_SCANNERS)

    assert (ledger.packages_listed, ledger.packages_checked) == (4, 1)
    assert ledger.by_reason() == {Unchecked.SKIPPED_BY_TRIVY: 3}
    assert [item.name for item in ledger.not_checked] == [
        "numpy 1.26.4",
        "pytorch 2.1.0",
        "Alamofire 5.0",
    ]
    assert ledger.discrepancies() == []


def test_without_the_vuln_scanner_no_package_is_checked() -> None:
    ledger = image_ledger("img", TrivyRun((OS, PYTHON)), frozenset({Scanner.SECRET}))
    assert (ledger.packages_listed, ledger.packages_checked) == (2, 0)
    assert ledger.by_reason() == {Unchecked.EXCLUDED: 2}
    assert ledger.discrepancies() == []
