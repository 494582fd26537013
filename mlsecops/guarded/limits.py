"""The kinds of input file, each with a size limit a user can raise through the environment.

Limits sit far above any genuine file of the kind (a lock file of a large monorepo is a few
MB) and low enough that reading and parsing one stays within seconds and a few hundred MB.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

from mlsecops.errors import UsageError

_MIB = 1024 * 1024


class InputKind(enum.Enum):
    """What a file is to us: how to call it in a message, and how big it may be."""

    # value: (the noun used in messages, default limit in bytes, environment variable)
    REQUIREMENTS = ("requirements file", 8 * _MIB, "MLSECOPS_MAX_REQUIREMENTS_BYTES")
    LOCK_FILE = ("lock file", 16 * _MIB, "MLSECOPS_MAX_LOCK_FILE_BYTES")
    CONDA_ENVIRONMENT = ("conda environment file", 1 * _MIB, "MLSECOPS_MAX_CONDA_FILE_BYTES")
    POLICY = ("policy file", 1 * _MIB, "MLSECOPS_MAX_POLICY_BYTES")
    IGNORE_FILE = ("Trivy ignore file", 1 * _MIB, "MLSECOPS_MAX_IGNORE_FILE_BYTES")
    BASELINE = ("baseline report", 128 * _MIB, "MLSECOPS_MAX_BASELINE_BYTES")
    MANIFEST = ("manifest", 256 * _MIB, "MLSECOPS_MAX_MANIFEST_BYTES")
    IMAGE_MANIFEST = ("image manifest.json", 4 * _MIB, "MLSECOPS_MAX_IMAGE_MANIFEST_BYTES")
    # Trivy reads the tarball, not us: the limit only keeps the regular-file check uniform.
    IMAGE_TARBALL = ("image tarball", 1024 * 1024 * _MIB, "MLSECOPS_MAX_IMAGE_TARBALL_BYTES")
    TRIVY_DB_METADATA = ("Trivy DB metadata.json", 64 * 1024, "MLSECOPS_MAX_DB_METADATA_BYTES")
    DB_RECORD = ("Trivy DB record", 64 * 1024, "MLSECOPS_MAX_DB_RECORD_BYTES")
    # What the tools we run write for us to read back: large images give reports of
    # hundreds of MB; past a GiB, parsing alone would hold several GiB of memory.
    TRIVY_REPORT = ("Trivy JSON report", 1024 * _MIB, "MLSECOPS_MAX_TRIVY_REPORT_BYTES")
    PIP_REPORT = ("pip --report output", 64 * _MIB, "MLSECOPS_MAX_PIP_REPORT_BYTES")
    # The runner's webhook payload (GITHUB_EVENT_PATH); GitHub caps payloads at 25 MB.
    GITHUB_EVENT = ("GitHub event payload", 64 * _MIB, "MLSECOPS_MAX_GITHUB_EVENT_BYTES")

    @property
    def noun(self) -> str:
        """How messages call a file of this kind."""
        return str(self.value[0])

    @property
    def default_limit(self) -> int:
        """The size limit in bytes when the environment does not raise it."""
        return int(self.value[1])

    @property
    def variable(self) -> str:
        """The environment variable that sets this kind's size limit, in bytes."""
        return str(self.value[2])


def size_limit(kind: InputKind, environ: Mapping[str, str] | None = None) -> int:
    """The size limit for `kind`: its environment variable when set, else the default."""
    env = os.environ if environ is None else environ
    raw = env.get(kind.variable, "").strip()
    if not raw:
        return kind.default_limit
    if not raw.isdigit() or int(raw) == 0:
        raise UsageError(
            f"{kind.variable}={raw!r} is not a size in bytes",
            f"set it to a whole number of bytes (default {kind.default_limit})",
        )
    return int(raw)
