"""The Rego checks shipped in the package, for what Trivy's built-in checks cannot see.

Trivy's Kubernetes checks do not look inside a KServe InferenceService (its containers sit
under `spec.predictor`, not where a Deployment keeps them), so a privileged model server
passes them. The checks in `mlsecops/data/checks/` fill that gap; Trivy runs them with its
own (`--config-check DIR --check-namespaces mlsecops`).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

CHECK_NAMESPACE = "mlsecops"  # the Rego packages' root: `package mlsecops.kserve.<check>`
CHECKS_RESOURCE = "checks"

# The id of each shipped check (its `custom.id`), as registered in core/rules.py.
KSERVE_CHECKS = (
    "MLS-KSERVE-PRIVILEGED",
    "MLS-KSERVE-RUN-AS-ROOT",
    "MLS-KSERVE-HOSTPATH",
    "MLS-KSERVE-UNPINNED-IMAGE",
)


def checks_dir() -> Path:
    """The directory of shipped Rego checks (the package is installed as files)."""
    return Path(str(resources.files("mlsecops").joinpath("data", CHECKS_RESOURCE)))
