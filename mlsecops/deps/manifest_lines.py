"""Find a package's line in its manifest when Trivy does not say (poetry.lock, uv.lock).

Annotations and SARIF regions point at the line a reviewer must change; a file-level
location makes them land on line 1, which helps nobody.
"""

from __future__ import annotations

import re
from pathlib import Path

from mlsecops.deps.requirements_txt import normalise
from mlsecops.errors import UsageError
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind


class ManifestLines:
    """Caches each manifest's lines; looks packages up by normalised name."""

    def __init__(self) -> None:
        self._files: dict[Path, dict[str, int]] = {}

    def line_of(self, manifest: Path, package: str) -> int | None:
        if manifest not in self._files:
            self._files[manifest] = _index(manifest)
        return self._files[manifest].get(normalise(package))


# `name = "pillow"` in TOML locks, `"pillow": {` in Pipfile.lock, `pillow==` in requirements.
_PATTERNS = (
    re.compile(r'^\s*name\s*=\s*"(?P<name>[A-Za-z0-9._-]+)"'),
    re.compile(r'^\s*"(?P<name>[A-Za-z0-9._-]+)"\s*:\s*\{'),
    re.compile(r"^\s*(?P<name>[A-Za-z0-9._-]+)\s*(\[[^\]]*\])?\s*(==|>=|~=|<=|!=|<|>|===)"),
)


def _index(manifest: Path) -> dict[str, int]:
    lines: dict[str, int] = {}
    try:
        text = read_text(manifest, InputKind.LOCK_FILE, errors="replace")
    except UsageError:  # discovery refused it already; no lines is all this can add
        return lines
    for number, line in enumerate(text.splitlines(), start=1):
        for pattern in _PATTERNS:
            match = pattern.match(line)
            if match:
                lines.setdefault(normalise(match["name"]), number)
                break
    return lines
