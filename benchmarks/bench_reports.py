"""Benchmark: our report conversion against `trivy convert --format sarif`, in one run.

Generates a Trivy JSON report with 20,000 findings over 5,000 packages, then times, in
interleaved rounds, (a) mlsecops turning it into findings + SARIF + Markdown summary + JSON
report, and (b) Trivy's own `trivy convert --format sarif` on the same file. Prints the
medians, the ratio, and each side's peak RSS. A benchmark prints figures; it asserts nothing.

    .venv/bin/python benchmarks/bench_reports.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PACKAGES = 5000
FINDINGS = 20000
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]

# Run in a child so its peak RSS is its own, not the generator's.
CONVERT = """
import sys
from pathlib import Path
from mlsecops.core.gate import Gate
from mlsecops.core.findings import Severity, sorted_findings
from mlsecops.core.outcome import ScanOutcome
from mlsecops.reports.write import ReportRequest, write_reports
from mlsecops.trivy.parse import parse_report
from mlsecops.trivy.results import TrivyRun
import json
report = json.loads(Path(sys.argv[1]).read_text())
out = Path(sys.argv[2])
findings = TrivyRun(parse_report(report)).findings(lambda target: target)
outcome = ScanOutcome(tuple(sorted_findings(findings)), Gate(Severity.HIGH), ("requirements.txt",))
write_reports(outcome, ReportRequest(
    json_file=out / "report.json", sarif_file=out / "results.sarif",
    summary_file=out / "summary.md", annotations=True))
"""


def make_report(path: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    packages = [
        {
            "ID": f"package-{i}@1.{i % 10}.0",
            "Name": f"package-{i}",
            "Identifier": {"PURL": f"pkg:pypi/package-{i}@1.{i % 10}.0", "UID": f"uid{i:05d}"},
            "Version": f"1.{i % 10}.0",
            "Locations": [{"StartLine": i + 1, "EndLine": i + 1}],
        }
        for i in range(PACKAGES)
    ]
    vulns = [_vulnerability(n, packages[n % PACKAGES], rng) for n in range(FINDINGS)]
    report = {
        "SchemaVersion": 2,
        "CreatedAt": "2026-11-30T00:00:00Z",
        "ArtifactName": ".",
        "ArtifactType": "filesystem",
        "Results": [
            {
                "Target": "requirements.txt",
                "Class": "lang-pkgs",
                "Type": "pip",
                "Packages": packages,
                "Vulnerabilities": vulns,
            }
        ],
    }
    path.write_text(json.dumps(report))


def _vulnerability(n: int, package: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """Trivy's JSON of the n-th synthetic vulnerability, in `package`."""
    i = n % PACKAGES
    severity = rng.choice(SEVERITIES)
    score = round(rng.uniform(0.1, 10.0), 1)
    return {
        "VulnerabilityID": f"CVE-2024-{n:05d}",
        "PkgID": package["ID"],
        "PkgName": package["Name"],
        "PkgIdentifier": package["Identifier"],
        "InstalledVersion": package["Version"],
        "FixedVersion": f"1.{i % 10}.{1 + n % 3}" if n % 7 else "",
        "Status": "fixed" if n % 7 else "affected",
        "SeveritySource": "ghsa",
        "PrimaryURL": f"https://avd.aquasec.com/nvd/cve-2024-{n:05d}",
        "DataSource": {"ID": "ghsa", "Name": "GitHub Security Advisory pip"},
        "Title": f"package-{i}: synthetic issue {n} in request parsing",
        "Description": "A synthetic description of a vulnerability. " * 8,
        "Severity": severity,
        "CweIDs": ["CWE-79"],
        "VendorSeverity": {"ghsa": SEVERITIES.index(severity) + 1},
        "CVSS": {
            "ghsa": {
                "V3Vector": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N",
                "V3Score": score,
            }
        },
        "References": [
            f"https://github.com/advisories/GHSA-{n:04d}-xxxx-yyyy",
            f"https://nvd.nist.gov/vuln/detail/CVE-2024-{n:05d}",
        ],
        "PublishedDate": "2024-01-01T00:00:00Z",
        "LastModifiedDate": "2024-02-01T00:00:00Z",
    }


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--trivy", default=shutil.which("trivy") or str(Path(sys.executable).parent / "trivy")
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        report = work / "trivy.json"
        make_report(report)
        ours_cmd = [sys.executable, "-c", CONVERT, str(report), str(work)]
        trivy_cmd = [
            args.trivy,
            "convert",
            "--format",
            "sarif",
            "--output",
            str(work / "trivy.sarif"),
            str(report),
        ]
        ours: list[float] = []
        theirs: list[float] = []
        for _ in range(args.rounds):  # interleaved, so machine noise hits both alike
            ours.append(timed(ours_cmd))
            theirs.append(timed(trivy_cmd))
        # Peak RSS per side, each measured alone in a fresh child process.
        ours_rss = peak_rss(ours_cmd)
        theirs_rss = peak_rss(trivy_cmd)
        size = report.stat().st_size / 1e6
        ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
        print(f"input: Trivy JSON, {FINDINGS} findings over {PACKAGES} packages, {size:.1f} MB")
        print(f"rounds: {args.rounds}, interleaved")
        rows = [
            ("mlsecops (parse + SARIF + summary + JSON + annotations)", ours_median, ours_rss),
            ("trivy convert --format sarif", theirs_median, theirs_rss),
        ]
        for name, median, rss in rows:
            print(f"{name:<58} median {median:.2f} s, peak RSS {rss} MiB")
        print(f"ratio mlsecops / trivy convert: {ours_median / theirs_median:.2f}")


def peak_rss(command: list[str]) -> int:
    """Peak RSS in MiB of one run of `command`, from the kernel's rusage of that child."""
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{command[0]} failed")
    return usage.ru_maxrss // 1024


if __name__ == "__main__":
    main()
