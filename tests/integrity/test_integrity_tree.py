"""integrity/tree: a model's files listed and opened without ever following a symlink."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.integrity.tree import ModelRoot
from tests.integrity.integrity_models import make_hf_model, write


def test_scan_lists_every_file_hidden_and_nested_and_nothing_is_followed(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    outside = write(tmp_path / "outside" / "secret.txt", b"secret")
    (model / "empty dir").mkdir()
    (model / "link-to-file").symlink_to(outside)
    (model / "nested" / "link-to-dir").symlink_to(outside.parent)
    os.mkfifo(model / "pipe")
    with ModelRoot(model) as root:
        tree = root.scan()
    assert tree.kind == "directory"
    assert set(tree.files) == {
        "config.json",
        "model-00001-of-00002.safetensors",
        "model-00002-of-00002.safetensors",
        "model.safetensors.index.json",
        "tokenizer.json",
        "special_tokens_map.json",
        ".gitattributes",
        ".github/workflows/ci.yml",
        "sub dir/\u00fcn\u00efc\u00f8d\u00e9 name.txt",
        "nested/a/b/c/deep.txt",
        "empty.bin",
    }
    assert tree.files["empty.bin"] == 0
    assert tree.files["model-00001-of-00002.safetensors"] == 300_000
    assert tree.symlinks == {
        "link-to-file": str(outside),
        "nested/link-to-dir": str(outside.parent),
    }
    assert tree.others == {"pipe": "a FIFO"}
    assert "empty dir" in tree.directories and "nested/a/b/c" in tree.directories
    assert not any("secret" in path for path in tree.files)


def test_a_single_file_model_is_its_name(tmp_path: Path) -> None:
    model = write(tmp_path / "final_model.onnx", b"onnx")
    write(tmp_path / "sibling.txt", b"not part of the model")
    with ModelRoot(model) as root:
        tree = root.scan()
    assert (tree.kind, tree.files) == ("file", {"final_model.onnx": 4})


def test_a_symlink_given_as_the_model_is_seen_not_followed(tmp_path: Path) -> None:
    target = write(tmp_path / "real.onnx", b"onnx")
    (tmp_path / "model.onnx").symlink_to(target)
    with ModelRoot(tmp_path / "model.onnx") as root:
        tree = root.scan()
    assert tree.files == {} and tree.symlinks == {"model.onnx": str(target)}


def test_open_file_refuses_to_leave_the_root(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    write(tmp_path / "secret.txt", b"secret")
    with ModelRoot(model) as root:
        for name in ("../secret.txt", "/etc/passwd", "nested/../../secret.txt", ""):
            with pytest.raises(UsageError, match="refusing to open"):
                root.open_file(name)


def test_open_file_never_follows_a_symlink_file_or_parent(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    outside = write(tmp_path / "outside" / "secret.txt", b"secret")
    (model / "link.txt").symlink_to(outside)
    (model / "linkdir").symlink_to(outside.parent)
    with ModelRoot(model) as root:
        with pytest.raises(UsageError, match=r"cannot read link\.txt"):
            root.open_file("link.txt")
        with pytest.raises(UsageError, match="cannot read linkdir"):
            root.open_file("linkdir/secret.txt")


def test_a_missing_model_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or directory"):
        ModelRoot(tmp_path / "nope")


def test_an_unreadable_directory_is_a_usage_error(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "model")
    (model / "locked").mkdir()
    (model / "locked").chmod(0)
    try:
        if os.access(model / "locked", os.R_OK):
            pytest.skip("running as root: permissions are not enforced")
        with ModelRoot(model) as root, pytest.raises(UsageError, match="cannot read locked"):
            root.scan()
    finally:
        (model / "locked").chmod(0o755)
