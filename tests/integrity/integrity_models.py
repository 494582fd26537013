"""Real model trees for the integrity tests, and a way to run the real CLI."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

SHARD_BYTES = 300_000

# A small Hugging Face style model: shards, config, tokenizer, hidden files, nested folders,
# an empty file, and names with spaces and non-ASCII characters.
HF_FILES: dict[str, bytes] = {
    "config.json": b'{"model_type": "bert", "hidden_size": 64}\n',
    "model-00001-of-00002.safetensors": random.Random(1).randbytes(SHARD_BYTES),
    "model-00002-of-00002.safetensors": random.Random(2).randbytes(SHARD_BYTES),
    "model.safetensors.index.json": b'{"weight_map": {}}\n',
    "tokenizer.json": b'{"version": "1.0", "vocab": {"a": 0}}\n',
    "special_tokens_map.json": b"{}\n",
    ".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n",
    ".github/workflows/ci.yml": b"on: push\n",
    "sub dir/\u00fcn\u00efc\u00f8d\u00e9 name.txt": b"hello\n",
    "nested/a/b/c/deep.txt": b"deep\n",
    "empty.bin": b"",
}


def write(path: Path, data: bytes) -> Path:
    """Create `path` (and its parents) holding `data`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def make_hf_model(directory: Path, files: dict[str, bytes] | None = None) -> Path:
    """Write a model directory; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in (HF_FILES if files is None else files).items():
        write(directory / name, data)
    return directory


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any GitHub Actions variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env.update(extra)
    return env


def run_cli(
    *args: str | Path, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`python -m mlsecops ARGS` in `cwd`, output captured."""
    return subprocess.run(
        [sys.executable, "-m", "mlsecops", *map(str, args)],
        cwd=cwd,
        env=clean_env() if env is None else env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
