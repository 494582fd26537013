"""Hand-made scan outcomes for report tests (the real-Trivy path has its own tests)."""

from __future__ import annotations

from mlsecops.core.findings import Finding, Kind, Severity, TargetType, sorted_findings
from mlsecops.core.gate import Gate
from mlsecops.core.outcome import ScanOutcome


def vuln(
    id: str,
    severity: Severity,
    package: str,
    installed: str,
    fixed: str,
    *,
    target: str = "requirements.txt",
    line: int | None = 1,
    cvss: float | None = None,
    ignored: bool = False,
    target_type: TargetType = TargetType.FILE,
    title: str = "",
) -> Finding:
    return Finding(
        id=id,
        kind=Kind.VULNERABILITY,
        severity=severity,
        target=target,
        target_type=target_type,
        title=title or f"{package}: a problem",
        package=package,
        installed_version=installed,
        fixed_version=fixed,
        description=f"{package} {installed} has {id}.",
        fix=f"upgrade {package} to {fixed}" if fixed else "no fixed version published yet",
        primary_url=f"https://avd.aquasec.com/nvd/{id.lower()}",
        references=(f"https://nvd.nist.gov/vuln/detail/{id}",),
        cvss_score=cvss,
        line=line,
        end_line=line,
        ecosystem="pip",
        ignored=ignored,
        ignore_reason="accepted risk" if ignored else "",
    )


def outcome(*findings: Finding, fail_on: Severity | None = Severity.HIGH) -> ScanOutcome:
    return ScanOutcome(
        findings=tuple(sorted_findings(list(findings))),
        gate=Gate(fail_on),
        targets=(".",),
    )


def typical() -> ScanOutcome:
    return outcome(
        vuln("CVE-2018-18074", Severity.HIGH, "requests", "2.19.1", "2.20.0", line=2, cvss=7.5),
        vuln("CVE-2023-32681", Severity.MEDIUM, "requests", "2.19.1", "2.31.0", line=2, cvss=6.1),
        vuln("CVE-2020-14343", Severity.CRITICAL, "pyyaml", "5.3", "5.4", line=3, cvss=9.8),
        vuln("CVE-2023-48022", Severity.CRITICAL, "ray", "2.9.0", "", line=4),
        vuln("CVE-2024-34062", Severity.LOW, "tqdm", "4.66.1", "4.66.3", line=5, cvss=4.8),
        vuln("CVE-2024-5206", Severity.MEDIUM, "scikit-learn", "1.4.0", "1.5.0", ignored=True),
        vuln(
            "CVE-2023-4911",
            Severity.HIGH,
            "libc6",
            "2.36-9",
            "2.36-9+deb12u3",
            target="registry.example/ml:1.0",
            target_type=TargetType.IMAGE,
            line=None,
            cvss=7.8,
        ),
    )
