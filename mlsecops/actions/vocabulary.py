"""The action's words for the CLI's flags, so that every message names what the user can set.

The core says `--trivy-cache-dir` and `--offline` in its errors and notes: right for
`mlsecops scan`, wrong inside the action, whose users set inputs and have no flags. The
action passes every message it prints through `as_action_text`. Each flag of `mlsecops scan`
has an entry (tests/actions/test_vocabulary.py keeps the table complete): the input that
does the same, or None where the action has no input for it and the flag stays as it is.
"""

from __future__ import annotations

import re

# Flag -> how the action names the same thing. Booleans read `name: true`, because that is
# what a user writes in `with:`; the others name the input.
ACTION_WORDS: dict[str, str | None] = {
    "--image": "input images",
    "--model": "input models",
    "--scanners": "input scanners",
    "--fail-on": "input fail-on",
    "--ignore-unfixed": "ignore-unfixed: true",
    "--policy": "input policy",
    "--json": "input json-file",
    "--sarif": "input sarif-file",
    "--sarif-severity": "input sarif-severity",
    "--sarif-category": "input sarif-category",
    "--sbom": "input sbom-file",
    "--model-manifest": "input model-manifest",
    "--summary": None,  # the action always writes its summary file itself
    "--annotations": "annotations: true",
    "--trivy": "input trivy-version",  # the action installs the binary that version names
    "--trivy-cache-dir": "input trivy-cache-dir",
    "--offline": "offline: true",
    "--resolve": "resolve: true",
    "--index-url": "input index-url",
    "--allow-source-builds": "allow-source-builds: true",
    "--skip-dev-deps": "skip-dev-deps: true",
    "--exclude": "input exclude",
    # The DB's age and what dates it (issue 11).
    "--max-db-age-days": "input max-db-age-days",
    "--trivy-db-record": "input trivy-db-record",
    # The action passes the key its DB cache restored; no input sets it.
    "--trivy-db-cache-key": None,
    "--accept-unverified-db": "accept-unverified-db: true",
    "--baseline": "input baseline",
    "--fail-on-new-only": "fail-on-new-only: true",
    "--quiet": None,
}
# Longest first, so that `--fail-on-new-only` is never read as `--fail-on` plus a tail; a
# flag ends where no letter, digit or hyphen follows (`--sarif` is not `--sarif-file`).
_FLAG = re.compile(
    r"(?<![\w-])("
    + "|".join(re.escape(f) for f in sorted(ACTION_WORDS, key=len, reverse=True))
    + r")(?![\w-])"
)
# `--trivy PATH` in a hint means "a trivy binary you choose": in the action, a version.
_TRIVY_PATH = re.compile(r"(?<![\w-])--trivy PATH(?![\w-])")


def as_action_text(message: str) -> str:
    """`message` with each known flag replaced by the action's word for it."""
    message = _TRIVY_PATH.sub("input trivy-version", message)
    return _FLAG.sub(lambda match: ACTION_WORDS[match.group(1)] or match.group(1), message)
