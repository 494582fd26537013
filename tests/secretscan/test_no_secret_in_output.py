"""Issue 16's promise: every planted secret is found, and none appears in any output.

A project is built with a generated, rule-shaped fake token of every rule in a `.env`, and
more in a notebook's output, a YAML config, a Dockerfile (`ENV`, a `RUN` line, a line Trivy
cannot parse, which its error message then quotes), a Kubernetes env value, a multi-line
private key (Trivy's mask misses those in its code lines), a pickled dict, a Keras config,
GGUF metadata, an image layer and an image's ENV. The scan runs twice, as a user runs it
(the CLI) and as the action runs it (its scan and PR comment steps, against a local GitHub
API); then every byte of every output (the ML-BOM too) is searched for every token, in any
letter case.
"""

from __future__ import annotations

import base64
import io
import json
import os
import pickle
import random
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

import entrypoint
from tests.actions.composite import read_outputs
from tests.actions.test_entrypoint import comment_env, github_env, pr_event
from tests.support.fake_secrets import (
    WINDOW,
    FakeSecret,
    build_secret_image,
    fake_secret,
    fake_secrets,
)
from tests.support.scan_cli import load_report, scan_cli

BEGIN, END = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"


@dataclass(frozen=True)
class Planted:
    """A fake secret, the finding it must give (rule id, target), and its random part."""

    rule_id: str
    target: str
    secret: str  # the characters that must never be printed (8 in a row count)


def _from(fake: FakeSecret, target: str) -> Planted:
    return Planted(fake.rule_id, target, fake.token[fake.fixed :])


class _Payload:
    """Pickles as a call of os.system with `command` (harmless: it is never unpickled)."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def _private_key(rng: random.Random) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    lines = ["".join(rng.choice(alphabet) for _ in range(64)) for _ in range(8)]
    return "\n".join(lines)


def _gguf(metadata: dict[str, str]) -> bytes:
    def text(value: str) -> bytes:
        return struct.pack("<Q", len(value.encode())) + value.encode()

    pairs = [text(k) + struct.pack("<I", 8) + text(v) for k, v in metadata.items()]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs)) + b"".join(pairs)


def _keras(token_line: str) -> bytes:
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": [], "comment": token_line},
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        archive.writestr("config.json", json.dumps(config))
    return buffer.getvalue()


def plant(root: Path) -> tuple[Path, Path, list[Planted]]:
    """The project (with its models) and the image; every secret planted, and where."""
    project, models = root / "ml", root / "ml" / "models"
    for directory in (project / "notebooks", project / "configs", project / "deploy", models):
        directory.mkdir(parents=True)
    planted = [*_plant_files(project), *_plant_models(models)]
    image, in_image = _plant_image(root)
    return project, image, [*planted, *in_image]


def _plant_files(project: Path) -> list[Planted]:
    """Secrets in the project's text files: .env, a notebook, configs, a Dockerfile, a key."""
    planted: list[Planted] = []
    env = fake_secrets("dotenv")
    (project / ".env").write_text("\n".join(f.line for f in env) + "\n")
    planted += [_from(f, ".env") for f in env]

    hf = fake_secret("MLS-SECRET-HUGGINGFACE", "notebook")
    cell = {"cell_type": "code", "execution_count": 1, "metadata": {}, "source": ["login()"]}
    cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": [f"{hf.token}\n"]}]
    document = {"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    (project / "notebooks" / "train.ipynb").write_text(json.dumps(document, indent=1))
    planted.append(_from(hf, "notebooks/train.ipynb"))

    wandb = fake_secret("MLS-SECRET-WANDB", "yaml")
    kaggle = fake_secret("MLS-SECRET-KAGGLE", "yaml")
    (project / "configs" / "train.yaml").write_text(
        f"trainer:\n  epochs: 3\n  wandb_api_key: {wandb.token}\nkaggle_key: '{kaggle.token}'\n"
    )
    planted += [_from(wandb, "configs/train.yaml"), _from(kaggle, "configs/train.yaml")]

    openai = fake_secret("MLS-SECRET-OPENAI", "dockerfile")
    anthropic = fake_secret("MLS-SECRET-ANTHROPIC", "dockerfile")
    groq = fake_secret("MLS-SECRET-GROQ", "dockerfile")
    (project / "Dockerfile").write_text(
        "FROM python:3.11-slim\n"
        f"ENV OPENAI_API_KEY={openai.token}\n"
        f'RUN curl -H "x-api-key: {anthropic.token}" https://api.example.invalid/v1\n'
        f"GROQ_API_KEY={groq.token}\n"  # not an instruction: Trivy's parser quotes it
    )
    planted += [_from(f, "Dockerfile") for f in (openai, anthropic, groq)]

    replicate = fake_secret("MLS-SECRET-REPLICATE", "kserve")
    (project / "deploy" / "isvc.yaml").write_text(
        "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\n"
        "metadata:\n  name: llm\nspec:\n  predictor:\n    containers:\n"
        "      - name: server\n        image: example/llm:latest\n"
        "        securityContext:\n          privileged: true\n"
        "        env:\n          - name: REPLICATE_API_TOKEN\n"
        f"            value: {replicate.token}\n"
    )
    planted.append(_from(replicate, "deploy/isvc.yaml"))

    body = _private_key(random.Random("private key"))
    (project / "id_rsa").write_text(f"{BEGIN}\n{body}\n{END}\n")
    planted += [Planted("private-key", "id_rsa", line) for line in body.splitlines()]
    return planted


def _plant_models(models: Path) -> list[Planted]:
    """Secrets inside model files: a pickle's values and call, Keras config, GGUF metadata."""
    planted: list[Planted] = []
    pickled = fake_secrets("pickle")
    config = {"lr": 0.001, **{f.name: f.value for f in pickled}}
    (models / "config.pkl").write_bytes(pickle.dumps(config, protocol=4))
    planted += [_from(f, "models/config.pkl") for f in pickled]
    # The model finding quotes the call's first 40 characters: the token, cut short.
    payload = fake_secret("MLS-SECRET-HUGGINGFACE", "payload")
    command = f"export HF_TOKEN={payload.token}; curl https://example.invalid"
    (models / "payload.pkl").write_bytes(pickle.dumps(_Payload(command), protocol=4))
    planted.append(_from(payload, "models/payload.pkl"))
    comet = fake_secret("MLS-SECRET-COMET", "keras")
    (models / "model.keras").write_bytes(_keras(comet.line))
    planted.append(_from(comet, "models/model.keras"))
    langsmith = fake_secret("MLS-SECRET-LANGSMITH", "gguf")
    (models / "model.gguf").write_bytes(_gguf({"general.source": langsmith.line}))
    planted.append(_from(langsmith, "models/model.gguf"))
    return planted


def _plant_image(root: Path) -> tuple[Path, list[Planted]]:
    """An image with secrets in a layer's files and in its config's environment."""
    layer = fake_secret("MLS-SECRET-HUGGINGFACE", "layer")
    aws = fake_secret("MLS-SECRET-AWS-SECRET-KEY", "layer")
    neptune = fake_secret("MLS-SECRET-NEPTUNE", "image-env")
    image = build_secret_image(root / "image.tar", token=layer, dotenv=aws, env=neptune)
    return image, [_from(f, str(image)) for f in (layer, aws, neptune)]


def leaks(outputs: dict[str, str], planted: list[Planted]) -> list[tuple[str, str, str]]:
    """(output, rule, target) for every planted secret some 8 characters of which appear,
    in any letter case (Trivy lower-cases a line it quotes in an error)."""
    found = []
    for name, text in outputs.items():
        lowered = text.lower()
        for item in planted:
            part = item.secret.lower()
            windows = {part[i : i + WINDOW] for i in range(len(part) - WINDOW + 1)}
            if any(window in lowered for window in windows):
                found.append((name, item.rule_id, item.target))
    return found


def found_secrets(report_file: Path) -> set[tuple[str, str]]:
    report = load_report(report_file)
    return {(f["id"], f["target"]) for f in report["findings"] if f["kind"] == "secret"}


def expected(planted: list[Planted]) -> set[tuple[str, str]]:
    return {(item.rule_id, item.target) for item in planted}


def read_all(directory: Path) -> dict[str, str]:
    """Every file under `directory`, as text (bytes that are not UTF-8 replaced)."""
    return {
        str(path): path.read_bytes().decode("utf-8", "replace")
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.fixture(scope="module")
def planted_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[Planted]]:
    return plant(tmp_path_factory.mktemp("planted"))


def test_the_cli_finds_every_secret_and_prints_none(trivy_bin, trivy_cache, planted_project):
    project, image, planted = planted_project
    out = project.parent / "cli-out"
    out.mkdir()
    proc = scan_cli(
        trivy_bin, trivy_cache, ".", "--model", "models", "--image", str(image),
        "--json", str(out / "r.json"), "--sarif", str(out / "r.sarif"),
        "--summary", str(out / "summary.md"), "--sbom", str(out / "bom.cdx.json"),
        "--annotations", cwd=project,
    )  # fmt: skip

    assert proc.returncode == 1, proc.stderr
    assert expected(planted) <= found_secrets(out / "r.json")
    ids = {(f["id"], f["target"]) for f in load_report(out / "r.json")["findings"]}
    # (The Dockerfile gets no DS-* check: Trivy cannot parse it, and a note says so.)
    assert ("MLS-KSERVE-PRIVILEGED", "deploy/isvc.yaml") in ids
    assert ("MLS-PICKLE-DENY", "models/payload.pkl") in ids
    outputs = {"stdout": proc.stdout, "stderr": proc.stderr, **read_all(out)}
    # The Dockerfile line Trivy cannot parse reaches the notes: scrubbed, but there.
    assert "Failed to parse file" in outputs["stdout"]
    # The ML-BOM names the models and their findings too (pickle calls quoted, scrubbed).
    bom = outputs[str(out / "bom.cdx.json")]
    assert "machine-learning-model" in bom and "MLS-PICKLE-DENY" in bom
    assert leaks(outputs, planted) == []


def test_the_action_finds_every_secret_and_prints_none(
    tmp_path, trivy_bin, trivy_cache, planted_project, httpserver: HTTPServer, capfd
):
    project, image, planted = planted_project
    comments = "/repos/octo/ml/issues/7/comments"
    httpserver.expect_request(comments, method="GET").respond_with_json([])
    httpserver.expect_request(comments, method="POST").respond_with_json(
        {"id": 9, "html_url": "https://gh/c/9"}, status=201
    )
    env = github_env(
        tmp_path, trivy_bin, trivy_cache,
        MLSECOPS_PATH=str(project),
        MLSECOPS_MODELS=str(project / "models"),
        MLSECOPS_IMAGES=str(image),
        MLSECOPS_PR_COMMENT="true",
        MLSECOPS_SBOM_FILE=str(tmp_path / "bom.cdx.json"),
        GITHUB_EVENT_NAME="pull_request",
        GITHUB_EVENT_PATH=pr_event(tmp_path, "octo/ml"),
    )  # fmt: skip

    assert entrypoint.main(env) == 1
    assert entrypoint.main(comment_env(env, httpserver.url_for("").rstrip("/")), ["comment"]) == 0

    captured = capfd.readouterr()
    [(request, _)] = [c for c in httpserver.log if c[0].method == "POST"]
    outputs = {
        "stdout": captured.out,
        "stderr": captured.err,
        "PR comment": request.get_json()["body"],
        **read_all(tmp_path),
    }
    found = {(rule, Path(target).name) for rule, target in found_secrets(tmp_path / "r.json")}
    assert {(rule, Path(target).name) for rule, target in expected(planted)} <= found
    report = load_report(tmp_path / "r.json")
    step = read_outputs(tmp_path / "output")
    for kind, name in (("secret", "secrets"), ("misconfiguration", "misconfigurations")):
        assert step[name] == str(sum(report["counts_by_kind"][kind].values())) != "0"
    assert "MLS-SECRET-HUGGINGFACE" in outputs["PR comment"]
    assert "machine-learning-model" in outputs[str(tmp_path / "bom.cdx.json")]
    assert leaks(outputs, planted) == []


def test_the_leak_check_itself_catches_a_printed_token(planted_project):
    """A check that cannot fail proves nothing: one token, lower-cased, is caught."""
    _, _, planted = planted_project
    token = planted[0].secret
    assert leaks({"log": f"error: {token.lower()[2:12]} ..."}, planted[:1]) == [
        ("log", planted[0].rule_id, planted[0].target)
    ]
    assert leaks({"log": base64.b64encode(b"nothing here").decode()}, planted[:1]) == []
