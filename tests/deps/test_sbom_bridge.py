"""`trivy sbom` on the components we name: every one must come back, or the scan is void."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mlsecops.deps.sbom_bridge import Component, scan_components
from mlsecops.errors import ToolError
from mlsecops.trivy.results import Package, Result, ResultClass, TrivyRun
from mlsecops.trivy.run import Trivy, TrivyOptions


def trivy(trivy_bin: Path, cache: Path) -> Trivy:
    return Trivy(TrivyOptions(trivy_bin, cache, offline=True))


def test_findings_come_back_per_component(trivy_bin, trivy_cache, tmp_path):
    pyyaml, requests, tqdm = (
        Component("PyYAML", "5.3.1"),
        Component("requests", "2.19.1"),
        Component("tqdm", "4.66.3"),
    )
    scan = scan_components(trivy(trivy_bin, trivy_cache), [pyyaml, requests, tqdm], "s", tmp_path)
    assert [f.id for f in scan.findings(pyyaml.key)] == ["CVE-2020-14343"]
    assert {f.id for f in scan.findings(requests.key)} == {"CVE-2018-18074", "CVE-2023-32681"}
    assert scan.findings(tqdm.key) == ()  # listed by Trivy, nothing found: checked and clean
    assert {f.target for f in scan.findings(requests.key)} == {"s"}
    # Trivy's advice against third-party SBOMs is about SBOMs in general, not news here.
    assert scan.notes == ()


def test_a_component_trivy_does_not_recognise_is_a_tool_error(trivy_bin, trivy_cache, tmp_path):
    # Trivy drops a component whose purl it cannot parse with a WARN and carries on: zero
    # findings for it would read as "no vulnerabilities".
    components = [Component("requests", "2.19.1"), Component("q?x", "1.0")]
    with pytest.raises(ToolError) as raised:
        scan_components(trivy(trivy_bin, trivy_cache), components, "env.yml", tmp_path)
    problem = raised.value.problem
    assert "env.yml" in problem
    assert "q?x 1.0" in problem
    assert "requests" not in problem
    assert "Failed to parse component" in problem


class FakeTrivy:
    def __init__(self, results: tuple[Result, ...], warnings: tuple[str, ...]) -> None:
        self.run = TrivyRun(results, warnings)

    def sbom(self, sbom: Path, cwd: Path) -> TrivyRun:
        return self.run


def test_trivys_warnings_become_notes(tmp_path):
    report = (
        Result(
            "sbom.cdx.json",
            ResultClass.LANGUAGE_PACKAGES,
            "python-pkg",
            (Package("requests", "2.19.1"),),
        ),
    )
    warnings = (
        "Third-party SBOM may lead to inaccurate vulnerability detection",
        "Recommend using Trivy to generate SBOMs",
        "something Trivy wants us to know",
    )
    fake: Any = FakeTrivy(report, warnings)
    scan = scan_components(fake, [Component("requests", "2.19.1")], "env.yml", tmp_path)
    assert scan.notes == ("env.yml: trivy: something Trivy wants us to know",)
