#!/usr/bin/env bash
# The README's "main job": install, then scan the example ML projects with the real Trivy.
# Offline by default (this uses a Trivy DB built from the test suite's advisory data), so it
# works on a machine that cannot reach Trivy's DB registry; pass --online to let Trivy
# download its real DB instead.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install -q -r requirements-dev.txt
export PATH="$PWD/.venv/bin:$PATH"

scan_flags=(--offline --trivy-cache-dir .cache/demo-trivy)
if [ "${1:-}" = "--online" ]; then
  scan_flags=()
else
  .venv/bin/python -c 'from pathlib import Path; from tests.support.trivydb import build_trivy_db
build_trivy_db(Path(".cache/demo-trivy"))'
fi

status=0
echo "== mlsecops scan examples/vulnerable-ml-project (expected: exit 1, findings at or above HIGH)"
mlsecops scan examples/vulnerable-ml-project "${scan_flags[@]}" \
  --json .cache/demo-report.json --sarif .cache/demo.sarif --summary .cache/demo-summary.md || status=$?
echo "exit code: $status"
echo
echo "== mlsecops scan examples/clean-ml-project (expected: exit 0)"
clean=0
mlsecops scan examples/clean-ml-project "${scan_flags[@]}" || clean=$?
echo "exit code: $clean"
echo
echo "Reports: .cache/demo-report.json .cache/demo.sarif .cache/demo-summary.md"
if [ "$status" -eq 1 ] && [ "$clean" -eq 0 ]; then
  echo "demo OK: the vulnerable project failed the gate and the clean one passed"
else
  echo "demo FAILED: expected exit codes 1 and 0, got $status and $clean" >&2
  exit 1
fi
