"""The composite-step harness, set up for the scan action: a workspace, RUNNER_TEMP, a venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.actions.composite import ActionRun, StandIn, run_composite
from tests.support.trivydb import build_trivy_db

REPO = Path(__file__).resolve().parents[2]
PROJECTS = REPO / "tests" / "fixtures" / "projects"
# The test Trivy is 0.76.0; asking for that version makes the installer take the matching
# trivy on PATH (the documented behaviour) instead of downloading.
TRIVY_VERSION = "0.76.0"
TOKEN = "ghs_test-token-value"  # what `github.token` evaluates to in these runs


# What a pull request could add to the workspace to have its code run by our Python, were
# Python to import from the working directory (`python -m` does, without -P).
HOSTILE_MODULES = ("mlsecops/__init__.py", "pip/__init__.py", "venv.py", "requests/__init__.py")


def plant_hostile_modules(workspace: Path, marker: Path) -> None:
    """Modules that record their import in `marker`: they must never run."""
    payload = f"open({str(marker)!r}, 'a').write(__name__ + '\\n')\n"
    for module in HOSTILE_MODULES:
        target = workspace / module
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(payload)


@pytest.fixture(scope="session")
def hostile_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The action's venv, made once by its own setup step in a workspace holding modules
    named like the ones setup imports (each run links to this venv): (venv, marker)."""
    temp = tmp_path_factory.mktemp("runner-temp-venv")
    workspace = tmp_path_factory.mktemp("hostile-workspace")
    marker = temp / "imported-from-workspace"
    plant_hostile_modules(workspace, marker)
    output = temp / "output"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "RUNNER_TEMP": str(temp),
        "GITHUB_ACTION_PATH": str(REPO),
        "GITHUB_OUTPUT": str(output),
    }
    setup = REPO / "scripts" / "action" / "setup.sh"
    subprocess.run(
        [str(setup)], cwd=workspace, env=env, check=True, capture_output=True, timeout=600
    )
    return temp / "mlsecops-venv", marker


@pytest.fixture(scope="session")
def action_venv(hostile_setup: tuple[Path, Path]) -> Path:
    """The action's venv (see hostile_setup)."""
    return hostile_setup[0]


def pr_event(directory: Path, head_repo: str = "octo/ml-project", number: int = 7) -> Path:
    """A pull_request event payload file, as the runner leaves it at GITHUB_EVENT_PATH."""
    event = directory / "event.json"
    base = {"sha": "1" * 40}
    head = {"repo": {"full_name": head_repo}}
    event.write_text(json.dumps({"pull_request": {"number": number, "base": base, "head": head}}))
    return event


Runner = Callable[..., ActionRun]


@pytest.fixture
def runner(tmp_path: Path, trivy_bin: Path, action_venv: Path) -> Runner:
    """Run action.yml on a copy of a fixture project, offline, with the test DB in the cache."""
    workspace = tmp_path / "workspace"
    runner_temp = tmp_path / "runner-temp"
    workspace.mkdir()
    runner_temp.mkdir()
    (runner_temp / "mlsecops-venv").symlink_to(action_venv)
    build_trivy_db(runner_temp / "mlsecops-trivy-cache")
    bin_dirs = [str(trivy_bin.parent), "/usr/bin", "/bin"]

    def run(
        project: str,
        *,
        env: dict[str, str] | None = None,
        github: dict[str, Any] | None = None,
        stand_ins: dict[str, StandIn] | None = None,
        path_first: Path | None = None,
        **inputs: str,
    ) -> ActionRun:
        if project:
            shutil.copytree(PROJECTS / project, workspace / project, dirs_exist_ok=True)
        defaults = {"path": project or ".", "offline": "true", "trivy-version": TRIVY_VERSION}
        dirs = [str(path_first)] if path_first else []
        return run_composite(
            REPO,
            {**defaults, **inputs},
            workspace=workspace,
            runner_temp=runner_temp,
            extra_env={"PATH": os.pathsep.join(dirs + bin_dirs), **(env or {})},
            stand_ins=stand_ins,
            github={"token": TOKEN, **(github or {})},
        )

    run.workspace = workspace  # type: ignore[attr-defined]
    run.runner_temp = runner_temp  # type: ignore[attr-defined]
    return run
