"""Secrets in model files: the strings the model scanner reads go through the same rules.

Pickled dicts (every protocol), a Keras config, a tokenizer config, GGUF metadata and
safetensors `__metadata__`, all built here with fake tokens.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import pytest

from mlsecops.core.findings import Kind
from mlsecops.modelscan.source import ModelScan
from mlsecops.secretscan.findings import SECRET_PROPERTY
from tests.support.fake_secrets import FakeSecret, fake_secret, fake_secrets, leaked

ALL_RULES = {fake.rule_id for fake in fake_secrets()}


def secrets_in(*paths: Path) -> dict[tuple[str, str], str]:
    """(rule id, file name) -> the finding's location, for every secret the scan found."""
    result = ModelScan(paths).scan()
    return {
        (f.id, Path(f.target).name): f.location for f in result.findings if f.kind is Kind.SECRET
    }


def gguf(metadata: dict[str, str]) -> bytes:
    """A GGUF v3 header with string metadata only (no tensors)."""

    def text(value: str) -> bytes:
        data = value.encode()
        return struct.pack("<Q", len(data)) + data

    pairs = [text(key) + struct.pack("<I", 8) + text(value) for key, value in metadata.items()]
    return b"GGUF" + struct.pack("<IQQ", 3, 0, len(pairs)) + b"".join(pairs)


def safetensors(metadata: dict[str, str]) -> bytes:
    header = json.dumps(
        {
            "__metadata__": metadata,
            "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},
        }
    ).encode()
    return struct.pack("<Q", len(header)) + header + b"\x00" * 4


def keras(config_extra: dict[str, object]) -> bytes:
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {"name": "sequential", "layers": []},
        **config_extra,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        archive.writestr("config.json", json.dumps(config))
    return buffer.getvalue()


@pytest.mark.parametrize("protocol", [0, 2, 4, 5])
def test_every_rule_in_a_pickled_dict(tmp_path: Path, protocol: int) -> None:
    fakes = fake_secrets(f"pickle-{protocol}")
    config = {"lr": 0.001, **{fake.name: fake.value for fake in fakes}}
    (tmp_path / "config.pkl").write_bytes(pickle.dumps(config, protocol=protocol))

    found = secrets_in(tmp_path)

    assert {rule for rule, _ in found} == ALL_RULES
    # The location says where, and names the key: never the value.
    wandb = next(f for f in fakes if f.rule_id == "MLS-SECRET-WANDB")
    assert found[("MLS-SECRET-WANDB", "config.pkl")].endswith("value of WANDB_API_KEY")
    assert not leaked(json.dumps(list(found.values())), wandb)


def test_a_token_pickled_as_bytes_or_nested_in_an_object(tmp_path: Path) -> None:
    hf = fake_secret("MLS-SECRET-HUGGINGFACE", "bytes")
    groq = fake_secret("MLS-SECRET-GROQ", "nested")
    state = {"meta": [{"hub": {"auth": hf.token.encode()}}], "clients": (groq.token,)}
    (tmp_path / "state.pt").write_bytes(pickle.dumps(state, protocol=2))

    found = secrets_in(tmp_path / "state.pt")

    assert set(found) == {
        ("MLS-SECRET-HUGGINGFACE", "state.pt"),
        ("MLS-SECRET-GROQ", "state.pt"),
    }


def test_a_keras_config_a_tokenizer_config_gguf_and_safetensors(tmp_path: Path) -> None:
    places: dict[str, FakeSecret] = {
        "model.keras": fake_secret("MLS-SECRET-OPENAI", "keras"),
        "tokenizer_config.json": fake_secret("MLS-SECRET-HUGGINGFACE", "tokenizer"),
        "model.gguf": fake_secret("MLS-SECRET-WANDB", "gguf"),
        "model.safetensors": fake_secret("MLS-SECRET-REPLICATE", "safetensors"),
    }
    keras_fake = places["model.keras"]
    (tmp_path / "model.keras").write_bytes(keras({"api_key": keras_fake.token}))
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"model_max_length": 512, "token": places["tokenizer_config.json"].token})
    )
    wandb = places["model.gguf"]
    gguf_data = gguf({"general.architecture": "llama", "general.wandb_api_key": wandb.token})
    (tmp_path / "model.gguf").write_bytes(gguf_data)
    replicate = places["model.safetensors"]
    (tmp_path / "model.safetensors").write_bytes(safetensors({"source": replicate.line}))

    found = secrets_in(tmp_path)

    assert set(found) == {(fake.rule_id, name) for name, fake in places.items()}
    # A W&B key is 40 hex digits: the rule needs its key's name, which GGUF keeps apart.
    assert found[("MLS-SECRET-WANDB", "model.gguf")] == "metadata key general.wandb_api_key"


def test_a_whole_text_file_gives_the_line(tmp_path: Path) -> None:
    fake = fake_secret("MLS-SECRET-ANTHROPIC", "line")
    (tmp_path / "config.json").write_text('{\n  "a": 1,\n  "key": "' + fake.token + '"\n}\n')

    [finding] = [f for f in ModelScan((tmp_path,)).scan().findings if f.kind is Kind.SECRET]

    assert (finding.line, finding.properties[SECRET_PROPERTY]) == (
        3,
        f"{fake.token[:4]}… ({len(fake.token)} characters)",
    )


def test_without_the_secret_scanner_model_strings_are_not_matched(tmp_path: Path) -> None:
    fake = fake_secret("MLS-SECRET-HUGGINGFACE", "off")
    (tmp_path / "config.pkl").write_bytes(pickle.dumps({"HF_TOKEN": fake.token}))

    result = ModelScan((tmp_path,), secrets=False).scan()

    assert [f for f in result.findings if f.kind is Kind.SECRET] == []


class _Call:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def test_a_finding_that_quotes_a_call_never_quotes_its_secret(tmp_path: Path) -> None:
    """The pickle finding quotes the call's argument, cut at 40 characters: the token is cut
    short, so no rule matches it; the collector knows it whole, and it is scrubbed anyway,
    with the secret scanner on or off."""
    fake = fake_secret("MLS-SECRET-HUGGINGFACE", "call")
    command = f"export HF_TOKEN={fake.token}; curl https://example.invalid"
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(_Call(command), protocol=4))

    for secrets in (True, False):
        result = ModelScan((tmp_path,), secrets=secrets).scan()
        deny = [f for f in result.findings if f.id == "MLS-PICKLE-DENY"]
        assert deny and "export HF_TOKEN=hf_F…" in deny[0].description
        assert not leaked(repr(result.findings), fake)
        assert any(f.kind is Kind.SECRET for f in result.findings) is secrets


def test_no_rule_finds_a_string_shorter_than_the_pickle_machine_keeps() -> None:
    """The machine skips strings under MIN_SECRET_TEXT (its hot path); a new rule for a
    shorter credential must lower it."""
    from mlsecops.modelscan.pickle_ops import MIN_SECRET_TEXT

    assert min(len(fake.token) for fake in fake_secrets("min")) >= MIN_SECRET_TEXT
