"""The real `python -m mlsecops hash|verify`, as a user runs it: exit codes and output."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from functools import partial
from pathlib import Path

import pytest

from mlsecops.cli.integrity import key_from_environ
from mlsecops.errors import UsageError
from tests.integrity.integrity_models import clean_env, make_hf_model, run_cli, write

KEY = "a-repository-secret-of-32-chars!"


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return make_hf_model(tmp_path / "work" / "out" / "model")


def test_round_trip_from_another_directory_with_relative_paths(tmp_path: Path, model: Path) -> None:
    work = tmp_path / "work"
    hashed = run_cli(
        "hash", "out/model", "--manifest", "model.json", "--sha256sum", "m.sha256", cwd=work
    )
    assert hashed.returncode == 0, hashed.stderr
    digest = hashed.stdout.splitlines()[-1]
    data = json.loads((work / "model.json").read_text(encoding="utf-8"))
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert digest == "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
    assert hashed.stderr == ""

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    verified = run_cli(
        "verify",
        "../work/out/model",
        "--manifest",
        "../work/model.json",
        "--expected-digest",
        digest,
        cwd=elsewhere,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith("OK: ../work/out/model matches the manifest: 11 files")
    assert "expected digest: matches" in verified.stdout


def test_the_seed_recipes_single_onnx_file(tmp_path: Path) -> None:
    write(tmp_path / "final_model.onnx", b"\x08\x07" + bytes(range(256)) * 40)
    args = ("final_model.onnx", "--manifest", "final_model.onnx.json")
    hashed = run_cli("hash", *args, cwd=tmp_path)
    assert hashed.returncode == 0, hashed.stderr
    digest = hashed.stdout.splitlines()[-1]
    verify = partial(run_cli, "verify", *args, "--expected-digest", digest, cwd=tmp_path)
    ok = verify()
    assert ok.returncode == 0, ok.stdout
    with (tmp_path / "final_model.onnx").open("ab") as handle:
        handle.write(b"\0")
    bad = verify()
    assert bad.returncode == 1
    assert bad.stdout.splitlines()[:3] == [
        "FAILED: 1 difference(s) between final_model.onnx and the manifest",
        "  changed (1):",
        "    final_model.onnx: extended: 10242 -> 10243 bytes",
    ]


def test_tampering_exits_1_with_the_grouped_differences(tmp_path: Path, model: Path) -> None:
    assert run_cli("hash", model, "--manifest", "m.json", cwd=tmp_path).returncode == 0
    (model / "tokenizer.json").unlink()
    write(model / "new folder" / "payload.py", b"import os\n")
    write(model / "config.json", b"{}")
    done = run_cli("verify", model, "--manifest", "m.json", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines()[1:7] == [
        "  changed (1):",
        "    config.json: truncated: 42 -> 2 bytes",
        "  missing (1):",
        "    tokenizer.json",
        "  added (1):",
        "    new folder/payload.py: 10 bytes",
    ]


def test_a_symlink_in_the_model_is_refused_by_hash_and_fails_verify(
    tmp_path: Path, model: Path
) -> None:
    assert run_cli("hash", model, "--manifest", "m.json", cwd=tmp_path).returncode == 0
    (model / "evil").symlink_to("/etc")
    refused = run_cli("hash", model, "--manifest", "m2.json", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.startswith("mlsecops: error: ") and "evil -> /etc" in refused.stderr
    assert len(refused.stderr.splitlines()) == 1 and not (tmp_path / "m2.json").exists()
    failed = run_cli("verify", model, "--manifest", "m.json", cwd=tmp_path)
    assert (
        failed.returncode == 1 and "    evil: symlink to '/etc' (never followed)" in failed.stdout
    )


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, model: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "wrong.json").write_text('{"schema_version": 1}', encoding="utf-8")
    for args in [
        ("verify", model, "--manifest", "broken.json"),
        ("verify", model, "--manifest", "wrong.json"),
        ("verify", model, "--manifest", "absent.json"),
        ("verify", model, "--manifest", "broken.json", "--expected-digest", "md5:abc"),
        ("verify", model, "--manifest", "broken.json", "--key-env", "NO_SUCH_VAR"),
        ("hash", model, "--manifest", "m.json", "--key-env", "NO_SUCH_VAR"),
        ("hash", model, "--manifest", model / "inside.json"),
        ("hash", tmp_path / "absent", "--manifest", "m.json"),
        ("hash", model, "--manifest", "m.json", "--jobs", "0"),
        ("hash", model),
    ]:
        done = run_cli(*args, cwd=tmp_path)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.splitlines()) == 1, done.stderr
        assert done.stdout == ""
    assert not (model / "inside.json").exists()


def test_hmac_signing_round_trip(tmp_path: Path, model: Path) -> None:
    env = clean_env(MODEL_HMAC_KEY=KEY)
    args = (model, "--manifest", "m.json", "--key-env", "MODEL_HMAC_KEY")
    hashed = run_cli("hash", *args, cwd=tmp_path, env=env)
    assert hashed.returncode == 0 and "(HMAC-signed)" in hashed.stdout
    verify = partial(run_cli, "verify", *args, cwd=tmp_path)
    good = verify(env=env)
    assert good.returncode == 0 and "HMAC signature: valid" in good.stdout
    bad = verify(env=clean_env(MODEL_HMAC_KEY="not-the-key-the-manifest-used!!"))
    assert bad.returncode == 1 and "the HMAC does not match" in bad.stdout


def test_inside_actions_the_run_is_recorded(tmp_path: Path, model: Path) -> None:
    env = clean_env(
        GITHUB_ACTIONS="true",
        GITHUB_REPOSITORY="acme/models",
        GITHUB_SHA="f" * 40,
        GITHUB_WORKFLOW_REF="acme/models/.github/workflows/train.yml@refs/heads/main",
        GITHUB_RUN_ID="42",
        GITHUB_RUN_ATTEMPT="1",
    )
    assert run_cli("hash", model, "--manifest", "m.json", cwd=tmp_path, env=env).returncode == 0
    verified = run_cli("verify", model, "--manifest", "m.json", cwd=tmp_path)
    assert verified.returncode == 0
    assert verified.stdout.splitlines()[-2] == (
        "made in: acme/models at ffffffffffff, "
        "acme/models/.github/workflows/train.yml@refs/heads/main, run 42 attempt 1"
    )
    provenance = json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))["provenance"]
    assert provenance == {
        "repository": "acme/models",
        "commit": "f" * 40,
        "workflow_ref": "acme/models/.github/workflows/train.yml@refs/heads/main",
        "run_id": "42",
        "run_attempt": "1",
    }


def test_the_key_comes_from_a_set_long_enough_variable() -> None:
    assert key_from_environ("K", {"K": KEY}) == KEY.encode()
    for environ in ({}, {"K": ""}):
        with pytest.raises(UsageError, match=r"^--key-env K: the environment variable is not set"):
            key_from_environ("K", environ)
    with pytest.raises(UsageError, match=r"^--key-env K: the key is 6 bytes, fewer than 16"):
        key_from_environ("K", {"K": "secret"})


def test_a_reader_that_leaves_early_is_one_line_and_no_pass(tmp_path: Path, model: Path) -> None:
    # `mlsecops hash ... | head -1`: the reader of stdout is gone before the digest is printed.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mlsecops", "hash", str(model), "--manifest", "m.json"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "stdout was closed before all output was written" in proc.stderr
    assert "internal error" not in proc.stderr and "Exception ignored" not in proc.stderr
