"""The rule registry is complete: every MLS-* id the code uses is registered, and back."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from mlsecops.core.rules import BY_ID, RULES, rule

PACKAGE = Path(__file__).resolve().parents[2] / "mlsecops"
RULE_ID = re.compile(r"^MLS-[A-Z0-9]+(?:-[A-Z0-9]+)*$")


def _ids_in_code() -> dict[str, list[str]]:
    """Every string constant that is a whole MLS-* id, by where it stands (rules.py aside)."""
    used: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name == "rules.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            is_text = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_text and RULE_ID.match(node.value):
                used.setdefault(node.value, []).append(f"{path.name}:{node.lineno}")
    return used


def test_every_id_used_in_the_code_is_registered() -> None:
    unregistered = {
        rule_id: where for rule_id, where in _ids_in_code().items() if rule_id not in BY_ID
    }
    assert unregistered == {}


def test_every_registered_rule_is_used_in_the_code() -> None:
    assert sorted(set(BY_ID) - set(_ids_in_code())) == []


def test_rules_are_unique_and_well_formed() -> None:
    assert len(BY_ID) == len(RULES)
    for entry in RULES:
        assert RULE_ID.match(entry.id), entry.id
        assert entry.title and entry.help, entry.id
        assert entry.help_uri.endswith("#" + entry.id.lower())


def test_lookup_of_an_unregistered_id_fails_loudly() -> None:
    try:
        rule("MLS-NOT-A-RULE")
    except KeyError:
        return
    raise AssertionError("an unregistered id was accepted")
