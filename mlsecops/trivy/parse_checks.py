"""Trivy's `Secrets` and `Misconfigurations` -> SecretHit entries and findings.

What a secret or misconfiguration finding takes from Trivy is rule-level text (id, title,
description, resolution) and a place (file, lines, byte offset, image layer). Never the
text of the file: Trivy's `Match`, `Code` and misconfiguration `Message` quote the lines
around the finding (a Dockerfile `ENV` with a token, a `RUN` line with one), and its mask
does not cover a secret that spans lines. So no byte of the scanned file reaches a report.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.trivy.json_values import listed, number, text
from mlsecops.trivy.results import SecretHit

_MASK = re.compile(r"\*+")


def secrets(result: dict[str, Any]) -> Iterator[SecretHit]:
    """Each secret of a result (those an ignore file hid too, marked suppressed)."""
    for secret, suppressed in listed(result, "Secrets", "secret"):
        layer = secret.get("Layer")
        yield SecretHit(
            rule_id=text(secret.get("RuleID")) or "UNKNOWN-SECRET-RULE",
            category=text(secret.get("Category")),
            title=text(secret.get("Title")),
            severity=Severity.parse(text(secret.get("Severity")) or "UNKNOWN"),
            start_line=_line(secret.get("StartLine")),
            end_line=_line(secret.get("EndLine")),
            # Trivy leaves Offset out when it is 0 (a secret at the very start of a file).
            offset=number(secret.get("Offset")) or 0,
            length=_masked_length(text(secret.get("Match"))),
            layer=text(layer.get("DiffID")) if isinstance(layer, dict) else "",
            suppressed=suppressed,
        )


def _masked_length(match: str) -> int:
    """The secret's length: Trivy masks it with one `*` per character (0 when ambiguous)."""
    runs = [len(run) for run in _MASK.findall(match)]
    return runs[0] if len(runs) == 1 else 0


def misconfigurations(result: dict[str, Any], target: str) -> Iterator[Finding]:
    """Each failed check of a result, as a finding named by Trivy's target."""
    ecosystem = text(result.get("Type"))
    for check, suppressed in listed(result, "Misconfigurations", "misconfiguration"):
        if text(check.get("Status")) not in ("FAIL", ""):
            continue  # PASS / EXCEPTION entries (only with --include-non-failures)
        cause = check.get("CauseMetadata")
        cause = cause if isinstance(cause, dict) else {}
        finding = Finding(
            id=text(check.get("ID")) or text(check.get("AVDID")) or "UNKNOWN-CHECK",
            kind=Kind.MISCONFIGURATION,
            severity=Severity.parse(text(check.get("Severity")) or "UNKNOWN"),
            target=target,
            title=text(check.get("Title")),
            description=text(check.get("Description")),
            fix=text(check.get("Resolution")),
            primary_url=text(check.get("PrimaryURL")),
            references=tuple(r for r in check.get("References") or [] if isinstance(r, str)),
            line=_line(cause.get("StartLine")),
            end_line=_line(cause.get("EndLine")),
            ecosystem=ecosystem,
        )
        if suppressed:
            finding = replace(finding, ignored=True, ignore_reason=suppressed)
        yield finding


def _line(value: Any) -> int | None:
    line = number(value)
    return line if line is not None and line >= 1 else None
