"""Trivy's secret hits (trivy/results.SecretHit) -> secret findings, redacted.

Trivy reports where a secret is and masks it; the first characters of the redacted form are
read from the scanned file itself, by the source that can read it (a project file: yes; a
file inside an image layer: not here), and only that many characters are ever read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from mlsecops.core.findings import Finding, TargetType
from mlsecops.secretscan.findings import secret_finding
from mlsecops.secretscan.redact import SHOWN, redacted
from mlsecops.trivy.results import SecretHit, TrivyRun

# (Trivy's target, the hit) -> the secret's first characters, or "" when they cannot be read.
PrefixReader = Callable[[str, SecretHit], str]


def no_prefix(_target: str, _hit: SecretHit) -> str:
    """For secrets whose file cannot be read here (inside an image): the length alone."""
    return ""


def file_prefix(root: Path) -> PrefixReader:
    """Reads a secret's first characters from the project file Trivy found it in.

    The file must be a regular file inside `root` (Trivy names it relative to `root`); at
    most SHOWN bytes are read, at the byte offset Trivy gives.
    """
    base = root.resolve()

    def read(target: str, hit: SecretHit) -> str:
        path = (base / target).resolve()
        if hit.offset is None or not path.is_relative_to(base) or not path.is_file():
            return ""
        try:
            with path.open("rb") as handle:
                handle.seek(hit.offset)
                head = handle.read(SHOWN)
        except OSError:
            return ""
        return head.decode("ascii", errors="replace")

    return read


def secret_values(run: TrivyRun, root: Path) -> list[str]:
    """The secrets themselves, read from the project files Trivy found them in.

    Only for scrubbing other text of the same run (a Trivy warning that quotes the line a
    secret is on); they never leave memory, nor go into a finding.
    """
    base = root.resolve()
    values = []
    for result in run.results:
        path = (base / result.target).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            continue
        for hit in result.secrets:
            if hit.offset is None or hit.length <= 0:
                continue
            try:
                with path.open("rb") as handle:
                    handle.seek(hit.offset)
                    values.append(handle.read(hit.length).decode("utf-8", errors="replace"))
            except OSError:
                continue
    return values


def secret_findings(
    run: TrivyRun,
    name_target: Callable[[str], str],
    *,
    target_type: TargetType = TargetType.FILE,
    location_of: Callable[[str], str] = lambda _target: "",
    prefix: PrefixReader = no_prefix,
) -> list[Finding]:
    """A finding per secret Trivy found, named for the report, with its redacted form.

    `location_of(trivy_target)` says where inside the report's target the secret is (a
    path inside an image); `prefix` reads its first characters when it can.
    """
    findings = []
    for result in run.results:
        for hit in result.secrets:
            finding = secret_finding(
                hit.rule_id,
                hit.title,
                hit.severity,
                name_target(result.target),
                redacted(prefix(result.target, hit), hit.length),
                target_type=target_type,
                line=hit.start_line,
                end_line=hit.end_line,
                location=location_of(result.target),
                category=hit.category,
            )
            if hit.suppressed:
                finding = replace(finding, ignored=True, ignore_reason=hit.suppressed)
            findings.append(finding)
    return findings
