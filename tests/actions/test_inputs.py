"""The one parser of action input values (both actions)."""

from __future__ import annotations

import pytest

from mlsecops.actions.inputs import Inputs, parse_bool, parse_list
from mlsecops.errors import UsageError


@pytest.mark.parametrize(("text", "value"), [("true", True), ("FALSE", False), ("", False)])
def test_booleans_are_strict(text, value):
    assert parse_bool("x", text) is value


@pytest.mark.parametrize("text", ["yes", "1", "on", "ture"])
def test_boolean_typos_are_errors(text):
    with pytest.raises(UsageError, match="is not a boolean"):
        parse_bool("ignore-unfixed", text)


def test_lists_split_on_newlines_and_spaces_and_keep_quoted_paths():
    assert parse_list("a.tar b.tar\n'my image.tar'\n# comment\n\n") == (
        "a.tar",
        "b.tar",
        "my image.tar",
    )


def test_an_unclosed_quote_is_a_usage_error():
    with pytest.raises(UsageError, match="cannot split"):
        parse_list("'my image.tar")


def test_inputs_read_the_variables_action_yml_sets():
    inputs = Inputs(
        {"MLSECOPS_FAIL_ON": " HIGH ", "MLSECOPS_SUMMARY": "", "MLSECOPS_OFFLINE": "True"}
    )
    assert inputs.text("fail-on") == "HIGH"
    assert inputs.flag("summary", default=True) is True
    assert inputs.flag("offline") is True
    assert inputs.path("policy") is None
