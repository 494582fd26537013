"""Model files and directories as a Source (no Trivy involved)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.core.source import SourceResult
from mlsecops.modelscan.scanner import scan_models
from mlsecops.paths import display_path


@dataclass(frozen=True)
class ModelScan:
    """The `--model` paths, with the pickle globals the project's policy trusts."""

    paths: tuple[Path, ...]
    allowed_globals: Sequence[str] = ()

    def scan(self) -> SourceResult:
        """Every model finding; each path given is a target."""
        findings = scan_models(self.paths, extra_allowed_globals=self.allowed_globals)
        return SourceResult(tuple(findings), (), tuple(display_path(p) for p in self.paths))
