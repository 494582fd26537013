"""GitHub's environment files: step outputs framed so a value cannot end its own field."""

from __future__ import annotations

from pathlib import Path

from mlsecops.github.env_files import append, format_outputs
from tests.actions.composite import read_outputs


def test_multi_line_outputs_use_a_fresh_random_delimiter(tmp_path: Path) -> None:
    path = tmp_path / "output"
    values = {"one": "a=b", "many": "line 1\nline 2\nghadelimiter_x", "empty": ""}
    append(path, format_outputs(values))
    append(path, format_outputs({"many2": "x\ny"}))
    text = path.read_text(encoding="utf-8")
    delimiters = [line.split("<<")[1] for line in text.splitlines() if "<<" in line]
    assert len(set(delimiters)) == 2 and all(
        len(d) == len("ghadelimiter_") + 32 for d in delimiters
    )
    assert read_outputs(path) == {**values, "many2": "x\ny"}
