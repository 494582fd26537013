#!/usr/bin/env bash
# `without-tokens.sh COMMAND...`: run COMMAND without the tokens a job may carry in its env.
#
# Workflows often set GITHUB_TOKEN or GH_TOKEN for the whole job, and a job with
# `id-token: write` hands every step the means to mint OIDC tokens. Nothing the scan runs
# (Trivy, pip, and whatever a project file leads them to) may see any of them; the action's
# PR-comment step gets its own token through `env:`, as MLSECOPS_GITHUB_TOKEN.
unset GITHUB_TOKEN GH_TOKEN GITHUB_PAT GH_ENTERPRISE_TOKEN GITHUB_ENTERPRISE_TOKEN \
  ACTIONS_RUNTIME_TOKEN ACTIONS_ID_TOKEN_REQUEST_TOKEN ACTIONS_ID_TOKEN_REQUEST_URL
exec "$@"
