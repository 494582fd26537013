"""`python -m mlsecops.cli.install_trivy`: the action's Trivy install step, as a command.

Finds or installs a pinned, checksum-verified Trivy (mlsecops/trivy/install.py); the last
line of stdout is the binary's path. With `--github-output FILE` (the action's GITHUB_OUTPUT)
it also writes the step outputs: `trivy-path` and `downloaded` (true only when this run
downloaded the binary: the action caches only what was made), or `exit-code` and `error`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mlsecops.cli.parser import OneLineParser
from mlsecops.errors import EXIT_PASSED, ToolError, run_guarded
from mlsecops.github.commands import command
from mlsecops.github.env_files import append, format_outputs
from mlsecops.trivy.install import (
    DEFAULT_BASE_URL,
    DEFAULT_VERSION,
    detect_platform,
    find_or_install,
)


def _parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python -m mlsecops.cli.install_trivy",
        description="Find or install a pinned, checksum-verified Trivy; the last line of "
        "stdout is the binary's path. Exit 2: bad arguments, a version Trivy never released "
        "(404) or an unsupported platform; 3: download or verification failure.",
    )
    parser.add_argument(
        "--version",
        default="",
        help=f"Trivy version to install (default, or when empty: {DEFAULT_VERSION})",
    )
    parser.add_argument(
        "--dir", required=True, type=Path, help="install dir (cache it between runs)"
    )
    parser.add_argument(
        "--base-url",
        default=DEFAULT_BASE_URL,
        help="where the releases are (default: GitHub's); a mirror must serve the same "
        "archives, since the checksums are checked all the same",
    )
    parser.add_argument(
        "--github-output",
        type=Path,
        metavar="FILE",
        help="also write step outputs here (the action passes $GITHUB_OUTPUT)",
    )
    return parser


def _say(message: str) -> str:
    print(f"mlsecops: error: {message}", file=sys.stderr)
    return message


def main(
    argv: Sequence[str] | None = None, *, system: str | None = None, machine: str | None = None
) -> int:
    """Run the installer CLI; `system`/`machine` stand in for the runner's (tests)."""
    args = _parser().parse_args(argv)

    outputs: dict[str, str] = {}

    def run() -> int:
        target = detect_platform(system, machine)
        try:
            binary = find_or_install(
                args.version,
                args.dir,
                target=target,
                base_url=args.base_url,
                log=print,
                # This is the action's install step: a refused cache entry is an annotation.
                warn=lambda message: print(command("warning", message, title="mlsecops")),
            )
        except OSError as error:  # e.g. the install dir is not writable
            raise ToolError(f"installing Trivy failed: {error}", "check --dir") from error
        print(binary.path)
        outputs["trivy-path"] = str(binary.path)
        outputs["downloaded"] = "true" if binary.source == "download" else "false"
        return EXIT_PASSED

    reasons: list[str] = []
    code = run_guarded(run, lambda message: reasons.append(_say(message)))
    if code != EXIT_PASSED:
        outputs = {"exit-code": str(code), "error": reasons[-1] if reasons else f"exit {code}"}
    if args.github_output is not None:
        append(args.github_output, format_outputs(outputs))
    return code


if __name__ == "__main__":
    sys.exit(main())
