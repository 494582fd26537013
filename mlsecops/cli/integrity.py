"""The `hash` and `verify` subcommands. Reads the environment (provenance, HMAC key) here,
once, and hands plain values to the core."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TypeVar

from mlsecops.errors import EXIT_FAILED, EXIT_PASSED, UsageError
from mlsecops.integrity.create import check_outputs, hash_model, write_outputs
from mlsecops.integrity.hashing import default_jobs
from mlsecops.integrity.manifest import Manifest, normalize_digest, read_manifest
from mlsecops.integrity.provenance import provenance_from_environ
from mlsecops.integrity.report import plural, render_text
from mlsecops.integrity.signing import check_key, sign
from mlsecops.integrity.verify import verify_model
from mlsecops.paths import write_text_atomic

P = TypeVar("P", bound=argparse.ArgumentParser)


def register(commands: argparse._SubParsersAction[P]) -> None:
    """Add `hash` and `verify` to the `mlsecops` command line."""
    hash_ = commands.add_parser(
        "hash",
        help="hash a model file or directory into a manifest",
        description="Hash every file of MODEL_PATH (hidden files too; symlinks refused) into a "
        "JSON manifest. The last line printed is the manifest digest, sha256:<hex>. Inside "
        "GitHub Actions the run's provenance is part of the manifest and its digest. "
        "Exit 0 written, 2 usage error or unreadable model, 3 tool error.",
    )
    _common(
        hash_,
        manifest_help="write the manifest here",
        key_help="sign the manifest with HMAC-SHA256, keyed by this environment variable",
    )
    hash_.add_argument(
        "--sha256sum",
        type=Path,
        metavar="FILE",
        help="also write a coreutils checksum file (`sha256sum -c FILE` from the model root)",
    )
    hash_.add_argument(
        "--sbom",
        type=Path,
        metavar="FILE",
        help="also write the model as a CycloneDX 1.6 machine-learning-model component: its "
        "files' SHA-256 and formats, and the manifest digest",
    )
    hash_.set_defaults(handler=_cmd_hash)

    verify = commands.add_parser(
        "verify",
        help="check a model against its manifest",
        description="Check that MODEL_PATH holds exactly the files of the manifest: none "
        "changed, missing, added, or replaced by a symlink. Every difference is listed. "
        "Exit 0 verified, 1 integrity failure, 2 usage error or invalid manifest, 3 tool error.",
    )
    _common(
        verify,
        manifest_help="the manifest to check",
        key_help="require a valid HMAC-SHA256 signature keyed by this environment variable",
    )
    verify.add_argument(
        "--expected-digest",
        type=_digest,
        metavar="sha256:HEX",
        help="fail unless the manifest's digest is this (pass it from a trusted place, e.g. "
        "the generating job's output, never from the artifact itself)",
    )
    verify.set_defaults(handler=_cmd_verify)


def _common(parser: argparse.ArgumentParser, manifest_help: str, key_help: str) -> None:
    """The arguments `hash` and `verify` share; only their help differs."""
    parser.add_argument("model", type=Path, metavar="MODEL_PATH", help="model file or directory")
    parser.add_argument("--manifest", type=Path, required=True, metavar="FILE", help=manifest_help)
    parser.add_argument("--key-env", metavar="VAR", help=key_help)
    parser.add_argument(
        "--jobs",
        type=_positive,
        default=default_jobs(),
        metavar="N",
        help="hash N files at once (default: the CPUs available, %(default)s here)",
    )


def _cmd_hash(args: argparse.Namespace) -> int:
    outputs = {"--manifest": args.manifest}
    if args.sha256sum:
        outputs["--sha256sum"] = args.sha256sum
    if args.sbom:
        outputs["--sbom"] = args.sbom
    check_outputs(args.model, outputs)  # before hashing: fail fast, not after minutes
    key = key_from_environ(args.key_env, os.environ) if args.key_env else None
    started = time.perf_counter()
    manifest = hash_model(args.model, provenance_from_environ(os.environ), args.jobs)
    seconds = time.perf_counter() - started
    if key is not None:
        manifest = sign(manifest, key)
    write_outputs(manifest, args.manifest, args.sha256sum)
    if args.sbom:
        write_model_bom(args.model, manifest, args.sbom)
    print(
        f"hashed {plural(len(manifest.files), 'file')}, {manifest.total_bytes:,} bytes, "
        f"in {seconds:.2f} s ({args.jobs} jobs)"
    )
    print(f"wrote {args.manifest}" + (" (HMAC-signed)" if key is not None else ""))
    if args.sha256sum:
        print(f"wrote {args.sha256sum}")
    if args.sbom:
        print(f"wrote {args.sbom}")
    print(manifest.digest())  # the last line: scripts take it with `tail -n 1`
    return EXIT_PASSED


def write_model_bom(model: Path, manifest: Manifest, path: Path) -> None:
    """The CycloneDX document for the model `manifest` was just made from."""
    # Imported here: the model scanner's format detection only when a BOM is asked for.
    from mlsecops.integrity.inventory import model_record
    from mlsecops.reports.bom_models import model_bom, now

    document = model_bom(model_record(model, manifest), now())
    write_text_atomic(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _cmd_verify(args: argparse.Namespace) -> int:
    key = key_from_environ(args.key_env, os.environ) if args.key_env else None
    manifest = read_manifest(args.manifest)
    verdict = verify_model(args.model, manifest, args.jobs, args.expected_digest, key)
    sys.stdout.write(render_text(verdict))
    return EXIT_PASSED if verdict.passed else EXIT_FAILED


def key_from_environ(variable: str, environ: Mapping[str, str]) -> bytes:
    """The HMAC key `--key-env VARIABLE` names: the UTF-8 bytes of that variable's value."""
    value = environ.get(variable)
    if not value:
        raise UsageError(
            f"--key-env {variable}: the environment variable is not set or empty",
            f"set {variable} from a repository secret: "
            f"`env: {variable}: ${{{{ secrets.MODEL_HMAC_KEY }}}}`",
        )
    return check_key(value, f"--key-env {variable}")


def _digest(value: str) -> str:
    digest = normalize_digest(value)
    if digest is None:
        raise argparse.ArgumentTypeError(f"{value!r} is not sha256:<64 hex digits>")
    return digest


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive whole number")
    return number
