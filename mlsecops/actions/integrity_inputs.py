"""The integrity action's inputs: read once from the environment action.yml sets, checked.

Every input reaches Python through `env:` as MLSECOPS_<NAME>; nothing is interpolated into a
script. Booleans are `true` or `false` (any case) and nothing else: a typo must be an error,
never a silent `false` that turns a check off.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from mlsecops.actions.inputs import Inputs
from mlsecops.errors import UsageError
from mlsecops.integrity.manifest import normalize_digest
from mlsecops.integrity.signing import check_key
from mlsecops.paths import absolute_as_given

KEY_VARIABLE = "MLSECOPS_HMAC_KEY"
# What upload-artifact refuses in a name, plus path tricks: the name becomes a directory.
_BAD_ARTIFACT_NAME = re.compile(r'[":<>|*?\r\n\\/]')


@dataclass(frozen=True)
class Config:
    """The action's inputs, checked."""

    mode: str
    artifact_name: str
    model_path: Path | None = None  # generate
    sha256sum: bool = False
    sbom: bool = False  # generate: also the model's CycloneDX document (`hash --sbom`)
    attest: bool = False
    retention_days: int = 0
    expected_digest: str | None = None  # verify
    verify_attestation: bool = False
    signer_workflow: str = ""
    repository: str = ""
    key: bytes | None = None


def read_config(environ: Mapping[str, str]) -> Config:
    """Every input from the environment action.yml set, each refused if malformed."""
    mode = environ.get("MLSECOPS_MODE", "")
    if mode not in ("generate", "verify"):
        raise UsageError(f"mode: {mode!r} is neither 'generate' nor 'verify'")
    name = environ.get("MLSECOPS_ARTIFACT_NAME", "")
    if not name or name in (".", "..") or _BAD_ARTIFACT_NAME.search(name):
        raise UsageError(f"artifact-name: {name!r} is not a usable artifact name")
    key = check_key(environ[KEY_VARIABLE], "hmac-key") if environ.get(KEY_VARIABLE) else None
    if mode == "generate":
        model = environ.get("MLSECOPS_MODEL_PATH", "")
        if not model.strip():
            raise UsageError("model-path is required in generate mode")
        return Config(
            mode,
            name,
            model_path=absolute_as_given(model),
            sha256sum=Inputs(environ).flag("sha256sum"),
            sbom=Inputs(environ).flag("sbom"),
            attest=Inputs(environ).flag("attest"),
            retention_days=_days(environ.get("MLSECOPS_RETENTION_DAYS", "")),
            key=key,
        )
    given = environ.get("MLSECOPS_EXPECTED_DIGEST", "").strip()
    expected = normalize_digest(given)
    if given and expected is None:
        raise UsageError(f"expected-digest: {given!r} is not sha256:<64 hex digits>")
    if not expected and not Inputs(environ).flag("allow-missing-expected-digest"):
        raise UsageError(
            "expected-digest is required in verify mode",
            "pass the generate job's manifest-digest output through needs.<job>.outputs, or set "
            "allow-missing-expected-digest: true to verify against the artifact alone",
        )
    verify_attestation = Inputs(environ).flag("verify-attestation")
    repository = environ.get("GITHUB_REPOSITORY", "")
    if verify_attestation and not repository:
        # `gh attestation verify --repo ""` would fail later with a message about gh, not us.
        raise UsageError(
            "verify-attestation needs GITHUB_REPOSITORY, the repository whose attestations to "
            "check",
            "run inside GitHub Actions, which sets it",
        )
    return Config(
        mode,
        name,
        expected_digest=expected,
        verify_attestation=verify_attestation,
        signer_workflow=environ.get("MLSECOPS_SIGNER_WORKFLOW", "")
        or (_this_workflow(environ) if verify_attestation else ""),
        repository=repository,
        key=key,
    )


def _days(value: str) -> int:
    if not value.strip().isdigit() or int(value) < 1:
        raise UsageError(f"retention-days: {value!r} is not a whole number of days, 1 or more")
    return int(value)


def _this_workflow(environ: Mapping[str, str]) -> str:
    """`[host/]owner/repo/.github/workflows/x.yml`, gh's --signer-workflow form, from this run."""
    workflow = environ.get("GITHUB_WORKFLOW_REF", "").partition("@")[0]
    if not workflow:
        raise UsageError("verify-attestation needs signer-workflow outside GitHub Actions")
    host = urlparse(environ.get("GITHUB_SERVER_URL", "https://github.com")).netloc
    return workflow if host in ("", "github.com") else f"{host}/{workflow}"
