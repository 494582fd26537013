"""The GitHub Actions run a manifest was made in.

Provenance is part of the manifest digest: it is what ties the manifest to one run, so a
manifest (and model) from another run or repository has a different digest even when the
files are identical. The one function here that reads `GITHUB_*` is given the environment;
nothing else in the integrity core looks at it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass

from mlsecops.errors import UsageError

# Manifest field -> the Actions variable it comes from.
_VARIABLES = {
    "repository": "GITHUB_REPOSITORY",
    "commit": "GITHUB_SHA",
    "workflow_ref": "GITHUB_WORKFLOW_REF",
    "run_id": "GITHUB_RUN_ID",
    "run_attempt": "GITHUB_RUN_ATTEMPT",
}


@dataclass(frozen=True)
class Provenance:
    """Where the manifest was made: repository, commit, workflow ref, run id and attempt."""

    repository: str
    commit: str
    workflow_ref: str
    run_id: str
    run_attempt: str

    def to_dict(self) -> dict[str, str]:
        """The manifest's `provenance` object."""
        return asdict(self)


def provenance_from_environ(environ: Mapping[str, str]) -> Provenance | None:
    """The run's provenance inside GitHub Actions (`GITHUB_ACTIONS=true`), else None."""
    if environ.get("GITHUB_ACTIONS") != "true":
        return None
    values = {name: environ.get(variable, "") for name, variable in _VARIABLES.items()}
    missing = [_VARIABLES[name] for name, value in values.items() if not value]
    if missing:
        raise UsageError(
            f"GITHUB_ACTIONS=true but {', '.join(missing)} is not set",
            "run inside a GitHub Actions job, or unset GITHUB_ACTIONS to hash without provenance",
        )
    return Provenance(**values)
