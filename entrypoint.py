"""The scan action's entrypoint: action inputs (environment) -> config -> core -> exit code.

action.yml passes every input through `env:` as MLSECOPS_<NAME>; nothing here interprets a
result, it only parses strictly (a typo in a boolean is an error, never a silent false).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from mlsecops.actions.inputs import Inputs
from mlsecops.actions.scan_action import ActionConfig, run_action
from mlsecops.errors import run_guarded
from mlsecops.github.commands import command
from mlsecops.github.context import context_from_env, workspace_from_env
from mlsecops.reports.sarif import DEFAULT_CATEGORY
from mlsecops.reports.write import ReportRequest, parse_sarif_floor
from mlsecops.scan import ScanRequest


def config_from_env(env: Mapping[str, str]) -> ActionConfig:
    """The action's inputs, from the MLSECOPS_* variables action.yml sets."""
    inputs = Inputs(env)
    summary = inputs.flag("summary", default=True)
    scan = ScanRequest(
        project=inputs.path("path") or Path("."),
        images=inputs.items("images"),
        models=tuple(Path(m) for m in inputs.items("models")),
        fail_on=inputs.text("fail-on") or None,
        ignore_unfixed=inputs.flag("ignore-unfixed"),
        policy=inputs.path("policy"),
        trivy=inputs.text("trivy") or None,
        trivy_cache_dir=inputs.path("trivy-cache-dir"),
        offline=inputs.flag("offline"),
        resolve=inputs.flag("resolve"),
        index_url=inputs.text("index-url") or None,
        baseline=inputs.path("baseline"),
        fail_on_new_only=inputs.flag("fail-on-new-only"),
        workspace=workspace_from_env(env),
    )
    sarif_floor = inputs.text("sarif-severity") or None
    parse_sarif_floor(sarif_floor)  # refused before the scan, not after it
    reports = ReportRequest(
        json_file=inputs.path("json-file"),
        sarif_file=inputs.path("sarif-file"),
        sarif_floor=sarif_floor,
        sarif_category=inputs.text("sarif-category", DEFAULT_CATEGORY),
        summary_file=inputs.path("summary-file") if summary else None,
        annotations=inputs.flag("annotations", default=True),
    )
    return ActionConfig(
        scan=scan,
        reports=reports,
        pr_comment=inputs.flag("pr-comment"),
        github_token=inputs.text("github-token"),
        summary=summary,
    )


def _say(message: str) -> None:
    """Errors as an annotation in the job and as one line on stderr."""
    print(command("error", message, title="mlsecops"))
    print(f"mlsecops: error: {message}", file=sys.stderr)


def main(env: Mapping[str, str]) -> int:
    """Run the scan action; returns the exit code of docs/interface.md."""
    return run_guarded(lambda: run_action(config_from_env(env), context_from_env(env)), _say)


if __name__ == "__main__":
    sys.exit(main(os.environ))
