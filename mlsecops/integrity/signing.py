"""HMAC-SHA256 of the manifest, with a key from a secret, checked in constant time.

A digest alone proves only that the manifest is the one whose digest you hold; the HMAC proves
that someone with the key wrote it, so write access to the artifact store is not enough to
forge one. It signs the same canonical bytes the digest covers (provenance included).
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

from mlsecops.errors import UsageError
from mlsecops.integrity.manifest import Manifest, Signature

ALGORITHM = "hmac-sha256"
MIN_KEY_BYTES = 16  # shorter keys are guessable offline from any signed manifest


def check_key(value: str, label: str) -> bytes:
    """The HMAC key `value` as UTF-8 bytes, refused when short; `label` names where it came
    from in the message (`--key-env VAR` for the CLI, `hmac-key` for the action)."""
    key = value.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise UsageError(
            f"{label}: the key is {len(key)} bytes, fewer than {MIN_KEY_BYTES}",
            "use a random key, e.g. `openssl rand -hex 32`",
        )
    return key


def sign(manifest: Manifest, key: bytes) -> Manifest:
    """`manifest` with its HMAC signature set."""
    return dataclasses.replace(manifest, signature=Signature(ALGORITHM, _mac(manifest, key)))


def signature_problem(manifest: Manifest, key: bytes) -> str | None:
    """Why the manifest's signature does not prove `key` signed it, or None when it does."""
    if manifest.signature is None:
        return "the manifest is not signed, but a key was given (signature stripped?)"
    if manifest.signature.algorithm != ALGORITHM:
        return f"unsupported signature algorithm {manifest.signature.algorithm!r}"
    if not hmac.compare_digest(_mac(manifest, key), manifest.signature.value):
        return (
            "the HMAC does not match: the manifest was changed, or it was signed with another key"
        )
    return None


def _mac(manifest: Manifest, key: bytes) -> str:
    mac = hmac.new(key, digestmod=hashlib.sha256)
    for chunk in manifest.canonical_chunks():  # streamed: never the whole manifest at once
        mac.update(chunk)
    return mac.hexdigest()
