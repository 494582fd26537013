#!/usr/bin/env bash
# The install step: a pinned, checksum-verified Trivy (see mlsecops/trivy/install.py).
# Writes trivy-path and downloaded (true only when this run downloaded it), or exit-code
# and error for the last step's summary.
set -uo pipefail
cd "$RUNNER_TEMP" || exit 3 # nothing of the workspace is needed here (and -P besides)
status=0
PYTHONPATH="$GITHUB_ACTION_PATH" "$GITHUB_ACTION_PATH/scripts/action/without-tokens.sh" \
  "$MLSECOPS_VENV/bin/python" -P -m mlsecops.cli.install_trivy \
  --version "$MLSECOPS_TRIVY_VERSION" --dir "$MLSECOPS_TRIVY_DIR" \
  --github-output "$GITHUB_OUTPUT" || status=$?
if [ "$status" -ne 0 ]; then
  echo "::error title=mlsecops::installing Trivy $MLSECOPS_TRIVY_VERSION failed (see the line above)"
fi
exit "$status"
