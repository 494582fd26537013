"""The coverage ledger in words: one line for what was checked, one per reason something was not.

The summary and the stdout table both show these lines, so a scan that checked less than
it was given never reads like a clean pass.
"""

from __future__ import annotations

from mlsecops.core.coverage import Coverage


def coverage_lines(coverage: Coverage) -> list[str]:
    """`checked N of M package(s) in K file(s)`, then `X not checked: <reason>` per reason."""
    if not coverage.files and not coverage.not_checked:
        return []
    files = len({f.path for f in coverage.files})
    lines = [
        f"checked {coverage.packages_checked} of {coverage.packages_listed} item(s) "
        f"in {files} file(s), image(s) and model(s)"
    ]
    lines += [
        f"{count} not checked: {reason.words}" for reason, count in coverage.by_reason().items()
    ]
    return lines
