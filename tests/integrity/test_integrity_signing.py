"""Manifest signatures (HMAC over the canonical bytes): the right key verifies, any edit fails."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.integrity.create import hash_model
from mlsecops.integrity.manifest import Manifest, Signature, parse_manifest
from mlsecops.integrity.signing import check_key, sign, signature_problem
from mlsecops.integrity.verify import verify_model
from tests.integrity.integrity_models import make_hf_model

KEY = b"0f1e2d3c4b5a69788796a5b4c3d2e1f0"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_hf_model(tmp_path / "model")


@pytest.fixture
def signed(model: Path) -> Manifest:
    return sign(hash_model(model, None, jobs=2), KEY)


def test_the_hmac_covers_the_canonical_bytes_and_is_outside_the_digest(
    model: Path, signed: Manifest
) -> None:
    unsigned = hash_model(model, None, jobs=2)
    assert signed.digest() == unsigned.digest()
    assert signed.signature == Signature(
        "hmac-sha256", hmac.new(KEY, unsigned.canonical_bytes(), hashlib.sha256).hexdigest()
    )
    assert parse_manifest(signed.to_json()) == signed


def test_the_right_key_verifies(model: Path, signed: Manifest) -> None:
    verdict = verify_model(model, signed, 2, key=KEY)
    assert verdict.passed and ("HMAC signature", "valid") in verdict.checks


def test_a_signature_nobody_checked_is_pointed_out(model: Path, signed: Manifest) -> None:
    verdict = verify_model(model, signed, 2)
    assert verdict.passed
    assert verdict.checks == (("HMAC signature", "present but NOT checked: no key given"),)


def test_a_wrong_key_fails(model: Path, signed: Manifest) -> None:
    verdict = verify_model(model, signed, 2, key=b"another key of enough length!!")
    assert not verdict.passed
    assert [d.path for d in verdict.manifest] == ["signature"]
    assert "the HMAC does not match" in verdict.manifest[0].detail


def test_a_stripped_signature_fails(model: Path, signed: Manifest) -> None:
    stripped = dataclasses.replace(signed, signature=None)
    assert verify_model(model, stripped, 2).passed  # nothing asked for a signature
    problem = signature_problem(stripped, KEY)
    assert problem is not None and "not signed" in problem
    assert not verify_model(model, stripped, 2, key=KEY).passed


def test_a_manifest_edited_after_signing_fails(signed: Manifest) -> None:
    first = signed.files[0]
    edited = dataclasses.replace(
        signed, files=(dataclasses.replace(first, sha256="0" * 64), *signed.files[1:])
    )
    assert signature_problem(edited, KEY) is not None
    assert signature_problem(signed, KEY) is None


def test_a_key_must_be_long_enough_and_errors_name_where_it_came_from() -> None:
    assert check_key(KEY.decode(), "hmac-key") == KEY
    with pytest.raises(UsageError, match=r"^hmac-key: the key is 6 bytes, fewer than 16"):
        check_key("secret", "hmac-key")
    with pytest.raises(UsageError, match=r"^--key-env K: the key is 0 bytes"):
        check_key("", "--key-env K")
