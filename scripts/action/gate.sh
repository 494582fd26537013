#!/usr/bin/env bash
# Last step of action.yml: fail the job the way the scan decided. No exit code means the
# scan never finished, which must never read as a pass.
set -euo pipefail
code="${MLSECOPS_EXIT_CODE:-}"
case "$code" in
  0) echo "mlsecops: passed" ;;
  1) echo "mlsecops: findings at or above fail-on (see the job summary)"; exit 1 ;;
  2 | 3) echo "mlsecops: the scan could not run (exit $code, see the error above)"; exit "$code" ;;
  *) echo "::error title=mlsecops::the scan step did not finish; failing closed"; exit 3 ;;
esac
