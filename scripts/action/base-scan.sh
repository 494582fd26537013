#!/usr/bin/env bash
# Scan the base commit (checked out by the previous step) into the baseline report for the
# head's scan. Dependency files only: images and models come from the head's build, so
# there is nothing at the base to compare them with. This step never fails the job: if it
# cannot produce the report, the head's scan finds no baseline, says so and counts every
# finding as new.
set -uo pipefail
results="$RUNNER_TEMP/mlsecops"
base="$RUNNER_TEMP/mlsecops-base"
report="$results/baseline.json"
mkdir -p "$results"
rm -rf "$base" "$report"
echo "baseline=$report" >>"$GITHUB_OUTPUT"

# Out of the workspace, so that the head's scan of the workspace does not read it too.
if ! mv "$GITHUB_WORKSPACE/.mlsecops-base" "$base"; then
  echo "::warning title=mlsecops::the base commit was not checked out; every finding counts as new"
  exit 0
fi

# The same project path, relative to the repository root, in the base checkout.
project="${MLSECOPS_PATH:-.}"
case "$project" in
  "$GITHUB_WORKSPACE") project="." ;;
  "$GITHUB_WORKSPACE"/*) project="${project#"$GITHUB_WORKSPACE"/}" ;;
  /*)
    echo "::warning title=mlsecops::path $project is outside the workspace: cannot scan it at the base commit; every finding counts as new"
    exit 0
    ;;
esac

# The base's own policy does not matter here: what existed is what Trivy found, ignored or not.
printf 'version: 1\n' >"$results/base-policy.yml"
args=(scan "$project" --fail-on NONE --quiet --policy "$results/base-policy.yml" --json "$report")
[ -n "${MLSECOPS_TRIVY:-}" ] && args+=(--trivy "$MLSECOPS_TRIVY")
[ -n "${MLSECOPS_TRIVY_CACHE_DIR:-}" ] && args+=(--trivy-cache-dir "$MLSECOPS_TRIVY_CACHE_DIR")
# Booleans as the head's scan reads them (true, any case); that scan rejects anything else.
is_true() { [ "$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')" = "true" ]; }
is_true "${MLSECOPS_OFFLINE:-}" && args+=(--offline)
is_true "${MLSECOPS_RESOLVE:-}" && args+=(--resolve)
# Through the environment rather than argv (an index URL may carry a token): the CLI's
# --index-url defaults to MLSECOPS_INDEX_URL, which --resolve with --offline needs.
[ -n "${MLSECOPS_INDEX_URL:-}" ] && export MLSECOPS_INDEX_URL

# Targets are shown relative to the working directory: the base checkout's root here, the
# workspace for the head, so the same file has the same name in both reports.
cd "$base" || exit 0
PYTHONPATH="$GITHUB_ACTION_PATH" "$MLSECOPS_VENV/bin/python" -m mlsecops "${args[@]}"
status=$?
if [ "$status" -gt 1 ]; then
  echo "::warning title=mlsecops::scanning the base commit failed (exit $status); every finding counts as new"
  rm -f "$report"
fi
exit 0
