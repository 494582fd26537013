"""The scan action's entrypoint: `python -P entrypoint.py STEP`, one call per step of action.yml.

STEP is `check` (every input, before anything is installed or downloaded), `scan` (the scan,
its reports and outputs), `base-scan` (the base commit's baseline for fail-on-new-only) or
`comment` (the PR comment: the only step that gets the token). action.yml passes inputs
through `env:` as MLSECOPS_<NAME>; this file reads them, calls the core and maps the result
to an exit code. Each step imports only what it uses: the comment step none of the scanner.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence

from mlsecops.actions.vocabulary import as_action_text
from mlsecops.core.text import log_text
from mlsecops.errors import EXIT_FAILED, EXIT_PASSED, UsageError, run_guarded
from mlsecops.github.commands import command
from mlsecops.github.context import GitHubContext, context_from_env
from mlsecops.github.env_files import append, format_outputs


def check(env: Mapping[str, str], github: GitHubContext) -> int:
    """Refuse any bad input now; hand the normalised ones to the later steps' `if:`s."""
    from mlsecops.actions.scan_inputs import checked_outputs, read_config

    outputs = checked_outputs(read_config(env), github)
    if github.output_file is not None:
        append(github.output_file, format_outputs(outputs))
    return EXIT_PASSED


def scan(env: Mapping[str, str], github: GitHubContext) -> int:
    """The scan; on exit 2 or 3 the summary and the outputs still say what happened."""
    from mlsecops.actions.scan_action import db_key_to_save, report_not_checked, run_action
    from mlsecops.actions.scan_inputs import ScanActionConfig, read_config

    config: ScanActionConfig | None = None

    def body() -> int:
        nonlocal config
        github.require_event()
        config = read_config(env)
        return run_action(config, github)

    reasons: list[str] = []
    code = run_guarded(body, lambda message: reasons.append(_say(message)))
    if code not in (EXIT_PASSED, EXIT_FAILED):
        report_not_checked(config, github, code, reasons[-1] if reasons else "interrupted")
    if github.output_file is not None:
        # For the DB cache: the key to save a DB this job downloaded under, else empty.
        key = db_key_to_save(config) if config is not None else ""
        append(github.output_file, format_outputs({"db-cache-key": key}))
    return code


def base_scan(env: Mapping[str, str], github: GitHubContext) -> int:
    """The base commit's scan into the baseline report; never fails the job."""
    from mlsecops.actions.base_scan import scan_base

    del github
    return scan_base(env)


def comment(env: Mapping[str, str], github: GitHubContext) -> int:
    """Post the PR comment the scan step left."""
    from mlsecops.actions.comment_action import post_comment

    del github
    return post_comment(env)


STEPS: dict[str, Callable[[Mapping[str, str], GitHubContext], int]] = {
    "check": check,
    "scan": scan,
    "base-scan": base_scan,
    "comment": comment,
}


def _say(message: str) -> str:
    """An error as an annotation in the job and one line on stderr, in the action's words."""
    message = as_action_text(message)
    print(command("error", message, title="mlsecops"))
    print(f"mlsecops: error: {log_text(message, limit=None)}", file=sys.stderr)
    return message


def main(env: Mapping[str, str], argv: Sequence[str] = ("scan",)) -> int:
    """Run one step of the scan action; returns the exit code of docs/interface.md."""
    name = argv[0] if argv else ""
    github = context_from_env(env)
    if name == "scan":
        return scan(env, github)
    step = STEPS.get(name)
    reasons: list[str] = []

    def body() -> int:
        github.require_event()  # a payload we could not read is exit 2, in every step
        return _unknown_step(name) if step is None else step(env, github)

    code = run_guarded(body, lambda message: reasons.append(_say(message)))
    if code != EXIT_PASSED and github.output_file is not None:
        # For the last step, which reports why the action stopped before the scan.
        reason = reasons[-1] if reasons else f"exit {code}"
        append(github.output_file, format_outputs({"exit-code": str(code), "error": reason}))
    return code


def _unknown_step(name: str) -> int:
    raise UsageError(f"unknown step {name!r}", "use one of " + ", ".join(STEPS))


if __name__ == "__main__":
    sys.exit(main(os.environ, sys.argv[1:]))
