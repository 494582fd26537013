"""As a new user would: `mlsecops scan --model DIR` on a mixed directory, through every report."""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from modelscan_corpus import DENSE, LAMBDA, keras_zip, npy_object, reduce_pickle

from mlsecops.schemas import schema_errors

REPO = Path(__file__).resolve().parents[2]
BENIGN = Path(__file__).parent / "fixtures" / "benign"


def mlsecops(*args: str, cwd: Path, trivy_bin: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PATH"}
    env["PATH"] = os.pathsep.join((str(trivy_bin.parent), "/usr/bin", "/bin"))
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        [sys.executable, "-m", "mlsecops", *args],
        capture_output=True, text=True, cwd=cwd, env=env, check=False, timeout=300,
    )  # fmt: skip


def make_mixed_directory(root: Path) -> Path:
    models = root / "models"
    models.mkdir(parents=True)
    shutil.copy(BENIGN / "torch_checkpoint.pt", models / "checkpoint.pt")
    shutil.copy(BENIGN / "model.safetensors", models / "model.safetensors")
    (models / "dense.keras").write_bytes(keras_zip([DENSE]))
    (models / "README.md").write_text("A model card.\n")
    (models / "pytorch_model.bin").write_bytes(reduce_pickle("os", "system"))
    (models / "features.npy").write_bytes(npy_object(reduce_pickle("subprocess", "call")))
    (models / "head.keras").write_bytes(keras_zip([DENSE, LAMBDA]))
    return models


def test_mixed_directory_reports_exactly_the_malicious_files(trivy_bin, trivy_cache, tmp_path):
    project = tmp_path / "project"
    make_mixed_directory(project)
    out = tmp_path / "out"
    out.mkdir()
    proc = mlsecops(
        "scan", ".", "--model", "models", "--offline", "--trivy-cache-dir", str(trivy_cache),
        "--json", str(out / "r.json"), "--sarif", str(out / "r.sarif"),
        "--summary", str(out / "summary.md"),
        cwd=project, trivy_bin=trivy_bin,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr

    report = json.loads((out / "r.json").read_text())
    assert schema_errors(report, "report.schema.json") == []
    assert report["passed"] is False
    models = [f for f in report["findings"] if f["kind"] == "model"]
    found = sorted((f["target"], f["member"], f["id"], f["severity"], f["package"]) for f in models)
    assert found == [
        ("models/features.npy", [], "MLS-PICKLE-DENY", "CRITICAL", "subprocess.call"),
        ("models/head.keras", ["config.json"], "MLS-KERAS-LAMBDA", "HIGH", "Lambda layer backdoor"),
        ("models/pytorch_model.bin", [], "MLS-PICKLE-DENY", "CRITICAL", "os.system"),
    ]
    bin_finding = next(f for f in models if f["target"] == "models/pytorch_model.bin")
    assert "os.system('true')" in bin_finding["description"]
    assert "safetensors" in bin_finding["fix"]

    sarif = json.loads((out / "r.sarif").read_text())
    results = sarif["runs"][0]["results"]
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in results}
    assert {"models/features.npy", "models/head.keras", "models/pytorch_model.bin"} <= uris
    assert {"MLS-PICKLE-DENY", "MLS-KERAS-LAMBDA"} <= {r["ruleId"] for r in results}

    summary = (out / "summary.md").read_text()
    for text in ("models/pytorch_model.bin", "os.system", "Lambda"):
        assert text in summary


def test_missing_model_path_is_exit_2_with_one_line(trivy_bin, trivy_cache, tmp_path):
    proc = mlsecops(
        "scan", ".", "--model", "no/such/model.pt", "--offline",
        "--trivy-cache-dir", str(trivy_cache), cwd=tmp_path, trivy_bin=trivy_bin,
    )  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert "no/such/model.pt" in line and "Traceback" not in proc.stderr


def test_benign_models_pass(trivy_bin, trivy_cache, tmp_path):
    proc = mlsecops(
        "scan", ".", "--model", str(BENIGN), "--offline", "--trivy-cache-dir", str(trivy_cache),
        "--json", str(tmp_path / "r.json"), cwd=tmp_path, trivy_bin=trivy_bin,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [f for f in report["findings"] if f["kind"] == "model"] == []


def test_policy_allow_globals_trusts_a_user_class(trivy_bin, trivy_cache, tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "whole_model.pt").write_bytes(b"\x80\x02cacme.models\nNet\n)\x81}b.")
    args = ("scan", ".", "--model", "models", "--offline", "--trivy-cache-dir", str(trivy_cache))
    proc = mlsecops(
        *args, "--json", "before.json", "--fail-on", "MEDIUM", cwd=tmp_path, trivy_bin=trivy_bin
    )
    assert proc.returncode == 1, proc.stderr
    (finding,) = json.loads((tmp_path / "before.json").read_text())["findings"]
    assert (finding["id"], finding["package"]) == ("MLS-PICKLE-INSTANCE", "acme.models.Net")

    (tmp_path / ".mlsecops.yml").write_text(
        'version: 1\nmodel-scanner:\n  allow-globals: ["acme.models.Net"]\n'
    )
    proc = mlsecops(
        *args, "--json", "after.json", "--fail-on", "MEDIUM", cwd=tmp_path, trivy_bin=trivy_bin
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "after.json").read_text())["findings"] == []


def _without_trivy(tmp_path: Path) -> dict[str, str]:
    """An environment with no Trivy anywhere: not on PATH, no cache, no DB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TRIVY", "MLSECOPS"))}
    env["PATH"] = os.pathsep.join(("/usr/bin", "/bin"))
    env["PYTHONPATH"] = str(REPO)
    env["HOME"] = env["XDG_CACHE_HOME"] = str(tmp_path / "home")
    return env


def test_a_model_only_scan_needs_no_trivy(tmp_path):
    assert shutil.which("trivy", path=_without_trivy(tmp_path)["PATH"]) is None
    # The report goes outside PATH: a JSON file in PATH is a text file for the secret
    # scanner, which is Trivy's (so the second scan would need Trivy).
    project = tmp_path / "project"
    project.mkdir()
    (project / "model.pt").write_bytes(reduce_pickle("os", "system"))
    (project / "clean.keras").write_bytes(keras_zip([DENSE]))
    scan = [sys.executable, "-m", "mlsecops", "scan", "--json", str(tmp_path / "r.json")]
    run = functools.partial(
        subprocess.run, capture_output=True, text=True, cwd=project, check=False, timeout=120,
        env=_without_trivy(tmp_path),
    )  # fmt: skip
    proc = run([*scan, "--model", "model.pt", "--model", "clean.keras"])
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert schema_errors(report, "report.schema.json") == []
    assert [(f["id"], f["target"]) for f in report["findings"]] == [("MLS-PICKLE-DENY", "model.pt")]
    coverage = report["coverage"]
    assert sorted((f["path"], f["kind"], f["checked"]) for f in coverage["files"]) == [
        ("clean.keras", "model", 1),
        ("model.pt", "model", 1),
    ]
    assert run([*scan, "--model", "clean.keras"]).returncode == 0

    # A dependency file is for Trivy to read: without Trivy, that is a tool failure.
    (project / "requirements.txt").write_text("requests==2.19.1\n")
    proc = run([*scan, "--model", "clean.keras", "--offline"])
    assert proc.returncode == 3, proc.stderr


def test_a_file_name_that_is_not_utf8_is_a_finding_not_exit_3(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    name = os.fsdecode(b"model-\xff\xfe.pkl")  # Latin-1 bytes: not UTF-8
    (models / name).write_bytes(reduce_pickle("os", "system"))
    proc = subprocess.run(
        [sys.executable, "-m", "mlsecops", "scan", "--model", "models", "--json", "r.json",
         "--sarif", "r.sarif", "--summary", "s.md"],
        capture_output=True, text=True, cwd=tmp_path, check=False, timeout=120,
        env=_without_trivy(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert [(f["id"], f["target"]) for f in report["findings"]] == [
        ("MLS-PICKLE-DENY", "models/model-\\xff\\xfe.pkl")
    ]
