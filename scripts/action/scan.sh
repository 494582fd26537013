#!/usr/bin/env bash
# The scan step. Its exit code is handed to the last step as an output, so that caching,
# the SARIF upload and the PR comment still happen when the gate fails.
set -uo pipefail
results="$RUNNER_TEMP/mlsecops"
mkdir -p "$results"
rm -f "$results/pr-comment.md"
export MLSECOPS_SARIF_FILE="${MLSECOPS_SARIF_FILE:-$results/results.sarif}"
export MLSECOPS_JSON_FILE="${MLSECOPS_JSON_FILE:-$results/report.json}"
export MLSECOPS_SUMMARY_FILE="$results/summary.md"
export MLSECOPS_PR_COMMENT_FILE="$results/pr-comment.md"
status=0
"$GITHUB_ACTION_PATH/scripts/action/run.sh" scan || status=$?
echo "exit-code=$status" >>"$GITHUB_OUTPUT"
exit 0
