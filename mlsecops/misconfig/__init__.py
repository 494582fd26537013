"""Misconfiguration checks: Trivy's own (built into the binary) plus the KServe checks we ship.

    checks   where the shipped Rego checks are, and their ids (registered in core/rules)

The checks live in `mlsecops/data/checks/` as Rego, run by Trivy (`--config-check`) next to
its built-in Dockerfile, Kubernetes and Helm checks.
"""
