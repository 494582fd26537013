"""Installing Trivy's own release, pinned and checksum-verified: the part attackers aim at.

In March 2026 the tags of aquasecurity/trivy-action and setup-trivy were force-pushed to
malicious commits (trivy-action #541). So this action never runs someone else's installer:
it downloads Trivy's release archive itself and refuses it unless its SHA-256 matches a
checksum pinned in this repository (mlsecops/data/trivy-checksums.json) for the default
version, or the release's own checksums file for a version the user asks for.

The binary lands at `<install_dir>/<version>/<os>-<arch>/trivy` (Trivy's own names, e.g.
`0.75.0/Linux-64bit/trivy`), beside the verified archive it came from: the action caches
that directory keyed by the same triple. Whatever can write that cache could swap the
binary, so a cached entry is trusted on NO run by its presence: before anything of it is
executed, the archive's SHA-256 is checked against the pin again (or the release's checksums
file, for a version not pinned here), and the binary's SHA-256 against the `trivy` member of
that archive. A mismatch deletes the entry, warns, and downloads afresh (`verify_cached`).

Command line, for the action's composite step (the binary's path is the last stdout line):

    python -m mlsecops.trivy.install --version 0.75.0 --dir "$RUNNER_TEMP/trivy"
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import stat
import subprocess
import tarfile
import tempfile
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TypeVar

import requests

from mlsecops.errors import ToolError, UsageError

DEFAULT_BASE_URL = "https://github.com/aquasecurity/trivy/releases/download"
CHECKSUMS_RESOURCE = "trivy-checksums.json"
SUPPORTED_PLATFORMS = "Linux or macOS on x86_64 (amd64) or arm64 (aarch64)"

# Trivy's archives are ~50 MB and the binary ~150 MB; the caps only stop a hostile or broken
# server from filling the runner's disk before the checksum gets a say.
MAX_ARCHIVE_BYTES = 1 << 30
MAX_BINARY_BYTES = 1 << 30
_CHUNK = 1 << 20

# Trivy's release versions; anything else would end up in a URL and a directory name.
_VERSION = re.compile(r"v?(?P<version>\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)")
_REPORTED_VERSION = re.compile(r"^Version:\s*v?(?P<version>\S+)\s*$", re.MULTILINE)
_SHA256 = re.compile(r"[0-9a-f]{64}")
_INCOMPLETE_READ = re.compile(r"IncompleteRead\((?P<got>\d+) bytes read")
# Keys are lower-cased `platform.system()` / `platform.machine()`; values are Trivy's names.
_OS_NAMES = {"linux": "Linux", "darwin": "macOS"}
_ARCH_NAMES = {"x86_64": "64bit", "amd64": "64bit", "arm64": "ARM64", "aarch64": "ARM64"}

_T = TypeVar("_T")


@dataclass(frozen=True)
class Platform:
    """An OS/arch pair in the names Trivy's release archives use."""

    os: str  # "Linux" | "macOS"
    arch: str  # "64bit" | "ARM64"

    @property
    def key(self) -> str:
        """`Linux-64bit`: the archive name's suffix and the install dir's last part."""
        return f"{self.os}-{self.arch}"


@dataclass(frozen=True)
class Retry:
    """How hard to try: `attempts` in all, waiting first_delay, 2x, 4x... in between."""

    attempts: int = 4
    first_delay: float = 1.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class TrivyBinary:
    """A trivy binary that reports the requested version, and where it came from."""

    path: Path
    version: str
    source: str  # "PATH" | "install dir" | "download"


class _Transient(Exception):
    """A failure worth another attempt: connection trouble, 5xx, 429, a short read."""


class _NotFound(Exception):
    """HTTP 404: the release (or the asset) does not exist; retrying cannot help."""


def detect_platform(system: str | None = None, machine: str | None = None) -> Platform:
    """The runner's platform in Trivy's names; UsageError where Trivy's archive is not offered."""
    system = platform.system() if system is None else system
    machine = platform.machine() if machine is None else machine
    os_name = _OS_NAMES.get(system.lower())
    arch = _ARCH_NAMES.get(machine.lower())
    if os_name is None or arch is None:
        raise UsageError(
            f"cannot install Trivy on {system or 'an unknown OS'} {machine or 'unknown'}: "
            f"supported are {SUPPORTED_PLATFORMS}",
            "run the job on a Linux or macOS runner (ubuntu-latest, macos-latest), "
            "or install Trivy yourself and pass --trivy PATH",
        )
    return Platform(os_name, arch)


def load_pins() -> tuple[str, dict[str, str]]:
    """The default version and the pinned SHA-256 of each archive, by archive file name."""
    text = resources.files("mlsecops").joinpath("data", CHECKSUMS_RESOURCE).read_text("utf-8")
    data = json.loads(text)
    return str(data["default_version"]), {str(k): str(v) for k, v in data["sha256"].items()}


DEFAULT_VERSION, PINNED_SHA256 = load_pins()


def normalize_version(text: str) -> str:
    """`v0.75.0` or `0.75.0` -> `0.75.0`; an empty string means the pinned default."""
    text = text.strip()
    if not text:
        return DEFAULT_VERSION
    match = _VERSION.fullmatch(text)
    if match is None:
        raise UsageError(
            f"trivy-version {text!r} is not a Trivy release version",
            f"give one like {DEFAULT_VERSION} (see https://github.com/aquasecurity/trivy/releases)",
        )
    return match["version"]


def archive_name(version: str, target: Platform) -> str:
    """The release asset's file name, e.g. `trivy_0.75.0_Linux-64bit.tar.gz`."""
    return f"trivy_{version}_{target.key}.tar.gz"


def install_path(install_dir: Path, version: str, target: Platform) -> Path:
    """Where `install` puts the binary: `<install_dir>/<version>/<os>-<arch>/trivy`."""
    return install_dir / version / target.key / "trivy"


def reported_version(binary: Path) -> str | None:
    """What `binary --version` says it is, or None when it does not run or say."""
    return _probe_version(binary)[0]


def install(
    version: str,
    install_dir: Path,
    *,
    target: Platform | None = None,
    base_url: str = DEFAULT_BASE_URL,
    pins: Mapping[str, str] | None = None,
    retry: Retry | None = None,
    timeout: float = 60.0,
) -> Path:
    """Download, verify and unpack Trivy `version`; return the installed binary's path.

    The archive's SHA-256 must match `pins` (default: the checksums pinned in this repo)
    or, for a version not pinned there, the release's `trivy_<V>_checksums.txt`. Only the
    `trivy` member is unpacked, and only a binary whose `--version` matches is installed.
    On any failure nothing is left behind in `install_dir`.
    """
    version = normalize_version(version)
    target = target or detect_platform()
    pins = PINNED_SHA256 if pins is None else pins
    retry = retry or Retry()
    name = archive_name(version, target)
    release = f"{base_url.rstrip('/')}/v{version}"

    expected = expected_archive_sha256(version, target, base_url, pins, retry, timeout)

    install_dir.mkdir(parents=True, exist_ok=True)
    # A scratch dir inside install_dir, so the final rename stays on one filesystem (atomic).
    scratch = Path(tempfile.mkdtemp(prefix=".trivy-install-", dir=install_dir))
    try:
        archive = scratch / name
        archive_url = f"{release}/{name}"
        actual = _not_found_means_bad_version(
            version, archive_url, lambda: _download(archive_url, archive, retry, timeout)
        )
        if actual != expected:
            raise ToolError(
                f"checksum mismatch for {name}: expected sha256 {expected}, "
                f"got sha256 {actual}; refusing to install it",
                "retry later; if it persists, do not use this download and report it: "
                "it is not the archive Trivy published for this version",
            )
        staged = scratch / "trivy"
        _extract_trivy(archive, staged, name)
        got, problem = _probe_version(staged)
        if got != version:
            raise ToolError(
                f"the trivy in {name} reports version {got}, not {version}"
                if got
                else f"the trivy in {name} does not run here: {problem}",
                "check trivy-version and the runner's OS/arch",
            )
        final = install_path(install_dir, version, target)
        final.parent.mkdir(parents=True, exist_ok=True)
        # The archive stays beside the binary: later runs check the binary against it.
        archive.replace(final.parent / name)
        staged.replace(final)
        return final
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def expected_archive_sha256(
    version: str,
    target: Platform,
    base_url: str = DEFAULT_BASE_URL,
    pins: Mapping[str, str] | None = None,
    retry: Retry | None = None,
    timeout: float = 60.0,
) -> str:
    """The SHA-256 the release archive must have: pinned here, else the release's own list."""
    pins = PINNED_SHA256 if pins is None else pins
    name = archive_name(version, target)
    expected = pins.get(name)
    if expected is None:
        # Not pinned: the release's own checksums file catches corruption and a mix-up of
        # assets, but not whoever can rewrite the release's files; only a pin does that.
        checksums_url = f"{base_url.rstrip('/')}/v{version}/trivy_{version}_checksums.txt"
        text = _not_found_means_bad_version(
            version, checksums_url, lambda: _fetch_text(checksums_url, retry or Retry(), timeout)
        )
        expected = _checksum_for(name, text, checksums_url)
    return expected.lower()


def find_or_install(
    version: str,
    install_dir: Path,
    *,
    search_path: str | None = None,
    log: Callable[[str], None] = lambda _message: None,
    warn: Callable[[str], None] | None = None,
    target: Platform | None = None,
    base_url: str = DEFAULT_BASE_URL,
    pins: Mapping[str, str] | None = None,
    retry: Retry | None = None,
    timeout: float = 60.0,
) -> TrivyBinary:
    """A trivy of exactly `version`: on PATH, else already in install_dir, else installed.

    `search_path` is the PATH to look in (default: $PATH). A trivy of another version on
    PATH is passed over, never used: the requested version is the one that was vetted.
    A copy in install_dir is run only after `verify_cached` passes; one that fails is
    deleted, reported through `warn` (default: `log`) and downloaded afresh.
    """
    version = normalize_version(version)
    target = target or detect_platform()
    on_path = shutil.which("trivy", path=search_path)
    if on_path is not None:
        found = reported_version(Path(on_path))
        if found == version:
            log(f"trivy {version}: using {on_path} from PATH")
            return TrivyBinary(Path(on_path), version, "PATH")
        log(f"trivy on PATH ({on_path}) is {found or 'not runnable'}, not {version}: not using it")
    installed = install_path(install_dir, version, target)
    if os.path.lexists(installed.parent):
        expected = expected_archive_sha256(version, target, base_url, pins, retry, timeout)
        problem = verify_cached(installed, archive_name(version, target), expected)
        # Run only now, after the checksums: `--version` executes the file.
        if problem is None and reported_version(installed) != version:
            problem = "its binary does not report the requested version"
        if problem is None:
            log(f"trivy {version}: using the copy in {installed.parent} (checksums verified)")
            return TrivyBinary(installed, version, "install dir")
        (warn or log)(
            f"the cached Trivy {version} in {installed.parent} was refused and deleted: "
            f"{problem}; downloading it afresh"
        )
        remove_entry(installed.parent)
    log(f"trivy {version}: downloading {archive_name(version, target)}")
    path = install(
        version,
        install_dir,
        target=target,
        base_url=base_url,
        pins=pins,
        retry=retry,
        timeout=timeout,
    )
    log(f"trivy {version}: checksum verified, installed at {path}")
    return TrivyBinary(path, version, "download")


def verify_cached(binary: Path, name: str, expected_archive: str) -> str | None:
    """None when the cached entry is intact, else what is wrong with it. Executes nothing.

    Intact: the archive `name` beside `binary` has the expected SHA-256, and `binary` has the
    SHA-256 of that archive's `trivy` member. Both must be regular files, not links.
    """
    archive = binary.parent / name
    for path in (archive, binary):
        kind = _regular_file_problem(path)
        if kind:
            return f"{path.name} {kind}"
    actual = _sha256_file(archive, MAX_ARCHIVE_BYTES)
    if actual != expected_archive:
        return f"{name} has sha256 {actual}, not the expected {expected_archive}"
    wanted = _member_sha256(archive, name)
    got = _sha256_file(binary, MAX_BINARY_BYTES)
    if got != wanted:
        return f"the binary has sha256 {got}, not {wanted} as in the verified {name}"
    return None


def remove_entry(entry: Path) -> None:
    """Delete a cached install entry (a directory, or whatever stands in its place)."""
    if entry.is_symlink() or not entry.is_dir():
        entry.unlink(missing_ok=True)
    else:
        shutil.rmtree(entry)


def _regular_file_problem(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return "is missing"
    if stat.S_ISLNK(mode):
        return "is a symlink"
    return "" if stat.S_ISREG(mode) else "is not a regular file"


def _sha256_file(path: Path, limit: int) -> str:
    """SHA-256 of a regular file, opened without following links and without blocking."""
    digest = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            return "(not a regular file)"
        size = 0
        while chunk := handle.read(_CHUNK):
            size += len(chunk)
            if size > limit:
                return f"(more than {limit} bytes)"
            digest.update(chunk)
    return digest.hexdigest()


def _member_sha256(archive: Path, name: str) -> str:
    """SHA-256 of the archive's `trivy` member, vetted as when it was installed."""
    digest = hashlib.sha256()
    _extract_trivy(archive, None, name, sink=digest.update)
    return digest.hexdigest()


# --- downloading ------------------------------------------------------------------------


def _not_found_means_bad_version(version: str, url: str, attempt: Callable[[], _T]) -> _T:
    try:
        return attempt()
    except _NotFound:
        # A user-supplied version that does not exist is a configuration error (exit 2).
        raise UsageError(
            f"Trivy v{version} not found: {url} returned 404",
            "check trivy-version against https://github.com/aquasecurity/trivy/releases",
        ) from None


def _with_retries(url: str, retry: Retry, attempt: Callable[[], _T]) -> _T:
    last = "no attempt made"
    for number in range(1, max(retry.attempts, 1) + 1):
        try:
            return attempt()
        except _Transient as error:
            last = str(error)
        if number < retry.attempts:
            retry.sleep(retry.first_delay * 2 ** (number - 1))
    raise ToolError(
        f"downloading {url} failed after {retry.attempts} attempts: {last}",
        "retry the job later; check that the runner can reach github.com",
    )


def _check_status(url: str, response: requests.Response) -> None:
    code = response.status_code
    if code == 404:
        raise _NotFound(url)
    if code in (408, 429) or code >= 500:
        raise _Transient(f"HTTP {code} {response.reason or ''}".strip())
    if code != 200:
        raise ToolError(
            f"downloading {url} failed: HTTP {code} {response.reason or ''}".strip(),
            "check the URL; retrying will not help",
        )


def _get(url: str, timeout: float) -> requests.Response:
    # identity: the byte count must be comparable with Content-Length, and the checksum is
    # over the archive as published, not over a transfer encoding of it.
    return requests.get(url, stream=True, timeout=timeout, headers={"Accept-Encoding": "identity"})


def _download(url: str, dest: Path, retry: Retry, timeout: float) -> str:
    """Stream url to dest while hashing it; return the SHA-256 hex of what arrived."""

    def once() -> str:
        with dest.open("wb") as out:
            return _stream(url, timeout, out.write, MAX_ARCHIVE_BYTES)

    return _with_retries(url, retry, once)


def _fetch_text(url: str, retry: Retry, timeout: float) -> str:
    """A small text file (the checksums list), with the same retries as the archive."""

    def once() -> str:
        parts: list[bytes] = []
        _stream(url, timeout, parts.append, 1 << 20)
        return b"".join(parts).decode("utf-8", errors="replace")

    return _with_retries(url, retry, once)


def _stream(url: str, timeout: float, sink: Callable[[bytes], object], limit: int) -> str:
    """One GET of url into sink, refusing short reads and more than limit bytes."""
    digest = hashlib.sha256()
    size = 0
    declared: int | None = None
    try:
        with _get(url, timeout) as response:
            _check_status(url, response)
            declared = _content_length(response)
            if declared is not None and declared > limit:
                raise ToolError(
                    f"{url} is {declared} bytes, more than expected", "check --base-url"
                )
            for chunk in response.iter_content(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ToolError(f"{url} sent more than {limit} bytes", "check --base-url")
                digest.update(chunk)
                sink(chunk)
    except requests.exceptions.ChunkedEncodingError as error:
        # urllib3 raises this when the connection closes before Content-Length bytes, with
        # the count it got in the message (our own count misses the last partial chunk).
        match = _INCOMPLETE_READ.search(str(error))
        got = int(match["got"]) if match else size
        raise _Transient(_truncated(got, declared) or _reason(error)) from error
    except (requests.ConnectionError, requests.Timeout) as error:
        raise _Transient(_reason(error)) from error
    except requests.RequestException as error:
        raise ToolError(f"cannot download {url}: {_reason(error)}", "check --base-url") from error
    truncated = _truncated(size, declared)
    if truncated:  # urllib3 normally catches this first; a second line of defence
        raise _Transient(truncated)
    return digest.hexdigest()


def _content_length(response: requests.Response) -> int | None:
    value = response.headers.get("Content-Length")
    return int(value) if value and value.isdigit() else None


def _truncated(size: int, declared: int | None) -> str:
    if declared is not None and size != declared:
        return f"truncated download: got {size} of {declared} bytes"
    return ""


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _checksum_for(name: str, checksums: str, url: str) -> str:
    """The SHA-256 on `name`'s line of a sha256sum-style checksums file."""
    for line in checksums.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1].lstrip("*") == name:
            digest = fields[0].lower()
            if _SHA256.fullmatch(digest):
                return digest
            raise ToolError(f"{url} lists a malformed checksum for {name}", "report it")
    raise ToolError(
        f"{url} has no checksum for {name}",
        f"check that Trivy publishes {name} for this version and platform",
    )


# --- unpacking --------------------------------------------------------------------------


def _extract_trivy(
    archive: Path,
    dest: Path | None,
    name: str,
    sink: Callable[[bytes], object] | None = None,
) -> None:
    """Copy the archive's one `trivy` member to dest, mode 0755, after vetting every member.

    Nothing is extracted by path: the bytes go to a file we name, so no member can write
    outside. A member that tries to (absolute, `..`) still means this is not a Trivy release.
    With `sink` (and no dest) the member's bytes go there instead: to hash it, not write it.
    """
    found = False
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                path = PurePosixPath(member.name)
                if path.is_absolute() or ".." in path.parts:
                    raise ToolError(
                        f"refusing {name}: its member {member.name!r} points outside the archive",
                        "this is not a Trivy release archive; check --base-url",
                    )
                if member.name.removeprefix("./") != "trivy":
                    continue
                if found:
                    raise ToolError(f"refusing {name}: it holds two `trivy` members", "report it")
                if not member.isreg():
                    raise ToolError(
                        f"refusing {name}: its `trivy` member is not a regular file "
                        "(a link or device)",
                        "this is not a Trivy release archive; check --base-url",
                    )
                if member.size > MAX_BINARY_BYTES:
                    raise ToolError(f"refusing {name}: `trivy` is {member.size} bytes", "report it")
                source = tar.extractfile(member)
                if source is None:  # pragma: no cover - isreg() members always have data
                    raise ToolError(f"cannot read `trivy` from {name}", "report it")
                with source:
                    if dest is not None:
                        with dest.open("wb") as out:
                            shutil.copyfileobj(source, out, _CHUNK)
                    elif sink is not None:
                        while chunk := source.read(_CHUNK):
                            sink(chunk)
                found = True
    except (tarfile.TarError, EOFError, zlib.error) as error:
        raise ToolError(
            f"{name} is not a readable tar.gz: {error}", "retry the download"
        ) from error
    if not found:
        raise ToolError(f"{name} holds no `trivy` binary", "check trivy-version and --base-url")
    if dest is not None:
        dest.chmod(0o755)


def _probe_version(binary: Path) -> tuple[str | None, str]:
    """(version, "") when `binary --version` names one, else (None, why not)."""
    try:
        proc = subprocess.run(
            [str(binary), "--version"],
            capture_output=True,
            text=True,
            errors="replace",
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, "`trivy --version` did not finish within 60s"
    except OSError as error:
        return None, f"cannot run it: {error.strerror or error}"
    match = _REPORTED_VERSION.search(proc.stdout)
    if proc.returncode != 0 or match is None:
        output = " ".join((proc.stderr or proc.stdout).split())[:200]
        return None, f"`trivy --version` exited {proc.returncode}: {output or 'no output'}"
    return match["version"], ""
