#!/usr/bin/env bash
# Step 2 of action.yml: a pinned, checksum-verified Trivy (see mlsecops/trivy/install.py).
set -euo pipefail
venv="$RUNNER_TEMP/mlsecops-venv"
out="$(mktemp)"
status=0
PYTHONPATH="$GITHUB_ACTION_PATH" "$venv/bin/python" -m mlsecops.cli.install_trivy \
  --version "$MLSECOPS_TRIVY_VERSION" --dir "$MLSECOPS_TRIVY_DIR" >"$out" || status=$?
cat "$out"
if [ "$status" -ne 0 ]; then
  echo "::error title=mlsecops::installing Trivy $MLSECOPS_TRIVY_VERSION failed (see the line above)"
  exit "$status"
fi
echo "trivy-path=$(tail -n 1 "$out")" >>"$GITHUB_OUTPUT"
