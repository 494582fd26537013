#!/usr/bin/env bash
# Step 3 of action.yml: the scan. Its exit code is handed to the last step as an output, so
# that caching and the SARIF upload still happen when the gate fails.
set -uo pipefail
results="$RUNNER_TEMP/mlsecops"
mkdir -p "$results"
export MLSECOPS_SARIF_FILE="${MLSECOPS_SARIF_FILE:-$results/results.sarif}"
export MLSECOPS_JSON_FILE="${MLSECOPS_JSON_FILE:-$results/report.json}"
export MLSECOPS_SUMMARY_FILE="$results/summary.md"
PYTHONPATH="$GITHUB_ACTION_PATH" "$MLSECOPS_VENV/bin/python" "$GITHUB_ACTION_PATH/entrypoint.py"
status=$?
echo "exit-code=$status" >>"$GITHUB_OUTPUT"
exit 0
