"""integrity/create: `mlsecops hash` lists each file with its size and SHA-256, digested."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.integrity import manifest as manifest_module
from mlsecops.integrity.create import check_outputs, hash_model, write_outputs
from mlsecops.integrity.manifest import parse_manifest
from mlsecops.integrity.provenance import Provenance, provenance_from_environ
from mlsecops.integrity.signing import sign, signature_problem
from mlsecops.schemas import schema_errors
from tests.integrity.integrity_models import HF_FILES, make_hf_model, write

ACTIONS_ENV = {
    "GITHUB_ACTIONS": "true",
    "GITHUB_REPOSITORY": "acme/models",
    "GITHUB_SHA": "0123456789abcdef0123456789abcdef01234567",
    "GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/train.yml@refs/heads/main",
    "GITHUB_RUN_ID": "123456789",
    "GITHUB_RUN_ATTEMPT": "2",
}


def test_every_file_with_its_size_and_sha256_in_canonical_order(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    manifest = hash_model(model, None, jobs=2)
    assert manifest.kind == "directory"
    assert [(e.path, e.size, e.sha256) for e in manifest.files] == sorted(
        (name, len(data), hashlib.sha256(data).hexdigest()) for name, data in HF_FILES.items()
    )
    assert [e.path for e in manifest.files[:2]] == [".gitattributes", ".github/workflows/ci.yml"]
    assert manifest.total_bytes == sum(map(len, HF_FILES.values()))


def test_the_file_is_schema_valid_and_the_digest_is_of_its_canonical_form(tmp_path: Path) -> None:
    manifest = hash_model(make_hf_model(tmp_path / "model"), None, jobs=2)
    data = json.loads(manifest.to_json())
    assert schema_errors(data, "manifest.schema.json") == []
    assert data["schema_version"] == 1 and data["format"] == "mlsecops-model-manifest"
    assert data["algorithm"] == "sha256" and "provenance" not in data
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert manifest.digest() == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert "\u00fcn\u00efc\u00f8d\u00e9" in canonical  # UTF-8, not \u escapes
    again = parse_manifest(manifest.to_json())
    assert again == manifest and again.digest() == manifest.digest()


def test_the_digest_depends_only_on_the_files(tmp_path: Path) -> None:
    first = hash_model(make_hf_model(tmp_path / "one"), None, jobs=1)
    second = hash_model(make_hf_model(tmp_path / "two"), None, jobs=4)
    assert first.digest() == second.digest()
    write(tmp_path / "two" / "config.json", b"{}")
    assert hash_model(tmp_path / "two", None, jobs=2).digest() != first.digest()


def test_the_digest_is_computed_once_per_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = hash_model(make_hf_model(tmp_path / "model"), None, jobs=2)
    built: list[object] = []
    real = manifest_module.canonical_json

    def counting(data: object) -> bytes:
        built.append(data)
        return real(data)

    monkeypatch.setattr(manifest_module, "canonical_json", counting)
    signed = sign(manifest, b"k" * 32)  # one pass for the HMAC (streamed, never kept)
    assert len(built) == 1
    assert signed.digest() == signed.digest() == manifest.digest()
    assert len(built) == 3  # the digest once per manifest, however often it is asked for
    assert signature_problem(signed, b"k" * 32) is None
    assert len(built) == 4  # and one pass per HMAC check
    changed = dataclasses.replace(manifest, files=manifest.files[1:])
    assert changed.digest() != manifest.digest() and len(built) == 5


def test_provenance_is_inside_the_digest(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    provenance = provenance_from_environ(ACTIONS_ENV)
    assert provenance == Provenance(
        repository="acme/models",
        commit="0123456789abcdef0123456789abcdef01234567",
        workflow_ref="acme/models/.github/workflows/train.yml@refs/heads/main",
        run_id="123456789",
        run_attempt="2",
    )
    signed_run = hash_model(model, provenance, jobs=2)
    assert json.loads(signed_run.to_json())["provenance"]["run_id"] == "123456789"
    other_attempt = provenance_from_environ({**ACTIONS_ENV, "GITHUB_RUN_ATTEMPT": "3"})
    assert hash_model(model, other_attempt, jobs=2).digest() != signed_run.digest()
    assert hash_model(model, None, jobs=2).digest() != signed_run.digest()


def test_provenance_only_inside_actions_and_complete() -> None:
    assert provenance_from_environ({"GITHUB_REPOSITORY": "acme/models"}) is None
    with pytest.raises(UsageError, match="GITHUB_RUN_ID is not set"):
        provenance_from_environ({**ACTIONS_ENV, "GITHUB_RUN_ID": ""})


def test_a_single_file_model(tmp_path: Path) -> None:
    model = write(tmp_path / "final_model.onnx", b"\x08\x07onnx-bytes")
    manifest = hash_model(model, None, jobs=2)
    assert manifest.kind == "file"
    assert [(e.path, e.size) for e in manifest.files] == [("final_model.onnx", 12)]


def test_an_empty_directory_is_a_model_with_no_files(tmp_path: Path) -> None:
    (tmp_path / "model" / "empty dir").mkdir(parents=True)
    assert hash_model(tmp_path / "model", None, jobs=2).files == ()


def test_symlinks_are_refused_naming_each_link(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    (model / "nested" / "passwd").symlink_to("/etc/passwd")
    (model / "alias.json").symlink_to("config.json")
    with pytest.raises(UsageError) as caught:
        hash_model(model, None, jobs=2)
    assert "alias.json -> config.json" in caught.value.problem
    assert "nested/passwd -> /etc/passwd" in caught.value.problem


def test_a_symlink_as_the_model_itself_is_refused(tmp_path: Path) -> None:
    make_hf_model(tmp_path / "model")
    (tmp_path / "link").symlink_to(tmp_path / "model")
    with pytest.raises(UsageError, match="symlinks"):
        hash_model(tmp_path / "link", None, jobs=2)


def test_special_files_are_refused(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    os.mkfifo(model / "pipe")
    with pytest.raises(UsageError, match="not regular files: pipe"):
        hash_model(model, None, jobs=2)


@pytest.mark.parametrize("name", ["back\\slash.bin", "new\nline.bin"])
def test_names_a_manifest_cannot_carry_are_refused(tmp_path: Path, name: str) -> None:
    model = make_hf_model(tmp_path / "model")
    write(model / name, b"x")
    with pytest.raises(UsageError, match="names a manifest cannot carry"):
        hash_model(model, None, jobs=2)


def test_hash_writes_nothing_inside_the_model(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(model)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in model.rglob("*")
        }

    before = snapshot()
    manifest_path, sums = tmp_path / "model.mlsecops.json", tmp_path / "model.sha256"
    check_outputs(model, {"--manifest": manifest_path, "--sha256sum": sums})
    write_outputs(hash_model(model, None, jobs=2), manifest_path, sums)
    assert snapshot() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "model",
        "model.mlsecops.json",
        "model.sha256",
    ]


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest = hash_model(make_hf_model(tmp_path / "model"), None, jobs=2)
    out = tmp_path / "out"
    out.mkdir()

    def failing_replace(source: str, target: Path) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(UsageError, match=r"cannot write .*m\.json: No space left on device"):
        write_outputs(manifest, out / "m.json", None)
    assert list(out.iterdir()) == []
    monkeypatch.undo()
    write_outputs(manifest, out / "m.json", None)
    assert [p.name for p in out.iterdir()] == ["m.json"]


def test_outputs_inside_the_model_are_refused(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    single = write(tmp_path / "final.onnx", b"x")
    (tmp_path / "sneaky").symlink_to(model / "nested")
    for target, output in [
        (model, model / "manifest.json"),
        (model, model / "nested" / "deeper" / "m.json"),
        (model, tmp_path / "sneaky" / "m.json"),  # a symlink leading into the model
        (model, model),
        (single, single),
    ]:
        with pytest.raises(
            UsageError, match=f"^manifest {re.escape(str(output))} is inside the model"
        ):
            check_outputs(target, {"manifest": output})
    with pytest.raises(UsageError, match=r"^--manifest and --sha256sum name the same file"):
        check_outputs(
            model, {"--manifest": tmp_path / "m.json", "--sha256sum": tmp_path / "m.json"}
        )
    check_outputs(single, {"manifest": tmp_path / "final.onnx.mlsecops.json"})


def test_the_sha256sum_file_checks_with_coreutils(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    sums = tmp_path / "model.sha256"
    write_outputs(hash_model(model, None, jobs=2), tmp_path / "m.json", sums)
    checked = subprocess.run(
        ["sha256sum", "--check", "--strict", str(sums)], cwd=model, capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "sub dir/\u00fcn\u00efc\u00f8d\u00e9 name.txt: OK" in checked.stdout
    assert checked.stdout.count(": OK") == len(HF_FILES)

    # What coreutils cannot do, and why `verify` exists: it never notices an added file.
    write(model / "added.py", b"import os\n")
    assert subprocess.run(["sha256sum", "-c", "--quiet", str(sums)], cwd=model).returncode == 0
    write(model / "config.json", b"{}")
    failed = subprocess.run(
        ["sha256sum", "-c", str(sums)], cwd=model, capture_output=True, text=True
    )
    assert failed.returncode == 1 and "config.json: FAILED" in failed.stdout


def test_the_sha256sum_file_for_a_single_file(tmp_path: Path) -> None:
    model = write(tmp_path / "final model.onnx", b"onnx")
    sums = tmp_path / "final.sha256"
    write_outputs(hash_model(model, None, jobs=1), tmp_path / "m.json", sums)
    expected = f"{hashlib.sha256(b'onnx').hexdigest()}  final model.onnx\n"
    assert sums.read_text(encoding="utf-8") == expected
    done = subprocess.run(["sha256sum", "-c", str(sums)], cwd=tmp_path, capture_output=True)
    assert done.returncode == 0


@pytest.mark.parametrize("signed", [False, True])
@pytest.mark.parametrize("with_provenance", [False, True])
def test_the_file_is_the_indented_json_of_its_content(
    tmp_path: Path, signed: bool, with_provenance: bool
) -> None:
    # The files array is laid out by hand (json's indenting encoder is slow): byte for byte
    # what json.dumps(indent=2) writes, names needing escapes included.
    model = make_hf_model(
        tmp_path / "model",
        {**HF_FILES, 'quote " and \u2028 sep.txt': b"q", "tab\u00e9\u4e2d\U0001f600.bin": b""},
    )
    provenance = provenance_from_environ(ACTIONS_ENV) if with_provenance else None
    manifest = hash_model(model, provenance, jobs=2)
    if signed:
        manifest = sign(manifest, b"k" * 32)
    text = manifest.to_json()
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    assert parse_manifest(text) == manifest
    assert manifest.canonical_bytes() == manifest_module.canonical_json(manifest.body())
    empty = hash_model(make_hf_model(tmp_path / "empty", {}), provenance, jobs=2)
    assert empty.to_json() == json.dumps(empty.body(), indent=2, ensure_ascii=False) + "\n"
    assert empty.canonical_bytes() == manifest_module.canonical_json(empty.body())
