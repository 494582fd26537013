"""Messages inside the action name inputs, not the CLI's flags."""

from __future__ import annotations

import argparse

import yaml

from mlsecops.actions.vocabulary import ACTION_WORDS, as_action_text
from mlsecops.cli.main import build_parser
from tests.actions.test_scan_action import REPO


def scan_flags() -> set[str]:
    parser = build_parser()
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    scan = subparsers.choices["scan"]
    return {
        option
        for action in scan._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }


def test_every_scan_flag_has_an_action_word():
    missing = scan_flags() - set(ACTION_WORDS)
    assert not missing, (
        f"add {sorted(missing)} to ACTION_WORDS in mlsecops/actions/vocabulary.py: the input "
        "that does the same in action.yml, or None when the action has none"
    )
    assert not set(ACTION_WORDS) - scan_flags(), "ACTION_WORDS names a flag scan no longer has"


def test_every_word_names_a_real_input():
    inputs = set(yaml.safe_load((REPO / "action.yml").read_text())["inputs"])
    for word in filter(None, ACTION_WORDS.values()):
        name = word.removeprefix("input ").removesuffix(": true")
        assert name in inputs, word


def test_the_offline_db_message_names_the_inputs():
    message = (
        "no Trivy DB in /t/db and --offline forbids downloading one; to fix: run once without "
        "--offline to download it, or copy db/trivy.db and db/metadata.json into "
        "--trivy-cache-dir"
    )
    assert as_action_text(message) == (
        "no Trivy DB in /t/db and offline: true forbids downloading one; to fix: run once "
        "without offline: true to download it, or copy db/trivy.db and db/metadata.json into "
        "input trivy-cache-dir"
    )


def test_longer_flags_and_other_tools_flags_are_left_whole():
    text = "--fail-on-new-only without --baseline; trivy --skip-db-update; --sarif-severity"
    assert as_action_text(text) == (
        "fail-on-new-only: true without input baseline; trivy --skip-db-update; "
        "input sarif-severity"
    )
    assert as_action_text("a file named x--offline or --offline-scan") == (
        "a file named x--offline or --offline-scan"
    )
    assert as_action_text("install it or pass --trivy PATH") == (
        "install it or pass input trivy-version"
    )
