"""Fake credentials: generated, rule-shaped, never real, one maker per shipped secret rule.

Each token has the shape its rule looks for, with random characters from a seeded generator
(so a test run is repeatable) and, where the alphabet allows, the letters FAKE in it. They
exist only while a test runs: nothing here, nor anywhere in the repository, is a real token.

`leaked(text, token)` is how the tests look for a token in output: any run of 8 characters
of its random part counts, so a secret printed with one character cut off is still caught.
"""

from __future__ import annotations

import base64
import json
import random
import string
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .images import build_docker_archive

_ALNUM = string.ascii_letters + string.digits
_UPPER_ALNUM = string.ascii_uppercase + string.digits
_LOWER_ALNUM = string.ascii_lowercase + string.digits
_URLSAFE = _ALNUM + "-_"
_BASE64 = _ALNUM + "+/"
_HEX = "0123456789abcdef"
WINDOW = 8  # characters of a token's random part that count as a leak


@dataclass(frozen=True)
class FakeSecret:
    """One generated token and the line that plants it, as a file would hold it."""

    rule_id: str
    token: str  # the credential itself: what the rule's `secret` group captures
    line: str  # the token in its usual context (`HF_TOKEN=...`), for .env-like files
    name: str  # the environment variable it usually lives in
    fixed: int  # length of the token's fixed prefix (not random, so not a leak by itself)
    stored: str = ""  # the value a config holds under `name`, when not the token alone

    @property
    def value(self) -> str:
        """What a config (a dict, metadata) holds under `name`: usually the token itself."""
        return self.stored or self.token


def _pick(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


def _env(rule_id: str, name: str, token: str, fixed: int) -> FakeSecret:
    return FakeSecret(rule_id, token, f"{name}={token}", name, fixed)


def _neptune(rng: random.Random) -> FakeSecret:
    key = f"{_pick(rng, _HEX, 8)}-fa4e-4fa4-8e00-{_pick(rng, _HEX, 12)}"
    payload = {"api_address": "https://app.neptune.ai", "api_url": "https://app.neptune.ai"}
    text = json.dumps({**payload, "api_key": key}, separators=(",", ":"))
    token = base64.b64encode(text.encode()).decode()
    # The base64 of the fixed JSON head is not random: only the key's part counts.
    return _env("MLS-SECRET-NEPTUNE", "NEPTUNE_API_TOKEN", token, 120)


def _kaggle(rng: random.Random) -> FakeSecret:
    token = _pick(rng, _HEX, 32)
    line = json.dumps({"username": "fake-user", "key": token})
    return FakeSecret("MLS-SECRET-KAGGLE", token, line, "KAGGLE_KEY", 0)


def _azure(rng: random.Random) -> FakeSecret:
    token = "FAKE" + _pick(rng, _BASE64, 82) + "=="
    line = (
        "DefaultEndpointsProtocol=https;AccountName=fakeaccount;"
        f"AccountKey={token};EndpointSuffix=core.windows.net"
    )
    return FakeSecret("MLS-SECRET-AZURE-STORAGE-KEY", token, line, "AZURE_STORAGE", 0, line)


_MAKERS: dict[str, Callable[[random.Random], FakeSecret]] = {
    "MLS-SECRET-HUGGINGFACE": lambda r: _env(
        "MLS-SECRET-HUGGINGFACE", "HF_TOKEN", "hf_FAKE" + _pick(r, _ALNUM, 30), 3
    ),
    "MLS-SECRET-OPENAI": lambda r: _env(
        "MLS-SECRET-OPENAI",
        "OPENAI_API_KEY",
        "sk-proj-FAKE" + _pick(r, _URLSAFE, 70) + "T3BlbkFJ" + _pick(r, _URLSAFE, 74),
        8,
    ),
    "MLS-SECRET-ANTHROPIC": lambda r: _env(
        "MLS-SECRET-ANTHROPIC",
        "ANTHROPIC_API_KEY",
        "sk-ant-api03-FAKE" + _pick(r, _URLSAFE, 89) + "AA",
        13,
    ),
    "MLS-SECRET-REPLICATE": lambda r: _env(
        "MLS-SECRET-REPLICATE", "REPLICATE_API_TOKEN", "r8_FAKE" + _pick(r, _ALNUM, 33), 3
    ),
    "MLS-SECRET-GROQ": lambda r: _env(
        "MLS-SECRET-GROQ", "GROQ_API_KEY", "gsk_FAKE" + _pick(r, _ALNUM, 48), 4
    ),
    "MLS-SECRET-WANDB": lambda r: _env("MLS-SECRET-WANDB", "WANDB_API_KEY", _pick(r, _HEX, 40), 0),
    "MLS-SECRET-KAGGLE": _kaggle,
    "MLS-SECRET-COMET": lambda r: _env(
        "MLS-SECRET-COMET", "COMET_API_KEY", _pick(r, _LOWER_ALNUM, 25), 0
    ),
    "MLS-SECRET-NEPTUNE": _neptune,
    "MLS-SECRET-LANGSMITH": lambda r: _env(
        "MLS-SECRET-LANGSMITH",
        "LANGSMITH_API_KEY",
        f"lsv2_pt_{_pick(r, _HEX, 32)}_{_pick(r, _HEX, 10)}",
        8,
    ),
    "MLS-SECRET-AWS-ACCESS-KEY": lambda r: _env(
        "MLS-SECRET-AWS-ACCESS-KEY",
        "AWS_ACCESS_KEY_ID",
        "AKIAFAKE" + _pick(r, _UPPER_ALNUM, 12),
        4,
    ),
    "MLS-SECRET-AWS-SECRET-KEY": lambda r: _env(
        "MLS-SECRET-AWS-SECRET-KEY", "AWS_SECRET_ACCESS_KEY", "FAKE" + _pick(r, _BASE64, 36), 0
    ),
    "MLS-SECRET-GCP-API-KEY": lambda r: _env(
        "MLS-SECRET-GCP-API-KEY", "GOOGLE_API_KEY", "AIzaFAKE" + _pick(r, _URLSAFE, 31), 4
    ),
    "MLS-SECRET-AZURE-STORAGE-KEY": _azure,
}

RULE_IDS: tuple[str, ...] = tuple(_MAKERS)


def fake_secret(rule_id: str, seed: int | str = 0) -> FakeSecret:
    """A fresh token for `rule_id`; the same (rule, seed) always gives the same token."""
    return _MAKERS[rule_id](random.Random(f"{rule_id}/{seed}"))


def fake_secrets(seed: int | str = 0) -> list[FakeSecret]:
    """One token of every rule, all different from those of any other seed."""
    return [fake_secret(rule_id, seed) for rule_id in RULE_IDS]


def leaked(text: str, secret: FakeSecret) -> bool:
    """True when any 8 characters in a row of the token's random part occur in `text`."""
    random_part = secret.token[secret.fixed :]
    return any(random_part[i : i + WINDOW] in text for i in range(len(random_part) - WINDOW + 1))


def build_secret_image(
    path: Path, *, token: FakeSecret, dotenv: FakeSecret, env: FakeSecret
) -> Path:
    """A docker archive with secrets where ML images leak them: `token` as a Hugging Face
    token file and `dotenv` in an app's `.env` (both in a layer), `env` in the config's ENV."""
    return build_docker_archive(
        path,
        dpkg=[("bash", "bash", "5.2.15-2+b2")],
        python_packages=[("requests", "2.19.1")],
        extra_files={
            "root/.cache/huggingface/token": f"{token.token}\n".encode(),
            "app/.env": f"{dotenv.line}\n".encode(),
        },
        env=[env.line],
    )
