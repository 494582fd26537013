"""The Trivy secret config shipped in the package, rendered from core/secret_rules.

Trivy reads `mlsecops/data/trivy-secret.yml` (`--secret-config`): its built-in rules, minus
those our rules replace, plus ours. The file is generated, never edited by hand:

    python -m mlsecops.secretscan.trivy_config > mlsecops/data/trivy-secret.yml

and a test fails when it differs from what this module renders.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from mlsecops.core.secret_rules import SECRET_RULES

CONFIG_RESOURCE = "trivy-secret.yml"

# Trivy's built-in allow rules skip whole paths: anything under a `test` or `example`
# directory, every Markdown file. A token in a notebook under examples/ or in a README is
# as leaked as any other, so those three are off; the rest (vendored code, the system and
# language directories of images) stay on. Fake tokens in a project's own tests are ignored
# through the policy file (id + target), where the exception is written down and reviewed.
DISABLED_ALLOW_RULES = ("tests", "examples", "markdown")

_HEADER = """\
# Trivy secret config for mlsecops (trivy fs|image --secret-config THIS_FILE).
# GENERATED from mlsecops/core/secret_rules.py by
#   python -m mlsecops.secretscan.trivy_config > mlsecops/data/trivy-secret.yml
# Do not edit: change the rules there, regenerate, and run the tests.
"""


def render() -> str:
    """The config file's text: Trivy's built-in rules minus the replaced ones, plus ours."""
    replaced = sorted({name for rule in SECRET_RULES for name in rule.replaces})
    data: dict[str, Any] = {
        "disable-rules": replaced,
        "disable-allow-rules": list(DISABLED_ALLOW_RULES),
        "rules": [
            {
                "id": rule.id,
                "category": rule.category,
                "title": rule.title,
                "severity": rule.severity.name,
                "regex": rule.regex,
                "secret-group-name": "secret",
                "keywords": list(rule.keywords),
            }
            for rule in SECRET_RULES
        ],
    }
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=1000)
    return _HEADER + body


def config_path() -> Path:
    """The shipped config on disk (the package is installed as files, never zipped)."""
    return Path(str(resources.files("mlsecops").joinpath("data", CONFIG_RESOURCE)))


if __name__ == "__main__":
    sys.stdout.write(render())
