"""docs/rules.md (and docs/modelscan.md's table) match the registry, anchors included."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlsecops.core.findings import Kind
from mlsecops.core.rules import DOCS_URL, RULES
from mlsecops.core.rules_doc import (
    MODELSCAN_DOC,
    RULES_DOC,
    TABLE_END,
    TABLE_START,
    render_rule_table,
    render_rules_doc,
    with_rule_table,
)

REPO = Path(__file__).resolve().parents[2]
REGENERATE = "run `.venv/bin/python scripts/rules_doc.py` and commit the result"


def github_anchor(heading: str) -> str:
    """GitHub's id for a heading: lower case, punctuation but `-` and `_` dropped, spaces
    as `-` (what its renderer does to `### MLS-PICKLE-DENY`)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def test_the_committed_rules_page_is_the_registry_rendered():
    committed = (REPO / RULES_DOC).read_text(encoding="utf-8")
    assert committed == render_rules_doc(), f"docs/rules.md is out of date: {REGENERATE}"


def test_the_modelscan_rule_table_is_generated_from_the_registry():
    page = (REPO / MODELSCAN_DOC).read_text(encoding="utf-8")
    expected = with_rule_table(page, render_rule_table(Kind.MODEL))
    assert page == expected, f"docs/modelscan.md's rule table is out of date: {REGENERATE}"
    for rule in (r for r in RULES if r.kind is Kind.MODEL):
        assert f"[`{rule.id}`](rules.md#{rule.id.lower()})" in page


def test_every_help_uri_lands_on_a_heading_of_the_rules_page():
    assert DOCS_URL.endswith("/" + RULES_DOC)
    page = render_rules_doc()
    anchors = {github_anchor(h) for h in re.findall(r"^#{1,6} (.+)$", page, re.MULTILINE)}
    for rule in RULES:
        page_url, _, fragment = rule.help_uri.partition("#")
        assert page_url == DOCS_URL
        assert fragment in anchors, rule.id


def test_a_page_without_the_table_markers_is_an_error():
    with pytest.raises(ValueError, match="rule table"):
        with_rule_table("# no markers here\n", "| table |")
    page = f"before\n{TABLE_START}\nold\n{TABLE_END}\nafter\n"
    assert with_rule_table(page, "new") == f"before\n{TABLE_START}\nnew\n{TABLE_END}\nafter\n"
