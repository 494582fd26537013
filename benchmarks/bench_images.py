"""Benchmark: `mlsecops scan --image` of large image tarballs against the `trivy image --input`
it runs. Prints figures; asserts nothing.

Generates a docker-archive (`docker save` layout) with one large layer: site-packages-like
Python source (compressible) and model-like binary blobs (not), then its gzipped copy and an
OCI tarball of the same image. In interleaved rounds it times the bare `trivy image --input`
mlsecops runs (same flags, same cache; an OCI tarball extracted beforehand, untimed, since
Trivy reads OCI layouts only as directories) and the whole `python -m mlsecops scan --image`.
CPU is user+sys of the process tree (RUSAGE_CHILDREN).

    .venv/bin/python benchmarks/bench_images.py [--rounds 5] [--mib 400] [--cases gz,tar,oci]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import io
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlsecops.core.scanners import Scanner  # noqa: E402
from mlsecops.trivy.run import OFFLINE_FLAGS, _image_flags  # noqa: E402
from tests.support.images import DEBIAN_12_OS_RELEASE, dpkg_status  # noqa: E402
from tests.support.trivydb import build_trivy_db_from, synthetic_advisories  # noqa: E402

SITE = "usr/local/lib/python3.11/site-packages"
CREATED = "2024-01-01T00:00:00Z"


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
    tar.addfile(info, io.BytesIO(data))


def write_layer(path: Path, mib: int) -> str:
    """One layer of about `mib` MiB: half Python sources, half random blobs. Its sha256."""
    rng = random.Random(19)
    source = b"".join(
        f"def function_{n}(x, y):\n    return x * {n} + y  # generated\n".encode()
        for n in range(200)
    )
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "etc/os-release", DEBIAN_12_OS_RELEASE.encode())
        _add(tar, "etc/debian_version", b"12.5\n")
        _add(tar, "var/lib/dpkg/status", dpkg_status([("libc6", "glibc", "2.36-9")]).encode())
        for n in range(mib * 64):  # 8 KiB-ish each: half the bytes
            _add(tar, f"{SITE}/pkg{n // 100:04d}/mod{n % 100:02d}.py", source[:8192])
        for n in range(mib // 8):  # 4 MiB each: the other half
            _add(tar, f"opt/models/blob{n:04d}.bin", rng.randbytes(4 * 2**20))
        meta = f"{SITE}/numpy-1.21.0.dist-info/METADATA"
        _add(tar, meta, b"Metadata-Version: 2.1\nName: numpy\nVersion: 1.21.0\n")
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


def docker_archive(work: Path, layer: Path, diff_id: str) -> Path:
    """`docker save` layout around the layer: config, manifest.json, repositories."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": CREATED,
            "config": {"Env": ["PATH=/usr/bin:/bin"]},
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        }
    ).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    manifest = [
        {"Config": config_name, "RepoTags": ["bench/big:1"], "Layers": [f"{diff_id}/layer.tar"]}
    ]
    path = work / "image.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(layer, f"{diff_id}/layer.tar")  # docker save writes the layers first
        _add(tar, config_name, config)
        _add(tar, "manifest.json", json.dumps(manifest).encode())
    return path


def oci_tarball(work: Path, layer: Path, diff_id: str) -> Path:
    """The same image as an OCI image layout in a tar (uncompressed layer blob)."""
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": CREATED,
            "rootfs": {"type": "layers", "diff_ids": [f"sha256:{diff_id}"]},
        }
    ).encode()
    config_hex = hashlib.sha256(config).hexdigest()
    size = layer.stat().st_size
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": f"sha256:{config_hex}",
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": f"sha256:{diff_id}",
                    "size": size,
                }
            ],
        }
    ).encode()
    manifest_hex = hashlib.sha256(manifest).hexdigest()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": f"sha256:{manifest_hex}",
                "size": len(manifest),
            }
        ],
    }
    path = work / "image-oci.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        _add(tar, "oci-layout", b'{"imageLayoutVersion": "1.0.0"}')
        _add(tar, "index.json", json.dumps(index).encode())
        _add(tar, f"blobs/sha256/{manifest_hex}", manifest)
        _add(tar, f"blobs/sha256/{config_hex}", config)
        tar.add(layer, f"blobs/sha256/{diff_id}")
    return path


def trivy_command(trivy: Path, cache: Path, target: Path, out: Path) -> list[str]:
    """The `trivy image --input` mlsecops runs (trivy/run.py), nothing added."""
    scanners = frozenset({Scanner.VULN, Scanner.SECRET})
    return [
        str(trivy), "image", *_image_flags(scanners), "--format", "json", "--output", str(out),
        "--config", "", "--list-all-pkgs", "--show-suppressed", "--cache-dir", str(cache),
        *OFFLINE_FLAGS, "--input", str(target),
    ]  # fmt: skip


def mlsecops_command(cache: Path, project: Path, image: Path, out: Path) -> list[str]:
    """The whole scan of the image (an empty project: no project scan runs)."""
    return [
        sys.executable, "-m", "mlsecops", "scan", str(project), "--image", str(image),
        "--offline", "--trivy-cache-dir", str(cache), "--json", str(out), "--fail-on", "NONE",
        "-q", "--scanners", "vuln,secret",
    ]  # fmt: skip


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree) of one run.

    Run from the temporary directory, never the repository: `python -m` puts its working
    directory first on sys.path, which would shadow a PYTHONPATH=OTHER_CHECKOUT.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    cwd = tempfile.gettempdir()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def summary(values: list[float]) -> str:
    """Median and spread of a list of seconds."""
    return f"{statistics.median(values):6.2f}s ({min(values):.2f}-{max(values):.2f})"


def run_case(
    name: str, sides: dict[str, Callable[[], list[str]]], rounds: int, env: dict[str, str]
) -> None:
    """Interleaved rounds of both sides after a warm-up each; one line per side, the ratios."""
    walls: dict[str, list[float]] = {side: [] for side in sides}
    cpus: dict[str, list[float]] = {side: [] for side in sides}
    for command in sides.values():
        timed(command(), env)
    for _round in range(rounds):
        for side, command in sides.items():
            wall, cpu = timed(command(), env)
            walls[side].append(wall)
            cpus[side].append(cpu)
    for side in sides:
        print(f"  {name:>4} {side:<9} wall {summary(walls[side])}  cpu {summary(cpus[side])}")
    wall_ratio = statistics.median(walls["mlsecops"]) / statistics.median(walls["trivy"])
    cpu_ratio = statistics.median(cpus["mlsecops"]) / statistics.median(cpus["trivy"])
    print(f"  {name:>4} ratio     wall {wall_ratio:.2f}x  cpu {cpu_ratio:.2f}x  (target <= 1.1x)")


def _fresh(db_only: Path, cache: Path, make: Callable[[], list[str]]) -> Callable[[], list[str]]:
    """`make`, after resetting the cache to the DB alone (before the clock starts)."""

    def command() -> list[str]:
        shutil.rmtree(cache, ignore_errors=True)
        shutil.copytree(db_only, cache)
        return make()

    return command


def main() -> int:
    """Build the image, its gzipped and OCI forms and a DB; run each case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mib", type=int, default=400, help="the layer's size (default 400)")
    parser.add_argument("--cases", default="gz,tar,oci")
    parser.add_argument(
        "--fresh-cache",
        action="store_true",
        help="every run starts from a cache holding only the DB (no layer analysed yet)",
    )
    args = parser.parse_args()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    env["PYTHONPATH"] = env.get("PYTHONPATH", str(REPO))  # another checkout: a before/after
    trivy = Path(sys.executable).parent / "trivy"
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        work = Path(tmp)
        db_only, project, out = work / "db-only", work / "project", work / "out.json"
        cache = work / "cache"
        project.mkdir()
        build_trivy_db_from(db_only, synthetic_advisories(200))
        shutil.copytree(db_only, cache)
        diff_id = write_layer(work / "layer.tar", args.mib)
        plain = docker_archive(work, work / "layer.tar", diff_id)
        subprocess.run(["gzip", "-6", "-k", str(plain)], check=True)
        oci = oci_tarball(work, work / "layer.tar", diff_id)
        layout = work / "oci-layout"
        with tarfile.open(oci) as archive:
            archive.extractall(layout, filter="data")
        (work / "layer.tar").unlink()
        sizes = ", ".join(f"{p.name} {p.stat().st_size / 2**20:.0f} MiB" for p in (plain, oci))
        print(f"{sizes}, gzipped {plain.with_suffix('.tar.gz').stat().st_size / 2**20:.0f} MiB")
        state = "empty (a first scan)" if args.fresh_cache else "warm, as on a rerun"
        print(f"{args.rounds} interleaved rounds; Trivy's layer cache {state}")
        inputs = {"gz": plain.with_suffix(".tar.gz"), "tar": plain, "oci": oci}
        for case in args.cases.split(","):
            image = inputs[case]
            reference = layout if case == "oci" else image
            sides: dict[str, Callable[[], list[str]]] = {
                "trivy": functools.partial(trivy_command, trivy, cache, reference, out),
                "mlsecops": functools.partial(mlsecops_command, cache, project, image, out),
            }
            if args.fresh_cache:
                sides = {side: _fresh(db_only, cache, make) for side, make in sides.items()}
            run_case(case, sides, args.rounds, env)
            shutil.rmtree(project, ignore_errors=True)
            project.mkdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
