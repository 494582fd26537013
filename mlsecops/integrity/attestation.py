"""Check the GitHub artifact attestation of a manifest with `gh attestation verify`.

The attestation (made at generate time by actions/attest-build-provenance) is signed by
Sigstore with the identity of the workflow that ran; checking it with `--signer-workflow`
proves the manifest came from that workflow in that repository, which neither the artifact
store nor a stolen HMAC key can fake.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from mlsecops.errors import ToolError
from mlsecops.integrity.relpath import show

TIMEOUT_SECONDS = 300


def attestation_problem(
    manifest: Path, repository: str, signer_workflow: str, gh: str = "gh"
) -> str | None:
    """Why the manifest's attestation does not check out, or None when it does."""
    command = [gh, "attestation", "verify", str(manifest), "--repo", repository]
    command += ["--signer-workflow", signer_workflow]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False
        )
    except FileNotFoundError as exc:
        raise ToolError(
            f"{gh} not found", "install the GitHub CLI (it is on hosted runners)"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise ToolError(f"gh attestation verify took over {TIMEOUT_SECONDS} s") from exc
    if done.returncode == 0:
        return None
    lines = [line.strip() for line in (done.stderr + done.stdout).splitlines() if line.strip()]
    # gh ends with the reason, after a line or two of context: keep the tail, on one line.
    reason = " | ".join(show(line) for line in lines[-3:]) or f"exit code {done.returncode}"
    return f"gh attestation verify failed: {reason}"
