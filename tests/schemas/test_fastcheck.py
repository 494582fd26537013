"""The fast schema check must agree with jsonschema: never pass what jsonschema refuses."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema
import pytest

from mlsecops.reports.json_report import report_dict
from mlsecops.schemas import load_schema, schema_errors
from mlsecops.schemas.fastcheck import UnsupportedSchema, compile_schema
from tests.reports.outcomes import typical

SHIPPED = ["report.schema.json", "policy.schema.json", "manifest.schema.json"]


def mutations(value: Any) -> list[Any]:
    """Copies of `value` with one thing changed: a type, a value, a key removed or added."""
    out: list[Any] = []

    def walk(node: Any, setter) -> None:  # setter(new) returns a mutated root copy
        out.extend(
            setter(replacement)
            for replacement in (None, 7, -1, "", "X", True, 1.5, [], {})
            if replacement != node or type(replacement) is not type(node)
        )
        if isinstance(node, dict):
            for key in list(node):
                out.append(setter({k: v for k, v in node.items() if k != key}))
                walk(node[key], lambda new, key=key: setter({**node, key: new}))
            out.append(setter({**node, "unexpected-key": 1}))
        elif isinstance(node, list) and node:
            walk(node[0], lambda new: setter([new, *node[1:]]))

    walk(value, lambda new: copy.deepcopy(new))
    return out


def agree(schema_name: str, instance: Any) -> None:
    validator = jsonschema.Draft202012Validator(load_schema(schema_name))
    fast = compile_schema(load_schema(schema_name))
    assert fast(instance) == validator.is_valid(instance), json.dumps(instance)[:300]


def test_every_shipped_schema_compiles_so_the_fast_path_is_used():
    for name in SHIPPED:
        compile_schema(load_schema(name))


def test_unknown_keywords_are_refused_not_ignored():
    with pytest.raises(UnsupportedSchema, match="oneOf"):
        compile_schema({"oneOf": [{"type": "string"}]})


def test_agrees_on_a_real_report_and_every_single_mutation_of_it():
    report = report_dict(typical())
    report["findings"] = report["findings"][:2]
    agree("report.schema.json", report)
    cases = mutations(report)
    assert len(cases) > 300
    for case in cases:
        agree("report.schema.json", case)


def test_agrees_on_policies():
    policy = {
        "version": 1,
        "fail-on": "HIGH",
        "ignore": [{"id": "CVE-1", "reason": "r", "package": "p", "expires": "2027-01-01"}],
    }
    for case in [policy, *mutations(policy)]:
        agree("policy.schema.json", case)


def test_schema_errors_still_name_the_problem():
    report = report_dict(typical())
    report["findings"][0]["severity"] = "SEVERE"
    [error] = schema_errors(report, "report.schema.json")
    assert "SEVERE" in error.message
