"""Issue 15: every class of bad input file, through the real CLI, ends in one line and exit 2.

Each case builds one bad input in an empty project and runs `mlsecops scan` (or `verify`)
as a user would, with a timeout far below a hang: a FIFO is never opened, nothing nests
into a RecursionError, no parser goes quadratic, no error is an internal one. The table in
docs/bad-inputs.md lists these cases with the message each gets.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.runner_log import commands_in
from tests.support.scan_cli import REPO, scan_cli

TIMEOUT = 60  # a hang fails the test in a minute; every case here takes about a second
DEEP = 100_000


def fifo(path: Path) -> None:
    os.mkfifo(path)


def fifo_beside_requirements(path: Path) -> None:
    os.mkfifo(path)
    (path.parent / "requirements.txt").write_text("requests==2.19.1\n")


def device(path: Path) -> None:
    path.symlink_to("/dev/zero")


def text(content: str) -> Callable[[Path], None]:
    return lambda path: path.write_text(content, encoding="utf-8")


def data(content: bytes) -> Callable[[Path], None]:
    return lambda path: path.write_bytes(content)


BILLION_LAUGHS = (
    "version: 1\n"
    + "".join(
        f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 10)}]\n" if i else "x0: &x0 [lol]\n"
        for i in range(9)
    )
    + "fail-on: *x8\n"
)

# (file name in the project, how to make it, words the one-line error must hold)
PROJECT_CASES: dict[str, tuple[str, Callable[[Path], None], tuple[str, ...]]] = {
    # -- non-regular files: refused, never opened
    "requirements-fifo": ("requirements.txt", fifo, ("requirements.txt", "is a FIFO")),
    "requirements-dev-zero": ("requirements.txt", device, ("character device",)),
    "uv-lock-fifo": ("uv.lock", fifo, ("lock file", "is a FIFO")),
    "policy-dir": (".mlsecops.yml", lambda p: p.mkdir(), ("policy file", "is a directory")),
    "policy-fifo": (".mlsecops.yml", fifo, ("policy file", "is a FIFO")),
    "policy-device": (".mlsecops.yml", device, ("policy file", "character device")),
    # (with a requirements file: Trivy runs only when there is something for it to scan)
    "trivyignore-fifo": (".trivyignore", fifo_beside_requirements, ("Trivy ignore file", "FIFO")),
    "environment-fifo": ("environment.yml", fifo, ("conda environment file", "is a FIFO")),
    # -- deep nesting
    "poetry-lock-deep": (
        "poetry.lock",
        text("x = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("poetry.lock", "nested deeper than 64 levels"),
    ),
    "uv-lock-deep": (
        "uv.lock",
        text("x = " + "[" * 5000 + "]" * 5000 + "\n"),
        ("uv.lock", "nested deeper than 64 levels"),
    ),
    "pipfile-lock-deep": (
        "Pipfile.lock",
        text("[" * DEEP + "]" * DEEP),
        ("Pipfile.lock", "nested deeper than 64 levels"),
    ),
    "environment-deep": (
        "environment.yml",
        text("dependencies: " + "[" * DEEP + "]" * DEEP + "\n"),
        ("environment.yml", "nested deeper than 64 levels"),
    ),
    "policy-deep": (
        ".mlsecops.yml",
        text("version: 1\nignore: " + "[" * DEEP + "]" * DEEP + "\n"),
        ("policy file", "nested deeper than 64 levels"),
    ),
    # -- quadratic parser: one dotted key of 10,000 parts (59 KB)
    "uv-lock-long-key": (
        "uv.lock",
        text(".".join(f"k{i}" for i in range(10_000)) + " = 1\n"),
        ("uv.lock:1", "dotted key of more than 32 parts"),
    ),
    # -- YAML alias expansion: 1 KB that expands to 10^8 strings
    "policy-aliases": (
        ".mlsecops.yml",
        text(BILLION_LAUGHS),
        ("policy file", ":2", "aliases and anchors"),
    ),
    # -- types
    "policy-key-types": (
        ".mlsecops.yml",
        text("version: 1\n1: a\nb: c\n"),
        ("policy file", ":2", "mapping key '1' is not text"),
    ),
    # -- decoding and size
    "pipfile-lock-not-utf8": (
        "Pipfile.lock",
        data(b'{"default": {"caf\xe9": {}}}'),
        ("Pipfile.lock", "is not UTF-8 text: byte 0xe9 at offset 17"),
    ),
    "policy-not-utf8": (
        ".mlsecops.yml",
        data(b"version: 1\n# \xff\n"),
        ("policy file", "is not UTF-8 text: byte 0xff at offset 13"),
    ),
}


def assert_one_line(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith("mlsecops: error:"), line
    assert "internal error" not in line and "Traceback" not in proc.stderr
    assert "; to fix: " in line, line
    for word in words:
        assert word in line, (word, line)
    assert commands_in(proc.stdout + proc.stderr) == []
    return line


@pytest.mark.parametrize("case", sorted(PROJECT_CASES))
def test_bad_project_file_is_one_line_and_exit_2(case, trivy_bin, trivy_cache, tmp_path):
    name, make, words = PROJECT_CASES[case]
    project = tmp_path / "project"
    project.mkdir()
    make(project / name)
    proc = scan_cli(trivy_bin, trivy_cache, str(project), cwd=tmp_path, timeout=TIMEOUT)
    assert_one_line(proc, 2, *words)


def test_size_limit_names_the_limit_and_how_to_raise_it(trivy_bin, trivy_cache, tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("requests==2.19.1\n" * 10)
    env = {"MLSECOPS_MAX_REQUIREMENTS_BYTES": "100"}
    proc = scan_cli(trivy_bin, trivy_cache, str(project), env=env, timeout=TIMEOUT)
    assert_one_line(
        proc, 2, "is 170 bytes", "limit of 100 bytes", "set MLSECOPS_MAX_REQUIREMENTS_BYTES"
    )
    env["MLSECOPS_MAX_REQUIREMENTS_BYTES"] = "lots"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), env=env, timeout=TIMEOUT)
    assert_one_line(proc, 2, "MLSECOPS_MAX_REQUIREMENTS_BYTES='lots' is not a size in bytes")


@pytest.mark.parametrize(
    ("flag", "name", "what"),
    [
        ("--policy", "policy.yml", "policy file"),
        ("--baseline", "base.json", "baseline report"),
        ("--image", "image.tar", "image tarball"),
    ],
)
def test_a_flag_naming_a_fifo(trivy_bin, trivy_cache, tmp_path, flag, name, what):
    fifo(tmp_path / name)
    proc = scan_cli(
        trivy_bin, trivy_cache, str(tmp_path), flag, str(tmp_path / name), timeout=TIMEOUT
    )
    assert_one_line(proc, 2, what, "is a FIFO")


def test_deep_baseline_makes_every_finding_new_with_a_note(trivy_bin, trivy_cache, tmp_path):
    # As documented for any unreadable baseline: never a silent pass, never a crash.
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text("requests==2.19.1\n")
    (tmp_path / "base.json").write_text("[" * DEEP + "]" * DEEP)
    proc = scan_cli(
        trivy_bin,
        trivy_cache,
        str(project),
        "--baseline",
        str(tmp_path / "base.json"),
        "--fail-on-new-only",
        timeout=TIMEOUT,
    )
    assert proc.returncode == 1, proc.stderr
    assert "nested deeper than 64 levels: every finding counts as new" in proc.stdout


def _image_tar(path: Path, manifest: object) -> None:
    with tarfile.open(path, "w") as archive:
        raw = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(raw)
        archive.addfile(info, io.BytesIO(raw))


@pytest.mark.parametrize(
    "manifest", [[1], [{"Layers": 5}], [{"Layers": [5]}], {"Layers": []}, []], ids=repr
)
def test_docker_archive_manifest_of_the_wrong_types(trivy_bin, trivy_cache, tmp_path, manifest):
    image = tmp_path / "image.tar"
    _image_tar(image, manifest)
    proc = scan_cli(trivy_bin, trivy_cache, str(tmp_path), "--image", str(image), timeout=TIMEOUT)
    assert_one_line(proc, 2, "image tarball", "manifest.json")


def _verify(model: Path, manifest: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlsecops", "verify", str(model), "--manifest", str(manifest)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=TIMEOUT,
        check=False,
    )


def _hashed(tmp_path: Path) -> tuple[Path, Path]:
    model = tmp_path / "model"
    model.mkdir()
    (model / "weights.bin").write_bytes(b"weights")
    manifest = tmp_path / "manifest.json"
    proc = subprocess.run(
        [sys.executable, "-m", "mlsecops", "hash", str(model), "--manifest", str(manifest)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return model, manifest


def test_manifest_fifo_deep_or_lone_surrogate(tmp_path):
    model, manifest = _hashed(tmp_path)
    good = manifest.read_text(encoding="utf-8")
    assert _verify(model, manifest).returncode == 0
    fifo(tmp_path / "fifo.json")
    assert_one_line(_verify(model, tmp_path / "fifo.json"), 2, "manifest", "is a FIFO")
    manifest.write_text("[" * DEEP + "]" * DEEP)
    assert_one_line(_verify(model, manifest), 2, "nested deeper than 64 levels")
    manifest.write_text(good.replace('"weights.bin"', '"a\\udcff"'))
    assert_one_line(_verify(model, manifest), 2, "not valid Unicode", "\\udcff")


def test_non_utf8_file_names_are_reported_not_a_crash(trivy_bin, trivy_cache, tmp_path):
    from tests.modelscan.modelscan_corpus import reduce_pickle

    project = tmp_path / "project"
    project.mkdir()
    Path(os.fsdecode(bytes(project) + b"/sub\xfe")).mkdir()
    (Path(os.fsdecode(bytes(project) + b"/sub\xfe")) / "requirements.txt").write_text(
        "requests==2.19.1\n"
    )
    Path(os.fsdecode(bytes(project) + b"/mod\xffel.pkl")).write_bytes(reduce_pickle("os", "system"))
    out = tmp_path / "out"
    out.mkdir()
    proc = scan_cli(
        trivy_bin,
        trivy_cache,
        str(project),
        "--model",
        str(project),
        "--json",
        str(out / "r.json"),
        "--sarif",
        str(out / "r.sarif"),
        "--summary",
        str(out / "s.md"),
        cwd=tmp_path,
        timeout=TIMEOUT,
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    assert "mod\\xffel.pkl" in proc.stdout  # the byte shown, not a crash
    report = json.loads((out / "r.json").read_text(encoding="utf-8"))
    targets = {f["target"] for f in report["findings"]}
    assert "project/mod\\xffel.pkl" in targets
    json.loads((out / "r.sarif").read_text(encoding="utf-8"))
    assert "mod\\xffel.pkl" in (out / "s.md").read_text(encoding="utf-8")
