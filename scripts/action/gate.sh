#!/usr/bin/env bash
# Last step of action.yml, always run: fail the job the way the scan decided, and make the
# verdict visible on every path. No exit code from the scan means it never finished (an
# earlier step failed, or it was cancelled or crashed): that must never read as a pass.
#
# Bash only, no Python: this also runs when setting up the venv failed.
set -uo pipefail

one_line() { printf '%s' "$1" | tr '\r\n' '  '; }

code="${MLSECOPS_SCAN_EXIT_CODE:-}"
error="$(one_line "${MLSECOPS_SCAN_ERROR:-}")"
if [ -z "$code" ]; then
  code="${MLSECOPS_EARLY_EXIT_CODE:-3}"
  error="$(one_line "${MLSECOPS_EARLY_ERROR:-}")"
fi
# Whichever step stopped the action has annotated its reason; only silence needs one here.
reported="${error:+yes}"
[ -z "$error" ] && [ "$code" -ne 0 ] && [ "$code" -ne 1 ] &&
  error="the scan step did not finish (an earlier step failed, or it was cancelled or crashed); failing closed"
case "$code" in
  0 | 1 | 2 | 3) ;;
  *)
    error="${error:-the scan ended with exit $code (it crashed or was killed)}"
    code=3
    ;;
esac
[ "$code" -gt 1 ] && [ -z "$error" ] && error="the scan failed with exit $code (see its step)"

summary_file=""
# The scan step writes the summary itself whenever it ran to an end (it then sets passed).
if [ "$code" -gt 1 ] && [ -z "${MLSECOPS_SCAN_PASSED:-}" ] && [ "${MLSECOPS_SUMMARY:-}" != false ]; then
  summary_file="$RUNNER_TEMP/mlsecops/summary.md"
  mkdir -p "$RUNNER_TEMP/mlsecops"
  if [ "$code" -eq 2 ]; then kind="a configuration error"; else kind="a scanner or tool failed"; fi
  # The reason goes in an indented code block: nothing in it renders (links, images, HTML);
  # the scan step's own summary uses core/text's md_text, which this bash cannot.
  printf '## ❌ mlsecops: could not check\n\n    could not check: %s\n\nExit %s, %s: nothing was judged, so nothing passed.\n' \
    "$error" "$code" "$kind" >"$summary_file"
  cat "$summary_file" >>"$GITHUB_STEP_SUMMARY"
fi

if [ "${MLSECOPS_UPLOAD_OUTCOME:-}" = failure ]; then
  note="The SARIF upload to code scanning failed (see that step): it needs security-events: write (and actions: read on private repositories). The verdict above is unaffected."
  echo "::warning title=mlsecops::$note"
  [ "${MLSECOPS_SUMMARY:-}" != false ] && printf '\n> %s\n' "$note" >>"$GITHUB_STEP_SUMMARY"
fi

{
  if [ "$code" -eq 0 ]; then echo "passed=true"; else echo "passed=false"; fi
  echo "exit-code=$code"
  echo "error=$error"
  echo "summary-file=$summary_file"
} >>"$GITHUB_OUTPUT"

case "$code" in
  0) echo "mlsecops: passed" ;;
  1) echo "mlsecops: findings at or above fail-on (see the job summary)" ;;
  *)
    if [ -n "$reported" ]; then
      echo "mlsecops: could not check: $error"
    else
      echo "::error title=mlsecops::could not check: ${error//%/%25}"
    fi
    ;;
esac
exit "$code"
