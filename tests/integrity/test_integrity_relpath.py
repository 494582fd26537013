"""integrity/relpath: which names a manifest may hold, and how one is shown on one line."""

from __future__ import annotations

import pytest

from mlsecops.integrity.relpath import path_problem, show


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("", "empty path"),
        ("/etc/passwd", "absolute path"),
        ("C:/Windows/x.dll", "absolute path"),
        ("a\\b", "contains a backslash"),
        ("..", "contains a '..' segment"),
        ("../secret", "contains a '..' segment"),
        ("a/../../b", "contains a '..' segment"),
        ("./a", "contains a '.' segment"),
        ("a//b", "contains an empty segment ('//' or a trailing '/')"),
        ("a/", "contains an empty segment ('//' or a trailing '/')"),
        ("a\nb", "contains a control character"),
        ("a\x7fb", "contains a control character"),
        ("bad\udcffname", "is not valid UTF-8"),
    ],
)
def test_unsafe_names_are_named(path: str, problem: str) -> None:
    assert path_problem(path) == problem


@pytest.mark.parametrize(
    "path",
    [
        "a",
        "config.json",
        ".gitattributes",
        ".github/workflows/ci.yml",
        "sub dir/\u00fcn\u00efc\u00f8d\u00e9 name.txt",
        "..a",
        "a..b/c",
        "\u6a21\u578b.onnx",
    ],
)
def test_ordinary_names_are_safe(path: str) -> None:
    assert path_problem(path) is None


def test_show_keeps_a_name_on_one_line() -> None:
    assert show("sub dir/na\u00efve.txt") == "sub dir/na\u00efve.txt"
    assert show("x\n::error::forged") == "x\\n:\\:error:\\:forged"
    assert "\n" not in show("x\n::error::forged")
    assert show("bad\udcffname") == "bad\\xffname"
    assert show("::warning::at the start") == ":\\:warning:\\:at the start"
