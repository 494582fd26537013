"""Write docs/rules.md and the rule table of docs/modelscan.md from the rule registry.

Run after changing mlsecops/core/rules.py: `.venv/bin/python scripts/rules_doc.py`.
tests/core/test_rules_doc.py fails until the committed pages match the registry.
"""

from __future__ import annotations

from pathlib import Path

from mlsecops.core.findings import Kind
from mlsecops.core.rules_doc import (
    MODELSCAN_DOC,
    RULES_DOC,
    render_rule_table,
    render_rules_doc,
    with_rule_table,
)

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    """Rewrite both pages in place."""
    (REPO / RULES_DOC).write_text(render_rules_doc(), encoding="utf-8")
    modelscan = REPO / MODELSCAN_DOC
    page = modelscan.read_text(encoding="utf-8")
    modelscan.write_text(with_rule_table(page, render_rule_table(Kind.MODEL)), encoding="utf-8")


if __name__ == "__main__":
    main()
