#!/usr/bin/env bash
# Step 1 of action.yml: check the runner, make an isolated venv with hash-pinned deps.
# Never touches the user's Python environment, and never imports from the workspace (-P).
set -euo pipefail

fail() {
  echo "::error title=mlsecops::$1"
  printf 'exit-code=2\nerror=%s\n' "$1" >>"$GITHUB_OUTPUT"
  exit 2
}

case "${RUNNER_OS:-}-${RUNNER_ARCH:-}" in
  Linux-X64 | Linux-ARM64 | macOS-X64 | macOS-ARM64) ;;
  *) fail "unsupported runner ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}: use a Linux or macOS runner (x86_64 or arm64)" ;;
esac

python="$(command -v python3 || true)"
[ -n "$python" ] || fail "python3 not found: add actions/setup-python (3.11 or newer) before this action"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  fail "Python 3.11 or newer is needed, found $("$python" --version 2>&1): add actions/setup-python before this action"

venv="$RUNNER_TEMP/mlsecops-venv"
if [ ! -x "$venv/bin/python" ]; then
  "$python" -P -m venv "$venv"
fi
# --require-hashes: every package, transitive ones included, must match a pinned hash.
# A second call of the action in the same job finds them installed from the same file (pip
# would only say "already satisfied", checking no hash either).
requirements="$GITHUB_ACTION_PATH/requirements/action.txt"
if ! cmp -s "$requirements" "$venv/.mlsecops-requirements.txt"; then
  "$venv/bin/python" -P -m pip install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$requirements"
  cp "$requirements" "$venv/.mlsecops-requirements.txt"
fi

{
  echo "venv=$venv"
  echo "trivy-dir=$RUNNER_TEMP/mlsecops-trivy-bin"
  echo "cache-dir=$RUNNER_TEMP/mlsecops-trivy-cache"
  # Every cache save gets a key of its own (see action.yml): no two saves ever collide, and
  # restore-keys brings back the newest.
  echo "cache-suffix=${GITHUB_RUN_ID:-0}-${GITHUB_RUN_ATTEMPT:-0}-$(od -An -N4 -tx4 /dev/urandom | tr -d ' ')"
} >>"$GITHUB_OUTPUT"
