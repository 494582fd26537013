#!/usr/bin/env bash
# fail-on-new-only without a baseline report: which commit to scan as the baseline.
# pull_request(_target): the PR's base commit. merge_group: the queue's base commit (there is
# no github.base_ref on merge_group events). Any other event has no base: no commit, and the
# scan then counts every finding as new (never a silent pass).
set -euo pipefail
sha=""
case "${MLSECOPS_EVENT_NAME:-}" in
  pull_request | pull_request_target) sha="${MLSECOPS_PR_BASE_SHA:-}" ;;
  merge_group) sha="${MLSECOPS_MERGE_GROUP_BASE_SHA:-}" ;;
esac
if [[ -n "$sha" && ! "$sha" =~ ^[0-9a-f]{40}$ ]]; then
  echo "::warning title=mlsecops::ignoring a base commit that is not a commit SHA"
  sha=""
fi
if [ -z "$sha" ]; then
  echo "::warning title=mlsecops::fail-on-new-only: no baseline report and no base commit for a ${MLSECOPS_EVENT_NAME:-unknown} event; every finding counts as new"
fi
echo "sha=$sha" >>"$GITHUB_OUTPUT"
