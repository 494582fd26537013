"""A few bytes of files inside an image's layers: the first characters of a secret Trivy found.

Trivy says which layer (its DiffID), which file and at which byte a secret starts, and masks
the rest. For an image given as a docker-archive or an OCI layout (not a registry
reference), the layer is right here: each layer holding a secret is streamed once, and
only the SHOWN bytes at each offset are kept. Anything unexpected (an odd archive, a
missing member) gives no prefix: the redacted form then shows the length alone.
"""

from __future__ import annotations

import json
import tarfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from mlsecops.secretscan.redact import SHOWN

# (layer DiffID, path inside the image without its leading "/", byte offset)
Spot = tuple[str, str, int]


def read_prefixes(image: Path, spots: Iterable[Spot]) -> dict[Spot, str]:
    """The first SHOWN characters at each spot that can be read ({} when none can)."""
    wanted: dict[str, list[Spot]] = defaultdict(list)
    for spot in spots:
        wanted[spot[0]].append(spot)
    if not wanted:
        return {}
    try:
        if image.is_dir():
            return _from_oci_layout(image, wanted)
        return _from_docker_archive(image, wanted)
    # RecursionError: json.loads on a manifest or config nested thousands deep.
    except (
        OSError,
        tarfile.TarError,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        EOFError,
        RecursionError,
    ):
        return {}


def _from_docker_archive(image: Path, wanted: dict[str, list[Spot]]) -> dict[Spot, str]:
    found: dict[Spot, str] = {}
    with tarfile.open(image, "r:*") as archive:
        manifest = _json(archive.extractfile("manifest.json"))[0]
        config = _json(archive.extractfile(manifest["Config"]))
        layers = dict(zip(config["rootfs"]["diff_ids"], manifest["Layers"], strict=True))
        for diff_id, spots in wanted.items():
            if diff_id in layers:
                found |= _read_layer(archive.extractfile(layers[diff_id]), spots)
    return found


def _from_oci_layout(layout: Path, wanted: dict[str, list[Spot]]) -> dict[Spot, str]:
    blobs = layout / "blobs"
    index = _json((layout / "index.json").open("rb"))
    manifest = _json(_blob(blobs, index["manifests"][0]["digest"]))
    config = _json(_blob(blobs, manifest["config"]["digest"]))
    digests = [layer["digest"] for layer in manifest["layers"]]
    layers = dict(zip(config["rootfs"]["diff_ids"], digests, strict=True))
    found: dict[Spot, str] = {}
    for diff_id, spots in wanted.items():
        if diff_id in layers:
            found |= _read_layer(_blob(blobs, layers[diff_id]), spots)
    return found


def _blob(blobs: Path, digest: str) -> IO[bytes]:
    algorithm, _, value = digest.partition(":")
    if not value.isalnum() or not algorithm.isalnum():
        raise ValueError(f"odd digest {digest!r}")
    return (blobs / algorithm / value).open("rb")


def _json(handle: IO[bytes] | None) -> Any:
    if handle is None:
        raise KeyError("not a regular file")
    with handle:
        return json.loads(handle.read(1 << 20))


def _read_layer(handle: IO[bytes] | None, spots: list[Spot]) -> dict[Spot, str]:
    """One pass over a layer (a tar, gzipped or not): SHOWN bytes at each spot's offset."""
    if handle is None:
        return {}
    by_path: dict[str, list[Spot]] = defaultdict(list)
    for spot in spots:
        by_path[spot[1]].append(spot)
    found: dict[Spot, str] = {}
    with handle, tarfile.open(fileobj=handle, mode="r|*") as layer:
        for member in layer:
            name = member.name.removeprefix("./")
            if name not in by_path or not member.isfile():
                continue
            data = layer.extractfile(member)
            if data is None:
                continue
            position = 0
            for spot in sorted(by_path[name], key=lambda s: s[2]):
                position += _skip(data, spot[2] - position)
                head = data.read(SHOWN)
                position += len(head)
                found[spot] = head.decode("ascii", "replace")
    return found


def _skip(data: IO[bytes], count: int) -> int:
    """Read and drop `count` bytes (a stream of a layer cannot seek), a chunk at a time."""
    skipped = 0
    while skipped < count:
        chunk = data.read(min(count - skipped, 1 << 20))
        if not chunk:
            break
        skipped += len(chunk)
    return skipped
