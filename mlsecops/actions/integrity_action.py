"""The integrity action's entrypoint: `python -m mlsecops.actions.integrity_action STEP`.

STEP is `prepare` (check every input, before anything is hashed or downloaded), `generate`,
or `verify`. action.yml passes inputs only through `env:`; `action_inputs` reads them into a
config once; this module calls the core, and writes step outputs, the job summary and the
exit code.

Artifact layout: the model (file or directory) and, beside it, `<name>.mlsecops.json` (and
`<name>.sha256` and `<name>.cdx.json`, the model's CycloneDX document, when asked for).
upload-artifact roots the artifact at their common parent, so the downloaded artifact holds
exactly those names at its top.
"""

from __future__ import annotations

import dataclasses
import html
import os
import stat
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from mlsecops.actions.integrity_inputs import Config, read_config
from mlsecops.cli.integrity import write_model_bom
from mlsecops.errors import EXIT_FAILED, EXIT_PASSED, UsageError, run_guarded
from mlsecops.github.commands import command, stop_commands
from mlsecops.github.env_files import append, format_outputs
from mlsecops.integrity.attestation import attestation_problem
from mlsecops.integrity.create import check_outputs, hash_model, write_outputs
from mlsecops.integrity.hashing import default_jobs
from mlsecops.integrity.manifest import Manifest, read_manifest
from mlsecops.integrity.provenance import provenance_from_environ
from mlsecops.integrity.report import render_markdown, render_text
from mlsecops.integrity.sha256sum import sha256sum_text
from mlsecops.integrity.signing import sign
from mlsecops.integrity.verify import UNCHECKED_SIGNATURE, Difference, Verdict, verify_model
from mlsecops.reports.bom_models import bom_problem

MANIFEST_SUFFIX = ".mlsecops.json"
SHA256SUM_SUFFIX = ".sha256"
SBOM_SUFFIX = ".cdx.json"


def prepare(config: Config, runner_temp: Path) -> dict[str, str]:
    """The checked inputs the YAML branches on and passes to later steps (artifact-name is
    the action's output too), and in verify mode a fresh download dir."""
    outputs = {
        "mode": config.mode,
        "artifact-name": config.artifact_name,
        "attest": _text(config.attest),
        "retention-days": str(config.retention_days),
    }
    if config.mode == "verify":
        runner_temp.mkdir(parents=True, exist_ok=True)
        # A new empty directory: leftovers could never pass as part of the artifact.
        outputs["download-dir"] = tempfile.mkdtemp(prefix="mlsecops-integrity-", dir=runner_temp)
    return outputs


def generate(config: Config, environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """Hash the model, write manifest (and sha256sum file) beside it: outputs and summary."""
    assert config.model_path is not None  # read_config guarantees it in generate mode
    model = config.model_path
    if not model.name:
        raise UsageError(f"model-path: {model} has no name to put the manifest beside")
    manifest_path = model.with_name(model.name + MANIFEST_SUFFIX)
    sums = model.with_name(model.name + SHA256SUM_SUFFIX) if config.sha256sum else None
    written = {"manifest": manifest_path}  # what is written beside the model, and uploaded
    if sums is not None:
        written["sha256sum file"] = sums
    sbom = model.with_name(model.name + SBOM_SUFFIX) if config.sbom else None
    if sbom is not None:
        written["sbom file"] = sbom
    check_outputs(model, written)
    manifest = hash_model(model, provenance_from_environ(environ), default_jobs())
    if config.key is not None:
        manifest = sign(manifest, config.key)
    write_outputs(manifest, manifest_path, sums)
    if sbom is not None:
        write_model_bom(model, manifest, sbom)
    digest = manifest.digest()
    outputs = {
        "manifest-digest": digest,
        "files": str(len(manifest.files)),
        "bytes": str(manifest.total_bytes),
        "manifest-path": str(manifest_path),
        "model-path": str(model),
        "sbom-path": str(sbom) if sbom is not None else "",
        "upload-paths": "\n".join(str(path) for path in [model, *written.values()]),
    }
    summary = (
        f"### Model integrity: manifest written\n\n| | |\n| --- | --- |\n"
        f"| Artifact | <code>{html.escape(config.artifact_name)}</code> |\n"
        f"| Files | {len(manifest.files):,} |\n| Bytes | {manifest.total_bytes:,} |\n"
        f"| Manifest digest | <code>{digest}</code> |\n"
        f"| HMAC signature | {'yes' if config.key else 'no'} |\n"
    )
    return outputs, summary


def verify(config: Config, download_dir: Path, gh: str = "gh") -> tuple[Verdict, dict[str, str]]:
    """Verify the downloaded artifact: the manifest beside the model, and nothing else."""
    top = sorted(entry.name for entry in os.scandir(download_dir))
    manifests = [name for name in top if name.endswith(MANIFEST_SUFFIX)]
    if len(manifests) != 1:
        found = ", ".join(manifests) or "none"
        detail = f"expected exactly one *{MANIFEST_SUFFIX} at the top, found {found}"
        nothing = Verdict(str(download_dir), "", 0, 0, manifest=(Difference("(artifact)", detail),))
        return nothing, {"verified": "false"}
    model_name = manifests[0].removesuffix(MANIFEST_SUFFIX)
    model, manifest_path = download_dir / model_name, download_dir / manifests[0]
    manifest = read_manifest(manifest_path)
    verdict = verify_model(model, manifest, default_jobs(), config.expected_digest, config.key)
    sums_name = model_name + SHA256SUM_SUFFIX
    sbom_name = model_name + SBOM_SUFFIX
    allowed = {model_name, manifests[0], sums_name, sbom_name}
    extra = [Difference(name, "not part of the model") for name in top if name not in allowed]
    if sums_name in top:  # shipped for `sha256sum -c`: it must say what the manifest says
        problem = _sha256sum_problem(download_dir / sums_name, manifest)
        if problem:
            extra.append(Difference(sums_name, problem))
    if sbom_name in top:  # the model's BOM travels with it: it must describe this manifest
        problem = _sbom_problem(download_dir / sbom_name, manifest)
        if problem:
            extra.append(Difference(sbom_name, problem))
    verdict = dataclasses.replace(verdict, outside=tuple(sorted(extra, key=lambda d: d.path)))
    if config.verify_attestation:
        problem = attestation_problem(manifest_path, config.repository, config.signer_workflow, gh)
        if problem:
            verdict = dataclasses.replace(
                verdict, manifest=(*verdict.manifest, Difference("attestation", problem))
            )
        else:
            check = ("attestation", f"signed by {config.signer_workflow}")
            verdict = dataclasses.replace(verdict, checks=(*verdict.checks, check))
    outputs = {
        "verified": _text(verdict.passed),
        "manifest-digest": verdict.digest,
        "files": str(verdict.files),
        "bytes": str(verdict.bytes),
        "model-path": str(model),
        "manifest-path": str(manifest_path),
    }
    return verdict, outputs


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    """Run one step of the action; returns the exit code of docs/interface.md."""
    environ = os.environ if environ is None else environ
    step = (sys.argv[1:] if argv is None else list(argv)) or [""]
    output_file = _path(environ, "GITHUB_OUTPUT")
    summary_file = _path(environ, "GITHUB_STEP_SUMMARY")

    def run() -> int:
        config = read_config(environ)
        if step[0] == "prepare":
            if config.mode == "verify" and not config.expected_digest:
                print(command("warning", _NO_DIGEST_WARNING, title="Model integrity"))
            runner_temp = Path(environ.get("RUNNER_TEMP") or tempfile.gettempdir())
            _emit(output_file, prepare(config, runner_temp))
            return EXIT_PASSED
        if step[0] == "generate":
            outputs, summary = generate(config, environ)
            _emit(output_file, outputs)
            _summarize(summary_file, summary)
            print(outputs["manifest-digest"])
            return EXIT_PASSED
        if step[0] == "verify":
            download_dir = _path(environ, "MLSECOPS_DOWNLOAD_DIR")
            if download_dir is None or not download_dir.is_dir():
                # Never fall back to the working directory: that is not the artifact.
                raise UsageError("MLSECOPS_DOWNLOAD_DIR is not a directory", "run the prepare step")
            verdict, outputs = verify(config, download_dir)
            start, end = stop_commands()  # file names must not run as commands
            print(start, render_text(verdict), end, sep="\n")
            if UNCHECKED_SIGNATURE in verdict.checks:  # a summary row is easy to miss
                print(command("warning", _UNCHECKED_SIGNATURE_WARNING, title="Model integrity"))
            _emit(output_file, outputs)
            _summarize(summary_file, render_markdown(verdict))
            if verdict.passed:
                return EXIT_PASSED
            message = f"{verdict.count()} difference(s) between the model and its manifest"
            print(command("error", message, title="Model integrity"))
            return EXIT_FAILED
        raise UsageError(f"unknown step {step[0]!r}", "use prepare, generate or verify")

    return run_guarded(run, _say)


def _say(message: str) -> None:
    print(command("error", message, title="Model integrity"))


_NO_DIGEST_WARNING = (
    "verifying without expected-digest: the manifest travelled with the artifact, so whoever "
    "can replace the artifact can replace both. Pass the generate job's manifest-digest."
)


def _sbom_problem(path: Path, manifest: Manifest) -> str | None:
    """Why the CycloneDX document beside the model does not describe `manifest`, or None."""
    text = _read_regular(path, _MAX_SBOM_BYTES)
    if text is None or len(text) > _MAX_SBOM_BYTES:
        return "is not a regular file of a readable size"
    try:
        return bom_problem(text.decode("utf-8"), manifest)
    except UnicodeDecodeError:
        return "is not UTF-8 text"


_MAX_SBOM_BYTES = 256 * 1024 * 1024  # far above any model's file list


def _read_regular(path: Path, limit: int) -> bytes | None:
    """Up to `limit` + 1 bytes of a regular file, never following a symlink; None otherwise."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            with os.fdopen(fd, "rb", closefd=False) as handle:
                return handle.read(limit + 1)
        finally:
            os.close(fd)
    except OSError:
        return None


def _sha256sum_problem(path: Path, manifest: Manifest) -> str | None:
    """Why the checksum file beside the model is not the one `manifest` gives, or None."""
    expected = sha256sum_text(manifest).encode("utf-8")
    try:
        # A symlink in its place is not followed (O_NOFOLLOW), a FIFO does not hang (O_NONBLOCK).
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return "not a regular file"
            with os.fdopen(fd, "rb", closefd=False) as handle:
                # One byte more than expected is enough to see a longer file.
                same = handle.read(len(expected) + 1) == expected
        finally:
            os.close(fd)
    except OSError as exc:
        return f"cannot be read: {exc.strerror or exc}"
    return None if same else "does not match the manifest"


_UNCHECKED_SIGNATURE_WARNING = (
    "the manifest is HMAC-signed, but no hmac-key was given: its signature was NOT checked. "
    "Pass the secret as hmac-key (secrets are empty in pull requests from forks)."
)


def _text(flag: bool) -> str:
    return "true" if flag else "false"


def _path(environ: Mapping[str, str], variable: str) -> Path | None:
    return Path(environ[variable]) if environ.get(variable) else None


def _emit(path: Path | None, outputs: Mapping[str, str]) -> None:
    if path is not None:
        append(path, format_outputs(outputs))


def _summarize(path: Path | None, markdown: str) -> None:
    if path is not None:
        append(path, markdown)


if __name__ == "__main__":
    sys.exit(main())
