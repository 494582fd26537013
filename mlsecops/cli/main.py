"""The `mlsecops` command line. The only place that turns errors into messages and exit codes."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from mlsecops import __version__

if TYPE_CHECKING:
    from mlsecops.cli.parser import OneLineParser
    from mlsecops.core.outcome import ScanOutcome

# Imports are made where they are needed: the scan stack (Trivy runner, reports, requests,
# yaml) inside the scan handler, the parser's own when it is built. `mlsecops hash` on a model
# must not pay 0.3 s of imports it never uses, nor `mlsecops --version` any.


def build_parser() -> argparse.ArgumentParser:
    """The whole `mlsecops` command line: scan, hash and verify, each with its flags."""
    from mlsecops.cli.parser import OneLineParser

    parser = OneLineParser(prog="mlsecops", description="Security checkpoints for ML pipelines.")
    parser.add_argument("--version", action="version", version=f"mlsecops {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)
    _add_scan(commands)
    from mlsecops.cli.integrity import register as register_integrity

    register_integrity(commands)
    return parser


def _add_scan(commands: argparse._SubParsersAction[OneLineParser]) -> None:
    scan = commands.add_parser(
        "scan",
        help="scan a project's dependencies, container images and model files",
        description="Scan the project at PATH with Trivy (and the model scanner), then gate on "
        "severity. Exit 0 passed, 1 findings at or above --fail-on, 2 usage error, 3 tool error.",
    )
    _add_targets(scan)
    _add_report_flags(scan)
    _add_trivy_flags(scan)
    _add_dependency_flags(scan)
    _add_baseline_flags(scan)
    scan.add_argument(
        "-q", "--quiet", action="store_true", help="print only the verdict line, not the table"
    )
    scan.set_defaults(handler=_cmd_scan)


def _add_targets(scan: argparse.ArgumentParser) -> None:
    """What is scanned, and how the gate judges it."""
    from mlsecops.core.gate import FAIL_ON_CHOICES

    scan.add_argument("path", nargs="?", default=".", type=Path, help="project dir (default .)")
    scan.add_argument(
        "--image",
        action="append",
        default=[],
        metavar="REF_OR_TARBALL",
        help="container image reference, docker-archive / OCI tarball, or OCI layout dir "
        "(repeatable)",
    )
    scan.add_argument(
        "--model",
        action="append",
        default=[],
        type=Path,
        metavar="PATH",
        help="model file or directory to scan for unsafe serialization (repeatable)",
    )
    scan.add_argument(
        "--fail-on",
        metavar="SEVERITY",
        help=f"fail on open findings at or above this: {' | '.join(FAIL_ON_CHOICES)} "
        "(default HIGH, or the policy file's fail-on)",
    )
    scan.add_argument(
        "--scanners",
        default="",
        metavar="LIST",
        help="which checks run, comma-separated: vuln (vulnerable packages), secret "
        "(credentials in files, image layers and models), misconfig (Dockerfiles, Kubernetes, "
        "KServe, Helm) (default: all three)",
    )
    scan.add_argument(
        "--ignore-unfixed",
        action="store_true",
        help="findings with no fixed version neither fail nor count as open",
    )
    scan.add_argument(
        "--policy", type=Path, metavar="FILE", help="policy file (default: PATH/.mlsecops.yml)"
    )


def _add_report_flags(scan: argparse.ArgumentParser) -> None:
    """The reports a scan writes besides the table on stdout."""
    from mlsecops.reports import DEFAULT_SARIF_CATEGORY

    scan.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report here")
    scan.add_argument("--sarif", type=Path, metavar="FILE", help="write SARIF 2.1.0 here")
    scan.add_argument(
        "--sarif-severity",
        default=None,
        metavar="SEVERITY",
        help="lowest severity written to SARIF, independent of --fail-on: LOW | MEDIUM | HIGH "
        "| CRITICAL (default LOW, or the policy file's sarif-severity)",
    )
    scan.add_argument(
        "--sarif-category",
        default=DEFAULT_SARIF_CATEGORY,
        metavar="NAME",
        help="code scanning category, the SARIF automationDetails.id "
        f"(default {DEFAULT_SARIF_CATEGORY})",
    )
    scan.add_argument(
        "--summary", type=Path, metavar="FILE", help="write the Markdown summary here"
    )
    scan.add_argument(
        "--sbom",
        type=Path,
        metavar="FILE",
        help="write a CycloneDX 1.6 ML-BOM here: every package listed, each image, each --model "
        "(hashed as `mlsecops hash` does) and the vulnerabilities",
    )
    scan.add_argument(
        "--model-manifest",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="a manifest `mlsecops hash` wrote for one of the --model paths: the ML-BOM links "
        "that model to its digest (repeatable; needs --sbom)",
    )
    scan.add_argument(
        "--annotations",
        action="store_true",
        help="print GitHub workflow-command annotations for the worst findings",
    )


def _add_trivy_flags(scan: argparse.ArgumentParser) -> None:
    """Which Trivy runs, and the vulnerability DB it may use."""
    from mlsecops.core.db_status import DEFAULT_MAX_AGE_DAYS

    scan.add_argument(
        "--trivy", metavar="PATH", help="trivy binary to use (default: trivy on PATH)"
    )
    scan.add_argument(
        "--trivy-cache-dir",
        type=Path,
        metavar="DIR",
        help="Trivy's cache dir, holding db/trivy.db (default: Trivy's own)",
    )
    scan.add_argument(
        "--offline",
        action="store_true",
        help="touch no network: use the DB already in the cache dir, never download",
    )
    scan.add_argument(
        "--max-db-age-days",
        type=_max_age_days,
        default=DEFAULT_MAX_AGE_DAYS,
        metavar="DAYS",
        help=f"refuse a vulnerability DB built more than DAYS ago (default "
        f"{DEFAULT_MAX_AGE_DAYS}): online it is downloaded afresh, offline the scan fails",
    )
    scan.add_argument(
        "--trivy-db-record",
        type=Path,
        metavar="FILE",
        help="the record mlsecops writes when it downloads the DB (its SHA-256 and dates), "
        "which alone dates a cached DB (default: mlsecops-db-record.json in the cache dir, "
        "beside db/); keep it outside anything an untrusted job can write",
    )
    scan.add_argument(
        "--trivy-db-cache-key",
        default=os.environ.get("MLSECOPS_TRIVY_DB_CACHE_KEY", ""),
        metavar="KEY",
        help="an actions/cache key that carries the DB's record (the JSON report's "
        "db.cache_key), for a DB restored from a cache (default: $MLSECOPS_TRIVY_DB_CACHE_KEY)",
    )
    scan.add_argument(
        "--accept-unverified-db",
        action="store_true",
        help="date a DB no record vouches for by its own metadata.json, which whoever wrote "
        "the cache dir can forge: only for a cache dir no one else writes (air-gapped)",
    )


def _add_dependency_flags(scan: argparse.ArgumentParser) -> None:
    """Which dependency files are read, and how far requirements are resolved."""
    scan.add_argument(
        "--resolve",
        action="store_true",
        help="resolve requirements*.txt with pip (for this Python) and scan every package of "
        "the tree; transitive findings name the requirement that pulls them in",
    )
    scan.add_argument(
        "--index-url",
        # From the environment by default: an index URL may carry a token, and argv is
        # visible to every process on the machine.
        default=os.environ.get("MLSECOPS_INDEX_URL") or None,
        metavar="URL",
        help="package index pip resolves against with --resolve (default: $MLSECOPS_INDEX_URL, "
        "else pip's own config)",
    )
    scan.add_argument(
        "--allow-source-builds",
        action="store_true",
        help="with --resolve, let pip build source distributions to read their metadata: that "
        "runs each sdist's build code (setup.py); by default pip uses wheels only",
    )
    scan.add_argument(
        "--skip-dev-deps",
        action="store_true",
        help="leave development dependencies (lock files' dev groups, Pipfile.lock develop) "
        "unchecked; by default they are checked and marked dev",
    )
    scan.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="repeatable: dependency files whose repo-relative path matches are not scanned "
        "(adds to the policy's `exclude`)",
    )


def _add_baseline_flags(scan: argparse.ArgumentParser) -> None:
    """Comparison with an earlier report: new findings vs existing ones."""
    scan.add_argument(
        "--baseline",
        type=Path,
        metavar="REPORT.json",
        help="a previous --json report (e.g. from the base branch): findings are marked new "
        "or existing; a missing or unreadable one makes every finding new",
    )
    scan.add_argument(
        "--fail-on-new-only",
        action="store_true",
        help="only findings that are not in the --baseline report fail the gate",
    )


def _cmd_scan(args: argparse.Namespace) -> int:
    from mlsecops.core.scanners import parse_scanners
    from mlsecops.errors import EXIT_FAILED, EXIT_PASSED
    from mlsecops.github.context import workspace_from_env
    from mlsecops.reports.write import parse_sarif_floor
    from mlsecops.scan import ScanRequest, run_scan

    parse_sarif_floor(args.sarif_severity)  # a bad flag is an error before the scan, not after
    scanners = parse_scanners(args.scanners)
    outcome = run_scan(
        ScanRequest(
            project=args.path,
            images=tuple(args.image),
            models=tuple(args.model),
            fail_on=args.fail_on,
            ignore_unfixed=args.ignore_unfixed,
            policy=args.policy,
            trivy=args.trivy,
            trivy_cache_dir=args.trivy_cache_dir,
            offline=args.offline,
            max_db_age_days=args.max_db_age_days,
            trivy_db_record=args.trivy_db_record,
            trivy_db_cache_key=args.trivy_db_cache_key,
            accept_unverified_db=args.accept_unverified_db,
            resolve=args.resolve,
            index_url=args.index_url,
            allow_source_builds=args.allow_source_builds,
            include_dev=not args.skip_dev_deps,
            exclude=tuple(args.exclude),
            baseline=args.baseline,
            fail_on_new_only=args.fail_on_new_only,
            workspace=workspace_from_env(os.environ),
            hash_models=args.sbom is not None,
            model_manifests=tuple(args.model_manifest),
            scanners=scanners,
        )
    )
    write_outputs(outcome, args)
    return EXIT_PASSED if outcome.passed else EXIT_FAILED


def _max_age_days(text: str) -> float:
    from mlsecops.core.db_status import parse_max_age_days
    from mlsecops.errors import UsageError

    try:
        return parse_max_age_days(text)
    except UsageError as error:  # argparse reports type errors as its own usage errors
        raise argparse.ArgumentTypeError(error.problem) from error


def write_outputs(outcome: ScanOutcome, args: argparse.Namespace) -> None:
    """Every report the flags asked for, then the table (or only the verdict when quiet)."""
    from mlsecops.reports.table import render_table
    from mlsecops.reports.write import ReportRequest, write_reports

    written = write_reports(
        outcome,
        ReportRequest(
            json_file=args.json,
            sarif_file=args.sarif,
            sarif_floor=args.sarif_severity,
            sarif_category=args.sarif_category,
            summary_file=args.summary,
            sbom_file=args.sbom,
            annotations=args.annotations,
        ),
    )
    for line in written.annotation_lines:
        print(line)
    text = render_table(outcome)
    sys.stdout.write(text.splitlines()[-1] + "\n" if args.quiet else text)


def say_error(message: str) -> None:
    """One line on stderr, as every mlsecops command reports a failure."""
    print(f"mlsecops: error: {message}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code of docs/interface.md."""
    if (sys.argv[1:] if argv is None else list(argv)) == ["--version"]:
        # What argparse's version action prints, without building every command's parser.
        print(f"mlsecops {__version__}")
        return 0
    from mlsecops.errors import run_guarded

    args = build_parser().parse_args(argv)
    return run_guarded(lambda: int(args.handler(args)), say_error)
