"""The scan action's outputs and its verdict for the job summary, on every exit code.

| output | 0 / 1 (a verdict) | 2 / 3 (no verdict) |
| --- | --- | --- |
| passed | true / false | false |
| error | empty | the one-line reason |
| counts (critical ... failing; and per kind) | numbers | empty: 0 would read as clean |
| new | a number with a baseline, else empty | empty |
| sarif-file, json-file, sbom-file | the files written | empty: nothing was written |
| summary-file | the Markdown summary | the "could not check" summary |

The per-kind counts: vulnerabilities, secrets, misconfigurations, model-findings.
`exit-code` is written by scripts/action/scan.sh (it also sees a crash of Python itself);
the last step of action.yml (scripts/action/gate.sh) has the final say on passed, exit-code
and error, also when the scan step never ran.
"""

from __future__ import annotations

from pathlib import Path

from mlsecops.core.findings import Kind
from mlsecops.core.outcome import ScanOutcome
from mlsecops.core.text import md_text
from mlsecops.errors import EXIT_USAGE
from mlsecops.reports.write import ReportRequest

# Open findings per kind, as outputs (`if: steps.scan.outputs.secrets != '0'`).
KIND_OUTPUTS = {
    Kind.VULNERABILITY: "vulnerabilities",
    Kind.SECRET: "secrets",
    Kind.MISCONFIGURATION: "misconfigurations",
    Kind.MODEL: "model-findings",
}
COUNT_OUTPUTS = (
    "critical",
    "high",
    "medium",
    "low",
    "unknown",
    "total",
    "failing",
    "ignored",
    "new",
    *KIND_OUTPUTS.values(),
)
# Every output the scan step writes, on every exit code (tests compare it with action.yml).
OUTPUTS = (
    "passed",
    "error",
    *COUNT_OUTPUTS,
    "sarif-file",
    "json-file",
    "summary-file",
    "sbom-file",
)


def success_outputs(outcome: ScanOutcome, reports: ReportRequest) -> dict[str, str]:
    """A verdict (exit 0 or 1): the counts and where the reports are."""
    counts = outcome.counts()
    return {
        "passed": "true" if outcome.passed else "false",
        "error": "",
        "critical": str(counts["CRITICAL"]),
        "high": str(counts["HIGH"]),
        "medium": str(counts["MEDIUM"]),
        "low": str(counts["LOW"]),
        "unknown": str(counts["UNKNOWN"]),
        "total": str(sum(counts.values())),
        "failing": str(len(outcome.failing)),
        "ignored": str(len(outcome.ignored_findings)),
        # Against a baseline: open findings the change adds ("" without a baseline).
        "new": str(len(outcome.new_findings)) if outcome.baseline_source else "",
        **{
            name: str(sum(1 for f in outcome.open_findings if f.kind is kind))
            for kind, name in KIND_OUTPUTS.items()
        },
        "sarif-file": _path_text(reports.sarif_file),
        "json-file": _path_text(reports.json_file),
        "summary-file": _path_text(reports.summary_file),
        "sbom-file": _path_text(reports.sbom_file),
    }


def failure_outputs(reason: str, summary_file: Path | None) -> dict[str, str]:
    """No verdict (exit 2 or 3): passed is false, the reason is given, nothing is counted."""
    outputs = dict.fromkeys(OUTPUTS, "")
    outputs.update(passed="false", error=reason, **{"summary-file": _path_text(summary_file)})
    return outputs


def not_checked_summary(code: int, reason: str) -> str:
    """The job summary's verdict when the scan could not judge anything.

    The reason can hold a file name or an input value: it renders as plain text (core/text),
    never as a link, an image, a mention or HTML.
    """
    kind = "a configuration error" if code == EXIT_USAGE else "a scanner or tool failed"
    return (
        "## ❌ mlsecops: could not check\n\n"
        f"could not check: {md_text(reason, limit=None)}\n\n"
        f"Exit {code}, {kind}: nothing was judged, so nothing passed.\n"
    )


def _path_text(path: Path | None) -> str:
    return str(path) if path is not None else ""
