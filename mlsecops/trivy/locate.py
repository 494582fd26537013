"""Finding the trivy binary and its DB cache before anything runs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from mlsecops.errors import ToolError, UsageError

INSTALL_HINT = (
    "install Trivy (https://trivy.dev/latest/getting-started/installation/) "
    "or pass --trivy PATH; the GitHub Action installs a pinned, checksum-verified Trivy itself"
)


def find_trivy(explicit: str | None) -> Path:
    """The trivy binary: `--trivy PATH` when given, else the one on PATH."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise UsageError(
                f"--trivy {explicit}: no such file", "pass the path of the trivy binary"
            )
        if not os.access(path, os.X_OK):
            raise UsageError(f"--trivy {explicit} is not executable", f"run: chmod +x {explicit}")
        return path
    found = shutil.which("trivy")
    if found is None:
        raise ToolError("trivy not found on PATH", INSTALL_HINT)
    return Path(found)


def default_cache_dir() -> Path:
    """Trivy's own default cache dir, so offline checks look where Trivy will look."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "trivy"


def require_offline_db(cache_dir: Path) -> None:
    """Offline mode never downloads: the DB must already be in the cache dir."""
    db = cache_dir / "db" / "trivy.db"
    if not db.is_file() or not (cache_dir / "db" / "metadata.json").is_file():
        raise ToolError(
            f"no Trivy DB in {cache_dir / 'db'} and --offline forbids downloading one",
            "run once without --offline to download it, or copy db/trivy.db and "
            "db/metadata.json into --trivy-cache-dir",
        )
