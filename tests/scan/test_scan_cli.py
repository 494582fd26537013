"""`mlsecops scan` end to end: the real CLI, the real Trivy, the DB the tests built."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.images import build_docker_archive, build_oci_layout, build_oci_tarball
from tests.support.scan_cli import load_report
from tests.support.scan_cli import scan_cli as scan
from tests.support.trivydb import build_trivy_db

PROJECTS = Path(__file__).resolve().parents[1] / "fixtures" / "projects"
REPO = Path(__file__).resolve().parents[2]


def run_cli(
    *args: str, trivy_dir: Path | None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `python -m mlsecops` with PATH holding trivy only when `trivy_dir` is given."""
    extra = env or {}
    env = {k: v for k, v in os.environ.items() if k not in ("PATH", "TRIVY_CACHE_DIR")}
    env["PATH"] = os.pathsep.join(p for p in (str(trivy_dir or ""), "/usr/bin", "/bin") if p)
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return subprocess.run(
        [sys.executable, "-m", "mlsecops", *args],
        capture_output=True,
        text=True,
        cwd=cwd or REPO,
        env=env,
        check=False,
        timeout=300,
    )


def report(path: Path) -> dict:
    return load_report(path)  # schema-valid, and its coverage ledger adds up


def found(data: dict) -> set[tuple[str, str, str, str, str]]:
    return {
        (f["id"], f["package"], f["installed_version"], f["fixed_version"], f["severity"])
        for f in data["findings"]
    }


def assert_one_line_error(proc: subprocess.CompletedProcess[str], code: int, *words: str) -> None:
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert lines[0].startswith("mlsecops: error:")
    for word in words:
        assert word in lines[0]


def test_requirements_project_exact_findings_and_exit_1(trivy_bin, trivy_cache, tmp_path):
    out = tmp_path / "r.json"
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "requirements"), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    data = report(out)
    assert found(data) == {
        ("CVE-2020-14343", "PyYAML", "5.3.1", "5.4", "CRITICAL"),
        ("CVE-2023-1177", "mlflow", "2.1.1", "2.2.1", "CRITICAL"),
        ("CVE-2023-48022", "ray", "2.9.0", "", "CRITICAL"),
        ("CVE-2025-32434", "torch", "2.5.1", "2.6.0", "CRITICAL"),
        ("CVE-2018-18074", "requests", "2.19.1", "2.20.0", "HIGH"),
        ("CVE-2021-41228", "tensorflow", "2.5.1", "2.4.4, 2.5.2, 2.6.1", "HIGH"),
        ("CVE-2023-32681", "requests", "2.19.1", "2.31.0", "MEDIUM"),
        ("CVE-2024-34062", "tqdm", "4.66.1", "4.66.3", "LOW"),
        ("CVE-2024-3568", "transformers", "4.37.2", "4.38.0", "LOW"),
        # Trivy skips `flask>=2.0`; we report it as not checked (informational, UNKNOWN).
        ("MLS-UNPINNED", "flask", "", "", "UNKNOWN"),
    }
    assert data["passed"] is False
    assert data["fail_on"] == "HIGH"
    assert data["counts"] == {"CRITICAL": 4, "HIGH": 2, "MEDIUM": 1, "LOW": 2, "UNKNOWN": 1}
    target = {f["target"] for f in data["findings"]}
    assert target == {"tests/fixtures/projects/requirements/requirements.txt"}
    lines = {f["package"]: f["line"] for f in data["findings"]}
    manifest = (PROJECTS / "requirements" / "requirements.txt").read_text().splitlines()
    for package, line in lines.items():
        assert manifest[line - 1].lower().startswith(package.lower()), (package, line)
    # The table: most severe first, with the fixed version, then the verdict.
    table = proc.stdout.splitlines()
    assert table[0].split() == ["SEVERITY", "ID", "PACKAGE", "INSTALLED", "FIXED", "TARGET"]
    assert table[1].split()[0] == "CRITICAL"
    assert "CVE-2018-18074  requests" in proc.stdout
    assert "2.20.0" in proc.stdout
    assert table[-1].startswith("FAILED (fail-on HIGH): 6 finding(s)")


# The fixture locks' vulnerable development dependencies (poetry's and uv's dev groups,
# Pipfile.lock's `develop`).
DEV = {"poetry": {"jinja2"}, "uv": {"pyyaml"}, "pipfile": {"jinja2"}}


@pytest.mark.parametrize(
    ("project", "manifest", "expected"),
    [
        (
            "poetry",
            "poetry.lock",
            {
                ("CVE-2023-50447", "pillow", "10.1.0", "10.2.0", "HIGH"),
                ("CVE-2023-43804", "urllib3", "2.0.5", "1.26.17, 2.0.6", "MEDIUM"),
                ("CVE-2024-22195", "jinja2", "3.1.2", "3.1.3", "MEDIUM"),  # dev
                ("CVE-2024-34064", "jinja2", "3.1.2", "3.1.4", "MEDIUM"),  # dev
            },
        ),
        (
            "uv",
            "uv.lock",
            {
                ("CVE-2024-5206", "scikit-learn", "1.4.2", "1.5.0", "MEDIUM"),
                ("CVE-2024-34062", "tqdm", "4.66.1", "4.66.3", "LOW"),
                ("CVE-2020-14343", "pyyaml", "5.3.1", "5.4", "CRITICAL"),  # dev
            },
        ),
        (
            "pipfile",
            "Pipfile.lock",
            {
                ("CVE-2020-14343", "pyyaml", "5.3.1", "5.4", "CRITICAL"),
                ("CVE-2023-32681", "requests", "2.25.1", "2.31.0", "MEDIUM"),
                # `develop`, which Trivy never reads: checked through the SBOM.
                ("CVE-2024-22195", "jinja2", "3.1.2", "3.1.3", "MEDIUM"),
                ("CVE-2024-34064", "jinja2", "3.1.2", "3.1.4", "MEDIUM"),
            },
        ),
    ],
)
def test_lock_files(trivy_bin, trivy_cache, tmp_path, project, manifest, expected):
    out = tmp_path / "r.json"
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / project), "--json", str(out))
    data = report(out)
    assert found(data) == expected
    gated = any(f["severity"] in ("CRITICAL", "HIGH") for f in data["findings"])
    assert proc.returncode == (1 if gated else 0), proc.stderr
    assert data["passed"] is not gated
    text = (PROJECTS / project / manifest).read_text().splitlines()
    for finding in data["findings"]:
        assert finding["target"].endswith(f"{project}/{manifest}")
        assert finding["package"].lower() in text[finding["line"] - 1].lower()
    dev = {f["package"] for f in data["findings"] if f["properties"].get("dev") == "true"}
    assert dev == DEV[project]
    # Left out on request: the dev findings go, and the ledger names each dev package.
    scan(trivy_bin, trivy_cache, str(PROJECTS / project), "--skip-dev-deps", "--json", str(out))
    data = report(out)
    assert not any(f["properties"].get("dev") for f in data["findings"])
    assert found(data) == {e for e in expected if e[1] not in DEV[project]}
    excluded = data["coverage"]["not_checked_by_reason"]["excluded"]
    assert excluded == (1 if project == "uv" else 2)


def test_clean_project_passes(trivy_bin, trivy_cache, tmp_path):
    out = tmp_path / "r.json"
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = report(out)
    assert data["passed"] is True
    assert data["findings"] == []
    assert proc.stdout.strip().endswith("PASSED (fail-on HIGH): no open findings")


# uv without its dev dependencies: one MEDIUM and one LOW. pipfile: one CRITICAL and one MEDIUM.
@pytest.mark.parametrize(
    ("project", "fail_on", "code"),
    [
        ("uv", "HIGH", 0),
        ("uv", "MEDIUM", 1),
        ("uv", "low", 1),
        ("uv", "NONE", 0),
        ("uv", "CRITICAL", 0),
        ("pipfile", "CRITICAL", 1),
        ("pipfile", "NONE", 0),
    ],
)
def test_fail_on_thresholds(trivy_bin, trivy_cache, tmp_path, project, fail_on, code):
    out = tmp_path / "r.json"
    args = (str(PROJECTS / project), "--fail-on", fail_on, "--json", str(out), "--skip-dev-deps")
    proc = scan(trivy_bin, trivy_cache, *args)
    assert proc.returncode == code, proc.stderr
    data = report(out)
    assert data["passed"] is (code == 0)
    assert data["fail_on"] == fail_on.upper()


def test_fail_on_high_passes_medium_only_project(trivy_bin, trivy_cache):
    # uv's only CRITICAL is in its dev group.
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "uv"), "--skip-dev-deps")
    assert proc.returncode == 0, proc.stderr
    assert "PASSED (fail-on HIGH)" in proc.stdout


def test_ignore_unfixed(trivy_bin, trivy_cache, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("ray==2.9.0\n")
    out = tmp_path / "r.json"
    assert scan(trivy_bin, trivy_cache, str(project)).returncode == 1
    proc = scan(trivy_bin, trivy_cache, str(project), "--ignore-unfixed", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = report(out)
    [finding] = data["findings"]
    assert finding["id"] == "CVE-2023-48022"
    assert finding["ignored"] is True
    assert "no fixed version" in finding["ignore_reason"]
    assert data["counts"]["CRITICAL"] == 0


def test_quiet_prints_only_the_verdict(trivy_bin, trivy_cache):
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "requirements"), "--quiet")
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [proc.stdout.strip()]
    assert proc.stdout.startswith("FAILED")


IMAGE_CONTENT = {
    "os_release": 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\n'
    'VERSION_ID="12"\nVERSION="12 (bookworm)"\nID=debian\n',
    "dpkg": [("libc6", "glibc", "2.36-9+deb12u1"), ("zlib1g", "zlib", "1:1.2.13.dfsg-1")],
    "python_packages": [("requests", "2.19.1"), ("numpy", "1.26.4")],
}
IMAGE_EXPECTED = {
    ("CVE-2023-4911", "libc6", "2.36-9+deb12u1", "2.36-9+deb12u3", "HIGH"),
    ("CVE-2018-18074", "requests", "2.19.1", "2.20.0", "HIGH"),
    ("CVE-2023-32681", "requests", "2.19.1", "2.31.0", "MEDIUM"),
}


@pytest.mark.parametrize("kind", ["docker-archive", "docker-archive.gz", "oci-layout", "oci-tar"])
def test_image_scans(trivy_bin, trivy_cache, tmp_path, kind):
    if kind == "oci-layout":
        image = build_oci_layout(tmp_path / "layout", **IMAGE_CONTENT)
    elif kind == "oci-tar":
        image = build_oci_tarball(tmp_path / "image-oci.tar", **IMAGE_CONTENT)
    else:
        gz = kind.endswith(".gz")
        name = "image.tar.gz" if gz else "image.tar"
        image = build_docker_archive(tmp_path / name, gzip=gz, **IMAGE_CONTENT)
    out = tmp_path / "r.json"
    proc = scan(
        trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--image", str(image),
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    data = report(out)
    got = found(data)
    assert got >= IMAGE_EXPECTED
    # zlib's CVE has no fix in Debian: it is reported, with an empty fixed version.
    assert any(f[0] == "CVE-2023-45853" and f[3] == "" for f in got)
    assert {f["target"] for f in data["findings"]} == {str(image)}
    assert data["targets"] == ["tests/fixtures/projects/clean", str(image)]


def test_project_and_image_land_in_one_report(trivy_bin, trivy_cache, tmp_path):
    image = build_docker_archive(tmp_path / "img.tar", **IMAGE_CONTENT)
    out = tmp_path / "r.json"
    proc = scan(
        trivy_bin, trivy_cache, str(PROJECTS / "pipfile"), "--image", str(image),
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 1
    targets = {f["target"] for f in report(out)["findings"]}
    assert targets == {"tests/fixtures/projects/pipfile/Pipfile.lock", str(image)}


# ---------------------------------------------------------------- bad input, one line each


def test_nonexistent_path(trivy_bin, trivy_cache):
    proc = scan(trivy_bin, trivy_cache, "does/not/exist")
    assert_one_line_error(proc, 2, "path not found", "does/not/exist")


def test_unreadable_requirements_file(trivy_bin, trivy_cache, tmp_path):
    # Root reads anything, so make the file unreadable in a way root cannot bypass:
    # a dangling symlink (the target is gone) and a directory in its place.
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").symlink_to(tmp_path / "gone.txt")
    proc = scan(trivy_bin, trivy_cache, str(project))
    assert_one_line_error(proc, 2, "requirements file", "requirements.txt", "broken symlink")
    (project / "requirements.txt").unlink()
    (project / "requirements-dev.txt").mkdir()
    proc = scan(trivy_bin, trivy_cache, str(project))
    assert_one_line_error(proc, 2, "requirements-dev.txt", "is a directory, not a regular file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 000 file")
def test_permission_denied_requirements_file(trivy_bin, trivy_cache, tmp_path):
    project = tmp_path / "p"
    project.mkdir()
    req = project / "requirements.txt"
    req.write_text("requests==2.19.1\n")
    req.chmod(0)
    assert_one_line_error(scan(trivy_bin, trivy_cache, str(project)), 2, "Permission denied")


@pytest.mark.parametrize(
    ("name", "content", "language"),
    [
        ("poetry.lock", "[[package]\nname = ", "TOML"),
        ("uv.lock", "version = 1\n[[package\n", "TOML"),
        ("Pipfile.lock", '{"default": {"requests": ', "JSON"),
    ],
)
def test_malformed_lock_file(trivy_bin, trivy_cache, tmp_path, name, content, language):
    project = tmp_path / "p"
    project.mkdir()
    (project / name).write_text(content)
    proc = scan(trivy_bin, trivy_cache, str(project))
    assert_one_line_error(proc, 2, "lock file", name, f"is not valid {language}")


@pytest.mark.parametrize("content", [b"this is not a tar archive", b"\x1f\x8b\x08\x00garbage"])
def test_corrupt_image_tarball(trivy_bin, trivy_cache, tmp_path, content):
    bad = tmp_path / "image.tar"
    bad.write_bytes(content)
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--image", str(bad))
    assert_one_line_error(proc, 2, "image tarball", "corrupt")


def test_truncated_image_tarball(trivy_bin, trivy_cache, tmp_path):
    good = build_docker_archive(tmp_path / "good.tar", **IMAGE_CONTENT)
    bad = tmp_path / "bad.tar"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--image", str(bad))
    assert proc.returncode == 2, proc.stderr
    assert_one_line_error(proc, 2, "bad.tar")


def test_missing_image_tarball(trivy_bin, trivy_cache):
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--image", "nope/image.tar")
    assert_one_line_error(proc, 2, "image tarball not found")


def test_bogus_fail_on(trivy_bin, trivy_cache):
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--fail-on", "BOGUS")
    assert_one_line_error(proc, 2, "BOGUS", "LOW, MEDIUM, HIGH, CRITICAL, NONE")


def test_unknown_flag_is_one_line(trivy_bin, trivy_cache):
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "clean"), "--no-such-flag")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "--no-such-flag" in proc.stderr


def test_missing_trivy(trivy_cache):
    proc = run_cli(
        "scan", str(PROJECTS / "clean"), "--offline", "--trivy-cache-dir", str(trivy_cache),
        trivy_dir=None,
    )  # fmt: skip
    if shutil.which("trivy", path="/usr/bin:/bin"):
        pytest.skip("a system trivy is installed in /usr/bin")
    assert_one_line_error(proc, 3, "trivy not found on PATH", "--trivy PATH")


def test_trivy_path_that_does_not_exist(trivy_cache):
    proc = run_cli("scan", str(PROJECTS / "clean"), "--trivy", "/nope/trivy", trivy_dir=None)
    assert_one_line_error(proc, 2, "/nope/trivy")


def test_offline_with_empty_cache(trivy_bin, tmp_path):
    proc = scan(trivy_bin, tmp_path / "empty-cache", str(PROJECTS / "clean"))
    assert_one_line_error(proc, 3, "no Trivy DB", "--offline")


def test_offline_with_a_relative_trivy_cache_dir(trivy_bin, tmp_path):
    # TRIVY_CACHE_DIR=tc is relative to where the user runs mlsecops, not to the project
    # (Trivy's working directory): the DB check and the scan must both look in ./tc.
    build_trivy_db(tmp_path / "tc")
    shutil.copytree(PROJECTS / "requirements", tmp_path / "svc")
    out = tmp_path / "r.json"
    proc = run_cli(
        "scan", "svc", "--offline", "--json", str(out),
        trivy_dir=trivy_bin.parent, cwd=tmp_path, env={"TRIVY_CACHE_DIR": "tc"},
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert ("CVE-2024-34062", "tqdm", "4.66.1", "4.66.3", "LOW") in found(report(out))


def test_trivy_exiting_non_zero_on_a_corrupt_db(trivy_bin, tmp_path):
    cache = tmp_path / "cache"
    (cache / "db").mkdir(parents=True)
    (cache / "db" / "trivy.db").write_bytes(b"\0" * 8192)
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    (cache / "db" / "metadata.json").write_text(json.dumps({"Version": 2, "UpdatedAt": now}))
    # No record vouches for this DB: only accepting its own metadata lets Trivy near it.
    proc = scan(trivy_bin, cache, str(PROJECTS / "requirements"), "--accept-unverified-db")
    assert_one_line_error(proc, 3, "trivy fs failed")


def test_runs_from_another_directory(trivy_bin, trivy_cache, tmp_path):
    out = tmp_path / "r.json"
    proc = scan(trivy_bin, trivy_cache, str(PROJECTS / "pipfile"), "--json", str(out), cwd=tmp_path)
    assert proc.returncode == 1
    # Outside the working directory, targets are absolute paths.
    targets = {f["target"] for f in report(out)["findings"]}
    assert targets == {str(PROJECTS / "pipfile" / "Pipfile.lock")}


def test_python_dash_m_and_console_script_agree():
    proc = run_cli("--version", trivy_dir=None)
    assert proc.returncode == 0
    assert proc.stdout.startswith("mlsecops ")


def test_bogus_sarif_severity_is_refused_before_scanning(trivy_bin, tmp_path):
    # An empty cache would be exit 3 if the scan ran: exit 2 proves the flag was checked first.
    proc = scan(trivy_bin, tmp_path, str(PROJECTS / "clean"), "--sarif-severity", "LOUD")
    assert_one_line_error(proc, 2, "--sarif-severity 'LOUD'")
