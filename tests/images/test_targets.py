"""What `--image` names, decided before any scanner runs, and what reading it costs."""

from __future__ import annotations

import gzip
import io
import json
import random
import tarfile
from pathlib import Path

import pytest

from mlsecops.errors import UsageError
from mlsecops.images.targets import ImageSource, classify_image
from tests.support.images import build_docker_archive, build_oci_tarball
from tests.support.scan_cli import scan_cli

IMAGE = {"python_packages": [("requests", "2.19.1")]}


def _repack(source: Path, target: Path, *, drop: str = "", first: str = "") -> Path:
    """`source`'s members into gzipped `target`: `drop` left out, `first` moved to the front."""
    with tarfile.open(source) as archive:
        members = [(m, archive.extractfile(m)) for m in archive.getmembers() if m.name != drop]
        members.sort(key=lambda pair: not pair[0].name.startswith(first) if first else False)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
            for member, data in members:
                out.addfile(member, data)
    target.write_bytes(gzip.compress(buffer.getvalue(), mtime=0))
    return target


def test_a_gzipped_docker_save_archive_is_told_by_its_first_header(tmp_path: Path) -> None:
    blob = {"opt/model.bin": random.Random(7).randbytes(2 * 2**20)}  # not compressible
    whole = build_docker_archive(tmp_path / "i.tar.gz", gzip=True, extra_files=blob, **IMAGE)
    data = whole.read_bytes()
    # Cut off its end: were the archive read through here, it would be refused as corrupt.
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(data[: len(data) // 2])
    assert classify_image(str(cut)).source is ImageSource.DOCKER_ARCHIVE
    assert classify_image(str(whole)).source is ImageSource.DOCKER_ARCHIVE


def test_what_the_first_header_could_not_check_is_checked_when_trivy_refuses_it(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    plain = build_docker_archive(tmp_path / "image.tar", **IMAGE)
    broken = _repack(plain, tmp_path / "no-layer.tar.gz", drop=_layer_name(plain))
    assert classify_image(str(broken)).checked_in_full is False
    blob = {"opt/model.bin": random.Random(7).randbytes(2**20)}  # not compressible
    whole = build_docker_archive(tmp_path / "i.tar.gz", gzip=True, extra_files=blob, **IMAGE)
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    assert classify_image(str(cut)).checked_in_full is False
    for bad, reason in ((broken, "not found"), (cut, "corrupt or not a tar archive")):
        proc = scan_cli(trivy_bin, trivy_cache, str(tmp_path), "--image", str(bad), timeout=120)
        # Never a pass, and the same exit and reason as a tarball read in full up front.
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert reason in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr


def test_other_gzipped_tarballs_are_read_through_once_and_checked(tmp_path: Path) -> None:
    plain = build_docker_archive(tmp_path / "image.tar", **IMAGE)
    layer = _layer_name(plain)
    # manifest.json first: no ID-named first member, so the whole archive is indexed.
    ok = _repack(plain, tmp_path / "ok.tar.gz", first="manifest.json")
    assert classify_image(str(ok)).source is ImageSource.DOCKER_ARCHIVE
    missing = _repack(plain, tmp_path / "missing.tar.gz", drop=layer, first="manifest.json")
    with pytest.raises(UsageError, match="not found"):
        classify_image(str(missing))
    oci = build_oci_tarball(tmp_path / "oci.tar", **IMAGE)
    gz_oci = _repack(oci, tmp_path / "oci.tar.gz")
    assert classify_image(str(gz_oci)).source is ImageSource.OCI_TARBALL


def _layer_name(archive: Path) -> str:
    with tarfile.open(archive) as tar:
        member = tar.extractfile("manifest.json")
        assert member is not None
        layers: list[str] = json.loads(member.read())[0]["Layers"]
    return layers[0]
