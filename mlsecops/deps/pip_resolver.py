"""pip as a resolver: what `pip install` would pick for some requirements, installing nothing.

`pip install --dry-run --ignore-installed --report` resolves the whole tree for the running
interpreter. It is handed requirement lines naming index projects only (deps/resolve.py
drops local paths, VCS links and URLs), from an empty working directory, and with
`--only-binary=:all:` unless the user allowed source builds: reading an sdist's metadata
runs its build backend, which is code from wherever the sdist came from.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from mlsecops.deps.listing import normalise
from mlsecops.deps.requirements_txt import parse_requirement
from mlsecops.errors import ToolError
from mlsecops.guarded.json_text import load_tool_json
from mlsecops.guarded.limits import InputKind

PIP_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Resolved:
    """One package of the resolved tree."""

    name: str
    version: str
    requested: bool  # named in the requirements (or a file they include)
    requires: tuple[str, ...] = ()  # normalised names of the packages it depends on

    @property
    def key(self) -> str:
        """The normalised name."""
        return normalise(self.name)


@dataclass(frozen=True)
class Resolution:
    """What the resolver picked, and for which Python."""

    packages: tuple[Resolved, ...]
    python: str


class ResolveFailed(Exception):
    """The resolver could not resolve these requirements; `reason` says why, in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Resolver(Protocol):
    """Resolves requirement lines (and constraint lines) to one version per package."""

    def resolve(self, lines: Sequence[str], constraints: Sequence[str]) -> Resolution:
        """The tree; raises ResolveFailed when these requirements cannot be resolved."""
        ...


@dataclass(frozen=True)
class PipResolver:
    """The real resolver: `python -m pip install --dry-run --report`."""

    index_url: str | None = None
    allow_source_builds: bool = False
    python: str = sys.executable
    timeout: int = PIP_TIMEOUT_SECONDS

    def resolve(self, lines: Sequence[str], constraints: Sequence[str]) -> Resolution:
        """See the module docstring; pip's own failure is ResolveFailed, no pip a ToolError."""
        with tempfile.TemporaryDirectory(prefix="mlsecops-pip-") as tmp:
            work = Path(tmp)
            (work / "requirements.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
            (work / "constraints.txt").write_text("\n".join(constraints) + "\n", "utf-8")
            report = work / "report.json"
            proc = self._run(work, report)
            if proc.returncode != 0:
                raise ResolveFailed(_pip_error(proc.stderr))
            data = load_tool_json(
                report,
                InputKind.PIP_REPORT,
                "use pip 22.2 or newer (`python -m pip install -U pip`)",
            )
        return _resolution(data)

    def _run(self, work: Path, report: Path) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        if self.index_url:
            # Through the environment, not argv: an index URL may carry a token.
            env["PIP_INDEX_URL"] = self.index_url
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        command = [
            self.python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet",
            "--no-input", "--prefer-binary", "--report", str(report),
            "-r", str(work / "requirements.txt"), "-c", str(work / "constraints.txt"),
        ]  # fmt: skip
        if not self.allow_source_builds:
            command.append("--only-binary=:all:")
        try:
            return subprocess.run(
                command,
                cwd=work,  # never the project: nothing relative can reach its files
                env=env,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise ResolveFailed(f"pip did not finish within {self.timeout}s") from exc
        except OSError as exc:
            raise ToolError(f"cannot run {self.python} -m pip: {exc}", "install pip") from exc


def _pip_error(stderr: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["no message"])[-1].removeprefix("ERROR:").strip()


def _resolution(data: Any) -> Resolution:
    packages = []
    items = data.get("install") if isinstance(data, dict) else None
    for item in items if isinstance(items, list) else []:
        metadata = item.get("metadata") if isinstance(item, dict) else None
        if not isinstance(metadata, dict) or not metadata.get("name"):
            continue
        requires = []
        for text in metadata.get("requires_dist") or []:
            requirement = parse_requirement(str(text))
            if requirement is not None:
                requires.append(requirement.key)
        packages.append(
            Resolved(
                name=str(metadata["name"]),
                version=str(metadata.get("version", "")),
                requested=bool(item.get("requested")),
                requires=tuple(requires),
            )
        )
    environment = data.get("environment") if isinstance(data, dict) else None
    python = ""
    if isinstance(environment, dict):
        python = str(environment.get("python_full_version") or environment.get("python_version"))
    return Resolution(tuple(packages), python or sys.version.split()[0])
