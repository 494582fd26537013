"""docs/rules.md, and the rule table in docs/modelscan.md, rendered from the registry.

The registry (core/rules.py) is the one place a rule is written down; these pages are its
rendering, written by `scripts/rules_doc.py` and checked by tests/core/test_rules_doc.py,
so the anchors SARIF's `helpUri` points at always exist. Pure: text in, text out.
"""

from __future__ import annotations

from collections.abc import Iterable

from mlsecops.core.findings import Kind, Severity
from mlsecops.core.rules import RULES, Rule

RULES_DOC = "docs/rules.md"
MODELSCAN_DOC = "docs/modelscan.md"
# The generated part of docs/modelscan.md sits between these two lines.
TABLE_START = "<!-- rule table: generated from mlsecops/core/rules.py by scripts/rules_doc.py -->"
TABLE_END = "<!-- end of rule table -->"

_INTRO = """\
# Rules

<!-- Generated from mlsecops/core/rules.py by scripts/rules_doc.py: edit the registry, not
this file (tests/core/test_rules_doc.py fails when the two differ). -->

Every finding mlsecops makes itself carries one of these rule ids; vulnerabilities that
Trivy finds carry their advisory's id (CVE, GHSA) instead. SARIF links each rule to its
section here (`helpUri`), and the job summary links the ids.

The severity is the rule's default. The gate (`--fail-on`, the policy file's `fail-on` and
`fail-on-by-kind`) decides what fails; UNKNOWN is informational: it never fails a gate by
itself, and SARIF shows it as a note, not as a security alert.
"""


def anchor(rule: Rule) -> str:
    """GitHub's anchor for the `### <id>` heading: lower-cased, `-` kept."""
    return rule.id.lower()


def severity_label(severity: Severity) -> str:
    """The default severity as the docs write it."""
    return "UNKNOWN (informational)" if severity is Severity.UNKNOWN else severity.name


def render_rules_doc(rules: Iterable[Rule] = RULES) -> str:
    """The whole of docs/rules.md: a table of every rule, then one section per rule."""
    rules = tuple(rules)
    lines = [_INTRO, "| Rule | Kind | Severity | Title |", "| --- | --- | --- | --- |"]
    lines += [
        f"| [{r.id}](#{anchor(r)}) | {r.kind} | {severity_label(r.severity)} | {r.title} |"
        for r in rules
    ]
    lines += ["", "## The rules"]
    for rule in rules:
        lines += [
            "",
            f"### {rule.id}",
            "",
            f"**{rule.title}**. Kind: `{rule.kind}`. "
            f"Default severity: {severity_label(rule.severity)}.",
            "",
            rule.help,
        ]
    return "\n".join(lines) + "\n"


def render_rule_table(kind: Kind, doc_link: str = "rules.md") -> str:
    """The table of one kind's rules, each id linked to its section of docs/rules.md."""
    rows = [
        f"| [`{r.id}`]({doc_link}#{anchor(r)}) | {severity_label(r.severity)} | {r.title} |"
        for r in RULES
        if r.kind is kind
    ]
    return "\n".join(["| Rule id | Severity | Meaning |", "| --- | --- | --- |", *rows])


def with_rule_table(page: str, table: str) -> str:
    """`page` with the text between TABLE_START and TABLE_END replaced by `table`.

    Raises ValueError when the markers are missing, so a page that lost them fails loudly.
    """
    head, start, rest = page.partition(TABLE_START + "\n")
    _, end, tail = rest.partition(TABLE_END)
    if not start or not end:
        raise ValueError(f"the page has no {TABLE_START!r} ... {TABLE_END!r} block")
    return f"{head}{start}{table}\n{end}{tail}"
