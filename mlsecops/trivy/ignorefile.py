"""Which Trivy ignore file applies to a project.

Trivy runs with the project as its working directory, where it reads `.trivyignore` on its
own. `.trivyignore.yaml` (Trivy's richer format: paths, purls, statements, expiry) it reads
only when passed as `--ignorefile`, so we pass it when the project has one. Trivy takes one
ignore file: when both exist the YAML one wins and a note says `.trivyignore` was not read
(reading fewer ignores can only make the gate stricter, never quieter).
"""

from __future__ import annotations

import os
from pathlib import Path

from mlsecops.guarded.files import check_regular
from mlsecops.guarded.limits import InputKind

PLAIN = ".trivyignore"
YAML_NAMES = (".trivyignore.yaml", ".trivyignore.yml")


def trivy_ignore_file(project: Path) -> tuple[Path | None, list[str]]:
    """The ignore file to pass with --ignorefile (None: Trivy's default), and notes.

    Every Trivy run of a scan has the project as its working directory, so the path is
    relative to it.
    """
    # Trivy opens these itself: one that is a FIFO would hang it, a device or a directory
    # would be a user's ignore list silently not applied. Refused first, as any input file.
    for name in (PLAIN, *YAML_NAMES):
        if os.path.lexists(project / name):
            check_regular(project / name, InputKind.IGNORE_FILE)
    yaml_file = next((project / n for n in YAML_NAMES if (project / n).is_file()), None)
    if yaml_file is None:
        return None, []
    notes = []
    if (project / PLAIN).is_file():
        notes.append(
            f"{PLAIN} was not read: Trivy takes one ignore file and {yaml_file.name} is used; "
            f"merge the two into {yaml_file.name}."
        )
    # Relative: Trivy runs in the project, and names the file in each suppression's reason.
    return Path(yaml_file.name), notes
