"""Reading a secret's first characters back from a local image's layer."""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from mlsecops.images.layers import read_prefixes
from tests.support.images import build_docker_archive


def _diff_id(image: Path) -> str:
    """The DiffID of the image's one layer (what Trivy reports as the secret's layer)."""
    with tarfile.open(image) as archive:
        name = next(n for n in archive.getnames() if n.endswith("/layer.tar"))
        data = archive.extractfile(name).read()  # type: ignore[union-attr]
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_the_bytes_at_each_offset_of_each_file(tmp_path: Path) -> None:
    image = build_docker_archive(
        tmp_path / "i.tar",
        extra_files={"app/a.txt": b"0123456789abcdef", "app/b.txt": b"xyzw" * 5000},
    )
    layer = _diff_id(image)
    spots = [(layer, "app/a.txt", 0), (layer, "app/a.txt", 10), (layer, "app/b.txt", 19996)]

    assert read_prefixes(image, spots) == {
        (layer, "app/a.txt", 0): "0123",
        (layer, "app/a.txt", 10): "abcd",
        (layer, "app/b.txt", 19996): "xyzw",
    }


def test_anything_unexpected_gives_no_prefix(tmp_path: Path) -> None:
    image = build_docker_archive(tmp_path / "i.tar", extra_files={"app/a.txt": b"0123456789"})
    layer = _diff_id(image)
    assert read_prefixes(image, [("sha256:" + "0" * 64, "app/a.txt", 0)]) == {}
    assert read_prefixes(image, [(layer, "app/missing.txt", 0)]) == {}
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 100)
    assert read_prefixes(tmp_path / "junk.tar", [(layer, "app/a.txt", 0)]) == {}
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w"):
        pass
    (tmp_path / "empty.tar").write_bytes(empty.getvalue())
    assert read_prefixes(tmp_path / "empty.tar", [(layer, "app/a.txt", 0)]) == {}


def test_a_config_nested_too_deep_gives_no_prefix(tmp_path: Path) -> None:
    """json.loads raises RecursionError (not a ValueError) on deep nesting: caught too."""
    image = build_docker_archive(tmp_path / "i.tar", extra_files={"app/a.txt": b"0123456789"})
    layer = _diff_id(image)
    deep = tmp_path / "deep.tar"
    with tarfile.open(image) as source, tarfile.open(deep, "w") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read() if member.isfile() else b""  # type: ignore[union-attr]
            if member.name == "manifest.json":
                data = b"[" * 50_000 + b"]" * 50_000
            member.size = len(data)
            target.addfile(member, io.BytesIO(data) if member.isfile() else None)
    assert read_prefixes(deep, [(layer, "app/a.txt", 0)]) == {}
