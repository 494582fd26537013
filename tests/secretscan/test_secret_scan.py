"""`mlsecops scan` finds secrets and misconfigurations in a project and an image, for real.

Every fake token is generated at test time (tests/support/fake_secrets.py); the projects and
the image are built in tmp_path.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlsecops.filescan.candidates import MAX_SECRET_FILE
from tests.support.fake_secrets import (
    FakeSecret,
    build_secret_image,
    fake_secret,
    fake_secrets,
    leaked,
)
from tests.support.images import build_docker_archive, build_oci_layout
from tests.support.scan_cli import load_report, one_line_error, scan_cli

KSERVE_PRIVILEGED = """\
apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata:
  name: sklearn-iris
spec:
  predictor:
    containers:
      - name: kserve-container
        image: kserve/sklearnserver@sha256:{digest}
        securityContext:
          privileged: true
          runAsNonRoot: true
""".format(digest="0" * 64)

KSERVE_SAFE = KSERVE_PRIVILEGED.replace("privileged: true", "privileged: false")


def notebook(output: str) -> str:
    """A Jupyter notebook whose one cell printed `output` (as nbformat stores it)."""
    cell = {
        "cell_type": "code",
        "execution_count": 1,
        "metadata": {},
        "source": ["import os\n", "print(os.environ['HF_TOKEN'])"],
        "outputs": [{"name": "stdout", "output_type": "stream", "text": [output + "\n"]}],
    }
    document = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1) + "\n"


def secret_findings(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Secret findings keyed by (rule id, target and line or location)."""
    return {
        (f["id"], f"{f['target']}:{f['line'] or f['location']}"): f
        for f in report["findings"]
        if f["kind"] == "secret"
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "ml"
    root.mkdir()
    return root


def scan(trivy_bin: Path, cache: Path, project: Path, *args: str) -> tuple[Any, dict[str, Any]]:
    out = project.parent / "report.json"
    proc = scan_cli(trivy_bin, cache, str(project), "--json", str(out), *args, cwd=project)
    assert proc.returncode in (0, 1), proc.stderr
    return proc, load_report(out)


def test_every_rule_is_found_in_a_dotenv_with_its_line_and_redacted_form(
    trivy_bin, trivy_cache, project
):
    fakes = fake_secrets("dotenv")
    (project / ".env").write_text("\n".join(f.line for f in fakes) + "\n")
    sarif, summary = project.parent / "r.sarif", project.parent / "s.md"

    proc, report = scan(
        trivy_bin, trivy_cache, project, "--sarif", str(sarif), "--summary", str(summary)
    )

    found = secret_findings(report)
    assert set(found) == {(f.rule_id, f".env:{n}") for n, f in enumerate(fakes, start=1)}
    for number, fake in enumerate(fakes, start=1):
        finding = found[(fake.rule_id, f".env:{number}")]
        shown = f"{fake.token[:4]}… ({len(fake.token)} characters)"
        assert finding["properties"]["secret"] == shown
        assert finding["fails_gate"] is True
    assert proc.returncode == 1
    assert not [f.rule_id for f in fakes if leaked(proc.stdout + proc.stderr, f)]
    # Every report says which secret, by its redacted form: one SARIF rule per rule id.
    hf = next(f for f in fakes if f.rule_id == "MLS-SECRET-HUGGINGFACE")
    shown = f"{hf.token[:4]}… ({len(hf.token)} characters)"
    run = json.loads(sarif.read_text())["runs"][0]
    assert {r["id"] for r in run["tool"]["driver"]["rules"]} == {f.rule_id for f in fakes}
    messages = [r["message"]["text"] for r in run["results"]]
    assert any(shown in m and m.startswith("MLS-SECRET-HUGGINGFACE") for m in messages)
    assert shown.replace("_", "\\_") in summary.read_text()
    assert report["counts_by_kind"]["secret"]["CRITICAL"] == sum(
        1 for f in report["findings"] if f["kind"] == "secret" and f["severity"] == "CRITICAL"
    )
    assert shown in proc.stdout


def test_a_notebook_output_a_yaml_config_and_a_dockerfile_env(trivy_bin, trivy_cache, project):
    hf = fake_secret("MLS-SECRET-HUGGINGFACE", "notebook")
    wandb = fake_secret("MLS-SECRET-WANDB", "yaml")
    openai = fake_secret("MLS-SECRET-OPENAI", "dockerfile")
    (project / "train.ipynb").write_text(notebook(f"token: {hf.token}"))
    (project / "config.yaml").write_text(f"trainer:\n  epochs: 3\n  wandb_api_key: {wandb.token}\n")
    (project / "Dockerfile").write_text(
        f"FROM python:3.11-slim\nENV OPENAI_API_KEY={openai.token}\nUSER 1000\n"
    )

    _, report = scan(trivy_bin, trivy_cache, project)

    found = secret_findings(report)
    assert ("MLS-SECRET-HUGGINGFACE", "train.ipynb:16") in found
    assert ("MLS-SECRET-WANDB", "config.yaml:3") in found
    assert ("MLS-SECRET-OPENAI", "Dockerfile:2") in found
    # Trivy's Dockerfile check flags the ENV too: by its name, never its value.
    ds031 = [f for f in report["findings"] if f["id"] == "DS-0031"]
    assert [(f["kind"], f["line"]) for f in ds031] == [("misconfiguration", 2)]
    assert not [s.rule_id for s in (hf, wandb, openai) if leaked(json.dumps(report), s)]


def test_a_dockerfile_running_as_root_and_a_privileged_kserve_service(
    trivy_bin, trivy_cache, project
):
    (project / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python", "serve.py"]\n')
    (project / "deploy").mkdir()
    (project / "deploy" / "isvc.yaml").write_text(KSERVE_PRIVILEGED)
    (project / "deploy" / "safe.yaml").write_text(KSERVE_SAFE)
    chart = project / "chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: model\nversion: 0.1.0\n")
    (chart / "values.yaml").write_text("image: example/model:1.0\n")
    (chart / "templates" / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ .Release.Name }}-model\nspec:\n"
        "  containers:\n    - name: model\n      image: {{ .Values.image }}\n"
        "      securityContext:\n        privileged: true\n"
    )

    proc, report = scan(trivy_bin, trivy_cache, project, "--scanners", "misconfig")

    misconfigs = {
        (f["id"], f["target"], f["line"])
        for f in report["findings"]
        if f["kind"] == "misconfiguration"
    }
    assert ("DS-0002", "Dockerfile", None) in misconfigs  # no USER: runs as root
    assert ("MLS-KSERVE-PRIVILEGED", "deploy/isvc.yaml", 8) in misconfigs
    assert ("KSV-0017", "chart/templates/pod.yaml", 8) in misconfigs  # Helm, rendered
    assert not [m for m in misconfigs if m[1] == "deploy/safe.yaml"]
    privileged = next(f for f in report["findings"] if f["id"] == "MLS-KSERVE-PRIVILEGED")
    assert (privileged["severity"], privileged["fails_gate"]) == ("HIGH", True)
    assert proc.returncode == 1


def test_secrets_in_image_layers_and_in_the_image_config(trivy_bin, trivy_cache, tmp_path):
    hf = fake_secret("MLS-SECRET-HUGGINGFACE", "layer")
    aws = fake_secret("MLS-SECRET-AWS-ACCESS-KEY", "layer")
    groq = fake_secret("MLS-SECRET-GROQ", "env")
    image = build_secret_image(tmp_path / "image.tar", token=hf, dotenv=aws, env=groq)
    project = tmp_path / "empty"
    project.mkdir()

    _, report = scan(trivy_bin, trivy_cache, project, "--image", str(image))

    found = secret_findings(report)
    assert set(found) == {
        ("MLS-SECRET-HUGGINGFACE", f"{image}:1"),
        ("MLS-SECRET-AWS-ACCESS-KEY", f"{image}:1"),
        ("MLS-SECRET-GROQ", f"{image}:23"),
    }
    where = {f["id"]: f["location"] for f in found.values()}
    assert where == {
        "MLS-SECRET-HUGGINGFACE": "/root/.cache/huggingface/token",
        "MLS-SECRET-AWS-ACCESS-KEY": "/app/.env",
        "MLS-SECRET-GROQ": "image config (ENV, build history)",
    }
    # A layer's file is read back for the first characters; the config (as Trivy renders
    # it) is not: the length alone.
    shown = {f["id"]: f["properties"]["secret"] for f in found.values()}
    assert shown == {
        "MLS-SECRET-HUGGINGFACE": f"{hf.token[:4]}… ({len(hf.token)} characters)",
        "MLS-SECRET-AWS-ACCESS-KEY": f"{aws.token[:4]}… ({len(aws.token)} characters)",
        "MLS-SECRET-GROQ": f"… ({len(groq.token)} characters)",
    }
    assert not [s.rule_id for s in (hf, aws, groq) if leaked(json.dumps(report), s)]
    # The image's ledger: both packages listed and checked.
    [entry] = report["coverage"]["files"]
    assert (entry["path"], entry["kind"], entry["packages"], entry["checked"]) == (
        str(image),
        "image",
        2,
        2,
    )


def test_without_the_vuln_scanner_no_db_is_needed_and_image_packages_are_not_checked(
    trivy_bin, tmp_path
):
    empty_cache = tmp_path / "no-db"
    empty_cache.mkdir()
    image = build_docker_archive(
        tmp_path / "image.tar",
        dpkg=[("bash", "bash", "5.2.15-2+b2")],
        python_packages=[("requests", "2.19.1")],
    )
    project = tmp_path / "p"
    project.mkdir()
    (project / "requirements.txt").write_text("requests==2.19.1\n")

    _, report = scan(trivy_bin, empty_cache, project, "--scanners", "secret", "--image", str(image))

    assert [f for f in report["findings"] if f["kind"] == "vulnerability"] == []
    assert report["coverage"]["not_checked_by_reason"] == {"excluded": 2}
    assert report["coverage"]["files"][0]["checked"] == 0


def test_the_vuln_scanner_alone_finds_no_secret(trivy_bin, trivy_cache, project):
    (project / ".env").write_text(fake_secret("MLS-SECRET-HUGGINGFACE").line + "\n")
    (project / "requirements.txt").write_text("requests==2.19.1\n")

    _, report = scan(trivy_bin, trivy_cache, project, "--scanners", "vuln")

    assert {f["kind"] for f in report["findings"]} == {"vulnerability"}


def test_an_unknown_scanner_is_a_usage_error(trivy_bin, trivy_cache, project):
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--scanners", "vuln,secrets")
    assert proc.returncode == 2
    assert "'secrets' is not a scanner" in one_line_error(proc)


def test_secrets_are_ignored_by_rule_and_path_and_gated_by_kind(trivy_bin, trivy_cache, project):
    real = fake_secret("MLS-SECRET-ANTHROPIC", "real")
    fixture = fake_secret("MLS-SECRET-ANTHROPIC", "fixture")
    (project / ".env").write_text(real.line + "\n")
    (project / "tests").mkdir()
    (project / "tests" / "conftest.py").write_text(f"KEY = '{fixture.token}'\n")
    (project / ".mlsecops.yml").write_text(
        "version: 1\n"
        "fail-on-by-kind: {secret: CRITICAL}\n"
        "ignore:\n"
        "  - id: MLS-SECRET-ANTHROPIC\n"
        "    reason: a fake key the tests use\n"
        "    target: 'tests/*'\n"
    )

    proc, report = scan(trivy_bin, trivy_cache, project)

    found = secret_findings(report)
    ignored = found[("MLS-SECRET-ANTHROPIC", "tests/conftest.py:1")]
    assert (ignored["ignored"], ignored["ignore_reason"]) == (True, "a fake key the tests use")
    assert found[("MLS-SECRET-ANTHROPIC", ".env:1")]["fails_gate"] is True
    assert report["gate"]["fail_on_by_kind"] == {"secret": "CRITICAL"}
    assert proc.returncode == 1


def test_a_trivyignore_entry_hides_a_secret_but_the_report_keeps_it(
    trivy_bin, trivy_cache, project
):
    (project / ".env").write_text(fake_secret("MLS-SECRET-REPLICATE").line + "\n")
    (project / ".trivyignore").write_text("MLS-SECRET-REPLICATE\n")

    proc, report = scan(trivy_bin, trivy_cache, project)

    [finding] = secret_findings(report).values()
    assert (finding["ignored"], finding["ignore_reason"]) == (True, "ignored by .trivyignore")
    assert proc.returncode == 0


def test_a_projects_own_trivy_config_files_cannot_turn_the_scan_off(
    trivy_bin, trivy_cache, project
):
    fake: FakeSecret = fake_secret("MLS-SECRET-COMET")
    (project / ".env").write_text(fake.line + "\n")
    # Trivy reads both from its working directory by default: the scanned project.
    (project / "trivy.yaml").write_text("scan:\n  skip-files:\n    - .env\n")
    (project / "trivy-secret.yaml").write_text("disable-rules: [MLS-SECRET-COMET]\n")

    _, report = scan(trivy_bin, trivy_cache, project, "--scanners", "secret")

    assert list(secret_findings(report)) == [("MLS-SECRET-COMET", ".env:1")]


def test_tests_examples_and_markdown_are_scanned_too(trivy_bin, trivy_cache, project):
    """Trivy skips these paths by default; a token there is as leaked as anywhere."""
    places = {
        "examples/finetune/.env": fake_secret("MLS-SECRET-HUGGINGFACE", "examples"),
        "tests/test_api.py": fake_secret("MLS-SECRET-OPENAI", "tests"),
        "README.md": fake_secret("MLS-SECRET-KAGGLE", "markdown"),
    }
    for name, fake in places.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(fake.line + "\n")

    _, report = scan(trivy_bin, trivy_cache, project, "--scanners", "secret")

    expected = {(fake.rule_id, f"{name}:1") for name, fake in places.items()}
    assert set(secret_findings(report)) == expected


@pytest.mark.parametrize(
    "example", ["clean-ml-project", "vulnerable-ml-project", "conda-ml-project"]
)
def test_the_example_projects_hold_no_secret(trivy_bin, trivy_cache, example, tmp_path):
    examples = Path(__file__).resolve().parents[2] / "examples"
    out = tmp_path / "report.json"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(examples / example), "--scanners", "secret,misconfig",
        "--json", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert load_report(out)["findings"] == []


def test_a_text_file_too_large_for_the_secret_scan_is_left_out_with_a_note(
    trivy_bin, trivy_cache, project
):
    """Trivy holds a whole text file in memory: a dataset of gigabytes would exhaust the
    runner, so files past the limit are skipped, and the report says which."""
    row = "0.1,0.2,0.3,label\n"
    data = project / "data" / "train.csv"
    data.parent.mkdir()
    data.write_text(row * ((MAX_SECRET_FILE // len(row)) + 1))
    (project / ".env").write_text(fake_secret("MLS-SECRET-GROQ", "small").line + "\n")

    _, report = scan(trivy_bin, trivy_cache, project, "--scanners", "secret")

    assert list(secret_findings(report)) == [("MLS-SECRET-GROQ", ".env:1")]
    assert any("not scanned for secrets" in n and "data/train.csv" in n for n in report["notes"])


@pytest.mark.parametrize("form", ["docker-archive.tar.gz", "oci-layout"])
def test_a_layer_secret_shows_its_first_characters_in_every_local_image_form(
    trivy_bin, trivy_cache, tmp_path, form
):
    hf = fake_secret("MLS-SECRET-HUGGINGFACE", form)
    files = {"opt/app/notes.txt": f"some text\nthe token: {hf.token}\n".encode()}
    if form == "oci-layout":
        image = build_oci_layout(tmp_path / "layout", extra_files=files)
    else:
        image = build_docker_archive(tmp_path / form, gzip=True, extra_files=files)
    project = tmp_path / "empty"
    project.mkdir()

    _, report = scan(trivy_bin, trivy_cache, project, "--scanners", "secret", "--image", str(image))

    [finding] = secret_findings(report).values()
    assert (finding["location"], finding["line"]) == ("/opt/app/notes.txt", 2)
    assert finding["properties"]["secret"] == f"{hf.token[:4]}… ({len(hf.token)} characters)"
