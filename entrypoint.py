"""The scan action's entrypoint: action inputs (environment) -> config -> core -> exit code.

action.yml passes every input through `env:` as MLSECOPS_<NAME>; nothing here interprets a
result, it only parses strictly (a typo in a boolean is an error, never a silent false).
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path

from mlsecops.actions.scan_action import ActionConfig, run_action
from mlsecops.errors import EXIT_TOOL, MlsecopsError, UsageError
from mlsecops.github.commands import command
from mlsecops.github.context import context_from_env
from mlsecops.reports.sarif import DEFAULT_CATEGORY
from mlsecops.reports.write import ReportRequest, parse_sarif_floor
from mlsecops.scan import ScanRequest

_TRUE = {"true"}
_FALSE = {"false", ""}


def parse_bool(name: str, value: str) -> bool:
    """`true` or `false` (any case); an empty input means false. Anything else is an error."""
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise UsageError(f"input {name}: {value!r} is not a boolean", "write true or false")


def parse_list(value: str) -> tuple[str, ...]:
    """Newline- or space-separated values; quotes keep a path with spaces together."""
    items: list[str] = []
    for line in value.splitlines():
        items += shlex.split(line, comments=True)
    return tuple(items)


def config_from_env(env: Mapping[str, str]) -> ActionConfig:
    """The action's inputs, from the MLSECOPS_* variables action.yml sets."""

    def get(name: str, default: str = "") -> str:
        return env.get(f"MLSECOPS_{name}", default).strip()

    def optional_path(name: str) -> Path | None:
        return Path(get(name)) if get(name) else None

    sarif_file = optional_path("SARIF_FILE")
    summary = parse_bool("summary", get("SUMMARY", "true"))
    scan = ScanRequest(
        project=Path(get("PATH") or "."),
        images=parse_list(get("IMAGES")),
        models=tuple(Path(m) for m in parse_list(get("MODELS"))),
        fail_on=get("FAIL_ON") or None,
        ignore_unfixed=parse_bool("ignore-unfixed", get("IGNORE_UNFIXED")),
        policy=optional_path("POLICY"),
        trivy=get("TRIVY") or None,
        trivy_cache_dir=optional_path("TRIVY_CACHE_DIR"),
        offline=parse_bool("offline", get("OFFLINE")),
        resolve=parse_bool("resolve", get("RESOLVE")),
        index_url=get("INDEX_URL") or None,
        baseline=optional_path("BASELINE"),
        fail_on_new_only=parse_bool("fail-on-new-only", get("FAIL_ON_NEW_ONLY")),
    )
    if get("SARIF_SEVERITY"):
        parse_sarif_floor(get("SARIF_SEVERITY"))  # refused before the scan, not after it
    reports = ReportRequest(
        json_file=optional_path("JSON_FILE"),
        sarif_file=sarif_file,
        sarif_floor=get("SARIF_SEVERITY") or None,
        sarif_category=get("SARIF_CATEGORY") or DEFAULT_CATEGORY,
        summary_file=optional_path("SUMMARY_FILE") if summary else None,
        annotations=parse_bool("annotations", get("ANNOTATIONS", "true")),
    )
    return ActionConfig(
        scan=scan,
        reports=reports,
        pr_comment=parse_bool("pr-comment", get("PR_COMMENT")),
        github_token=get("GITHUB_TOKEN"),
        summary=summary,
    )


def main(env: Mapping[str, str]) -> int:
    try:
        config = config_from_env(env)
        return run_action(config, context_from_env(env))
    except MlsecopsError as error:
        print(command("error", error.one_line(), title="mlsecops"))
        print(f"mlsecops: error: {error.one_line()}", file=sys.stderr)
        return error.exit_code
    except Exception as error:  # a bug: one line, never a silent pass
        print(f"mlsecops: internal error: {type(error).__name__}: {error}", file=sys.stderr)
        return EXIT_TOOL


if __name__ == "__main__":
    sys.exit(main(os.environ))
