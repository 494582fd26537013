"""GITHUB_EVENT_PATH is read under guard: a payload we cannot read stops every step with exit 2.

The runner writes the event payload; a broken or hostile one (nested 20,000 deep, past the
size limit, not UTF-8, a FIFO) used to be a traceback (deep) or a quiet run as if there
were no pull request (the rest). Now each step of the scan action ends with one line on
stderr and exit 2, and the scan step still sets its outputs.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import entrypoint
from mlsecops.errors import EXIT_USAGE, UsageError
from mlsecops.github.context import context_from_env
from tests.actions.composite import read_outputs

EVENTS = {
    "deep": (b'{"pull_request": ' + b"[" * 20_000 + b"]" * 20_000 + b"}", "nested deeper"),
    "not-utf8": (b'{"pull_request": {"title": "caf\xe9"}}', "is not UTF-8 text: byte 0xe9"),
    "too-big": (b'{"pull_request": {}}' + b" " * 70_000, "over the limit of 65,536 bytes"),
    "not-json": (b"pull_request: 7\n", "is not valid JSON"),
    "fifo": (b"", "is a FIFO (named pipe), not a regular file; it was not opened"),
}


def _event(tmp_path: Path, case: str) -> Path:
    path = tmp_path / "event.json"
    if case == "fifo":
        os.mkfifo(path)  # opening it would block until a writer came: it must not be opened
    else:
        path.write_bytes(EVENTS[case][0])
    return path


@pytest.fixture(autouse=True)
def _small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLSECOPS_MAX_GITHUB_EVENT_BYTES", str(64 * 1024))


@pytest.mark.parametrize("case", list(EVENTS))
def test_a_bad_event_payload_is_a_usage_error_when_a_step_starts(tmp_path: Path, case: str):
    github = context_from_env({"GITHUB_EVENT_PATH": str(_event(tmp_path, case))})
    assert github.pull_request is None
    with pytest.raises(UsageError) as raised:
        github.require_event()
    line = raised.value.one_line()
    assert f"GitHub event payload {tmp_path / 'event.json'}" in line
    assert EVENTS[case][1] in line


def test_a_good_event_payload_and_none_at_all_are_fine(tmp_path: Path):
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    context_from_env({"GITHUB_EVENT_PATH": str(event)}).require_event()
    assert context_from_env({"GITHUB_EVENT_PATH": str(event)}).pull_request == 7
    context_from_env({}).require_event()


@pytest.mark.parametrize("step", ["check", "scan", "comment"])
@pytest.mark.parametrize("case", ["deep", "fifo"])
def test_every_step_ends_with_one_line_and_exit_2(
    tmp_path: Path, case: str, step: str, capfd: pytest.CaptureFixture[str]
):
    (tmp_path / "output").write_text("")
    env = {
        "GITHUB_EVENT_PATH": str(_event(tmp_path, case)),
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "MLSECOPS_PATH": str(tmp_path),
    }
    assert entrypoint.main(env, [step]) == EXIT_USAGE
    err = capfd.readouterr().err
    [line] = err.strip().splitlines()
    assert line.startswith("mlsecops: error: GitHub event payload"), line
    assert EVENTS[case][1] in line
    outputs = read_outputs(tmp_path / "output")
    assert outputs["error"] == line.removeprefix("mlsecops: error: ")
    # The scan step sets every output (a verdict of false); the others say the exit code.
    assert outputs["passed" if step == "scan" else "exit-code"] == (
        "false" if step == "scan" else str(EXIT_USAGE)
    )
