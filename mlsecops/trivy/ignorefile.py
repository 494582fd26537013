"""Which Trivy ignore file applies to a project.

Trivy runs with the project as its working directory, where it reads `.trivyignore` on its
own. `.trivyignore.yaml` (Trivy's richer format: paths, purls, statements, expiry) it reads
only when passed as `--ignorefile`, so we pass it when the project has one. Trivy takes one
ignore file: when both exist the YAML one wins and a note says `.trivyignore` was not read
(reading fewer ignores can only make the gate stricter, never quieter).
"""

from __future__ import annotations

from pathlib import Path

PLAIN = ".trivyignore"
YAML_NAMES = (".trivyignore.yaml", ".trivyignore.yml")


def trivy_ignore_file(project: Path) -> tuple[Path | None, list[str]]:
    """The ignore file to pass with --ignorefile (None: Trivy's default), and notes.

    Every Trivy run of a scan has the project as its working directory, so the path is
    relative to it.
    """
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
