"""Just enough version ordering to pick the smallest upgrade, without a packaging dependency.

Splits on separators into number/text parts, so 2.20.0 > 2.3.1 and 2.36-9+deb12u3 > 2.36-9.
Good for choosing among fixed versions Trivy lists; not a full PEP 440 / Debian comparator.
"""

from __future__ import annotations

import re

_PART = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key: numbers compare as numbers; text sorts before numbers (1.0rc1 < 1.0.1)."""
    return tuple(
        (1, int(part)) if part.isdigit() else (0, part.lower()) for part in _PART.findall(version)
    )


def fixed_versions(text: str) -> list[str]:
    """Trivy lists one fixed version per release line, comma-separated."""
    return [v.strip() for v in text.split(",") if v.strip()]


def minimum_fix(installed: str, fixed: str) -> str:
    """The smallest listed fixed version above `installed` ('' when none is)."""
    above = [v for v in fixed_versions(fixed) if version_key(v) > version_key(installed)]
    return min(above, key=version_key) if above else ""
