"""The corpus figures live in one place: docs/modelscan.md's benchmark, never the README."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_the_readme_repeats_no_corpus_figure() -> None:
    # Two copies of a figure drift apart (68 in one, 78 in the other): the README links to
    # the benchmark instead of quoting it.
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Model file scanning", 1)[1].split("\n## ", 1)[0]
    assert "docs/modelscan.md" in section
    assert re.findall(r"\d+\s*/\s*\d+|\d+ (?:of|out of) \d+|\d+ malicious", section) == []


def test_the_benchmark_table_counts_agree_with_themselves() -> None:
    doc = (REPO / "docs" / "modelscan.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| .*\(`[^`]+`\) \|", doc, re.MULTILINE)
    (total,) = re.findall(r"malicious files flagged \(of (\d+)\)", doc)
    assert len(rows) == int(total)
