"""guarded JSON / YAML / TOML: depth, aliases, key types, dotted keys, Unicode."""

from __future__ import annotations

import pytest

from mlsecops.errors import UsageError
from mlsecops.guarded.depth import MAX_DEPTH
from mlsecops.guarded.json_text import parse_json
from mlsecops.guarded.toml_text import MAX_TOML_KEY_PARTS, parse_toml
from mlsecops.guarded.yaml_text import compose_yaml, parse_yaml

SRC, FIX = "test file t", "fix it"


def refused(parse, text: str, *words: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(UsageError) as info:
        parse(text, SRC, FIX)
    message = info.value.one_line()
    assert message.startswith(SRC)
    assert message.endswith("; to fix: fix it")
    for word in words:
        assert word in message, (word, message)


def nested(depth: int, open_: str = "[", close: str = "]") -> str:
    return open_ * depth + close * depth


def test_json_depth_is_measured_before_parsing():
    assert parse_json(nested(MAX_DEPTH), SRC, FIX) is not None
    refused(parse_json, nested(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels")
    refused(parse_json, nested(100_000), "nested deeper")
    # Brackets inside strings open nothing.
    assert parse_json('{"a": "' + "[" * 1000 + '"}', SRC, FIX) == {"a": "[" * 1000}
    assert parse_json('["\\"[[["]', SRC, FIX) == ['"[[[']


def test_json_errors_and_unicode():
    refused(parse_json, "{", "is not valid JSON")
    refused(parse_json, "1" * 5000, "is not valid JSON")  # Python's int digit limit
    refused(parse_json, '{"path": "a\\udcff"}', "not valid Unicode", "\\udcff")
    refused(parse_json, '["\\ud800"]', "not valid Unicode")
    assert parse_json('["\\ud83d\\ude00"]', SRC, FIX) == ["\U0001f600"]


def test_json_hooks_errors_are_invalid_json():
    def no_float(text: str) -> None:
        raise ValueError(f"number {text} is not an integer")

    with pytest.raises(UsageError, match="is not an integer"):
        parse_json("[1.5]", SRC, FIX, parse_float=no_float)


def test_yaml_refuses_aliases_anchors_and_merge_keys():
    refused(parse_yaml, "a: &x 1\nb: *x\n", ":1", "aliases and anchors")
    refused(parse_yaml, "a: &x {k: 1}\nb:\n  <<: *x\n", "aliases and anchors")
    refused(parse_yaml, "a: !!binary aGk=\nb: &y 2\n", ":2", "aliases and anchors")
    assert parse_yaml("a: '*x &y'\n", SRC, FIX) == {"a": "*x &y"}


def test_yaml_depth_and_key_types():
    assert parse_yaml(nested(MAX_DEPTH), SRC, FIX) is not None
    refused(parse_yaml, nested(MAX_DEPTH + 1), "nested deeper")
    refused(parse_yaml, "x: " + nested(100_000), "nested deeper")
    refused(parse_yaml, "1: a\nb: c\n", ":1", "mapping key '1' is not text")
    refused(parse_yaml, "on: push\n", "mapping key 'on' is not text")
    refused(parse_yaml, "? [a]\n: b\n", "is not text")
    assert parse_yaml("'1': a\n", SRC, FIX) == {"1": "a"}
    refused(parse_yaml, 'a: "\\udcff"\n', "not valid Unicode")


def test_yaml_node_tree_is_guarded_too():
    node = compose_yaml("dependencies:\n  - numpy=1.26\n", SRC, FIX)
    assert node is not None and node.start_mark.line == 0
    refused(compose_yaml, "a: &x 1\n", "aliases and anchors")
    refused(compose_yaml, "a: [b", "is not valid YAML")


def test_toml_long_dotted_keys_are_refused_before_parsing():
    ok = ".".join(f"k{i}" for i in range(MAX_TOML_KEY_PARTS)) + " = 1\n"
    assert parse_toml(ok, SRC, FIX)
    long = ".".join(f"k{i}" for i in range(MAX_TOML_KEY_PARTS + 1)) + " = 1\n"
    refused(parse_toml, "a = 1\n" + long, ":2", f"more than {MAX_TOML_KEY_PARTS} parts")
    refused(parse_toml, ".".join(f"k{i}" for i in range(10_000)) + " = 1\n", "more than")
    refused(parse_toml, "[" + ".".join(['"q"'] * 40) + "]\n", "more than")
    refused(parse_toml, "a = { " + " . ".join(["b"] * 40) + " = 1 }\n", "more than")


def test_toml_depth_and_syntax():
    refused(parse_toml, "a = " + nested(5000) + "\n", "nested deeper")
    inline = "a = " + "{b = " * 70 + "1" + "}" * 70 + "\n"
    refused(parse_toml, inline, "nested deeper")
    refused(parse_toml, "[[package]\n", "is not valid TOML")
    assert parse_toml('version = 1\n[[package]]\nname = "x"\n', SRC, FIX) == {
        "version": 1,
        "package": [{"name": "x"}],
    }
