#!/usr/bin/env bash
# Run one step of the scan action in its venv: `run.sh STEP` -> `entrypoint.py STEP`.
#
# -P: the working directory is the workspace, i.e. the checked-out project; Python must never
# import from it (a `mlsecops/` or `requests/` directory in a pull request would otherwise
# shadow ours). Only the PR-comment step keeps MLSECOPS_GITHUB_TOKEN; no step keeps the
# tokens a job may carry (scripts/action/without-tokens.sh).
set -uo pipefail
step="$1"
[ "$step" = comment ] || unset MLSECOPS_GITHUB_TOKEN
export PYTHONPATH="$GITHUB_ACTION_PATH"
exec "$GITHUB_ACTION_PATH/scripts/action/without-tokens.sh" \
  "$MLSECOPS_VENV/bin/python" -P "$GITHUB_ACTION_PATH/entrypoint.py" "$step"
