"""Finding the trivy binary and its DB cache before anything runs."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from mlsecops.errors import ToolError, UsageError

INSTALL_HINT = (
    "install Trivy (https://trivy.dev/latest/getting-started/installation/) "
    "or pass --trivy PATH; the GitHub Action installs a pinned, checksum-verified Trivy itself"
)


def find_trivy(explicit: str | None, *, offline: bool = True) -> Path:
    """The trivy binary: `--trivy PATH`, else the one on PATH, else (online) a verified install.

    The install is Trivy's own release archive at the pinned default version, checked
    against the SHA-256 pinned in this package, kept under mlsecops' own cache dir.
    """
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
    if found is not None:
        return Path(found)
    if offline:
        raise ToolError(
            "trivy not found on PATH (and --offline forbids downloading it)", INSTALL_HINT
        )
    # Imported here: the installer (and requests) is only needed on this path.
    from mlsecops.trivy.install import DEFAULT_BASE_URL, DEFAULT_VERSION, find_or_install

    binary = find_or_install(
        DEFAULT_VERSION,
        mlsecops_cache_dir() / "trivy",
        log=lambda m: print(m, file=sys.stderr),
        warn=lambda m: print(f"mlsecops: warning: {m}", file=sys.stderr),
        # A mirror of Trivy's releases; what it serves is still checked against the pins.
        base_url=os.environ.get("MLSECOPS_TRIVY_DOWNLOAD_URL") or DEFAULT_BASE_URL,
    )
    return binary.path


def mlsecops_cache_dir() -> Path:
    """Where the CLI keeps what it downloads (a verified Trivy)."""
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "mlsecops"


def default_cache_dir() -> Path:
    """Trivy's own default cache dir (Go's os.UserCacheDir) when TRIVY_CACHE_DIR is unset.

    TRIVY_CACHE_DIR is read by trivy/db.py's resolve_cache_dir, the one place that decides.
    """
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "trivy"
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
