"""release.yml moves the major tag only forward: to the highest vMAJOR.x.y on the remote."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "release" / "move-major-tag.sh"
WORKFLOW = REPO / ".github" / "workflows" / "release.yml"


def git(cwd: Path, *args: str) -> str:
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cwd),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


class Releases:
    """A remote (bare) and a maintainer's clone that tags and pushes releases."""

    def __init__(self, root: Path) -> None:
        self.remote = root / "origin.git"
        self.work = root / "work"
        git(root, "init", "-q", "--bare", str(self.remote))
        git(root, "clone", "-q", str(self.remote), str(self.work))
        self.commits: dict[str, str] = {}

    def release(self, tag: str, *, annotated: bool = False) -> str:
        (self.work / "VERSION").write_text(tag)
        git(self.work, "add", "VERSION")
        git(self.work, "commit", "-q", "-m", tag)
        git(self.work, "tag", *(["-a", "-m", tag] if annotated else []), tag)
        git(self.work, "push", "-q", "origin", "HEAD", tag)
        self.commits[tag] = git(self.work, "rev-parse", "HEAD")
        return self.commits[tag]

    def run_release_job(self, tag: str, root: Path) -> subprocess.CompletedProcess[str]:
        """What release.yml's job does: a shallow checkout of the tag, then the script."""
        job = root / f"job-{tag}-{len(list(root.iterdir()))}"
        git(root, "clone", "-q", "--depth=1", "--branch", tag, self.remote.as_uri(), str(job))
        env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "TAG": tag}
        return subprocess.run(
            [str(SCRIPT)], cwd=job, env=env, capture_output=True, text=True, check=False
        )

    def major(self, name: str) -> str | None:
        out = git(self.remote, "for-each-ref", "--format=%(objectname)", f"refs/tags/{name}")
        return out or None


@pytest.fixture
def releases(tmp_path: Path) -> Releases:
    return Releases(tmp_path)


def test_the_first_release_creates_the_major_tag(releases, tmp_path):
    commit = releases.release("v1.0.0")
    proc = releases.run_release_job("v1.0.0", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert releases.major("v1") == commit


def test_a_newer_release_moves_it_forward(releases, tmp_path):
    releases.release("v1.0.0")
    releases.run_release_job("v1.0.0", tmp_path)
    newer = releases.release("v1.2.0")
    assert releases.run_release_job("v1.2.0", tmp_path).returncode == 0
    assert releases.major("v1") == newer


def test_a_backport_never_moves_it_back(releases, tmp_path):
    releases.release("v1.2.0")
    releases.run_release_job("v1.2.0", tmp_path)
    releases.release("v1.1.5")  # a fix on an older line, pushed later
    proc = releases.run_release_job("v1.1.5", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert releases.major("v1") == releases.commits["v1.2.0"]
    assert "v1.1.5 is not the highest v1 release (v1.2.0 is)" in proc.stdout


def test_versions_compare_as_numbers_and_annotated_tags_are_peeled(releases, tmp_path):
    releases.release("v1.9.0", annotated=True)
    ten = releases.release("v1.10.0", annotated=True)
    releases.run_release_job("v1.10.0", tmp_path)
    releases.run_release_job("v1.9.0", tmp_path)  # a late, queued run of the older tag
    assert releases.major("v1") == ten


def test_runs_in_any_order_converge_on_the_highest(releases, tmp_path):
    """A queued run can be cancelled by a newer one: whichever runs last still gets it right."""
    releases.release("v1.0.0")
    releases.release("v1.3.0")
    releases.release("v1.2.1")
    assert releases.run_release_job("v1.2.1", tmp_path).returncode == 0
    assert releases.major("v1") == releases.commits["v1.3.0"]


def test_each_major_has_its_own_tag(releases, tmp_path):
    releases.release("v1.4.0")
    releases.run_release_job("v1.4.0", tmp_path)
    two = releases.release("v2.0.0")
    releases.run_release_job("v2.0.0", tmp_path)
    assert releases.major("v1") == releases.commits["v1.4.0"]
    assert releases.major("v2") == two


@pytest.mark.parametrize("tag", ["v1", "v1.2", "v1.2.3-rc1", "1.2.3", "v1.2.3; echo x"])
def test_anything_but_a_release_tag_is_refused(releases, tmp_path, tag):
    releases.release("v1.0.0")
    proc = subprocess.run(
        [str(SCRIPT)],
        cwd=releases.work,
        env={"PATH": "/usr/bin:/bin", "TAG": tag},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert "is not a release tag" in proc.stdout


def test_the_workflow_runs_one_release_job_at_a_time_with_the_script():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    assert workflow["concurrency"]["cancel-in-progress"] is False
    [job] = workflow["jobs"].values()
    runs = [step.get("run", "") for step in job["steps"]]
    assert "scripts/release/move-major-tag.sh" in runs
