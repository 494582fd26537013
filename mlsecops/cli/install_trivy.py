"""`python -m mlsecops.cli.install_trivy`: the action's Trivy install step, as a command.

Finds or installs a pinned, checksum-verified Trivy (mlsecops/trivy/install.py); the last
line of stdout is the binary's path.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from mlsecops.cli.parser import OneLineParser
from mlsecops.errors import ToolError, run_guarded
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
    return parser


def _say(message: str) -> None:
    print(f"mlsecops: error: {message}", file=sys.stderr)


def main(
    argv: Sequence[str] | None = None, *, system: str | None = None, machine: str | None = None
) -> int:
    """Run the installer CLI; `system`/`machine` stand in for the runner's (tests)."""
    args = _parser().parse_args(argv)

    def run() -> int:
        target = detect_platform(system, machine)
        try:
            binary = find_or_install(
                args.version, args.dir, target=target, base_url=args.base_url, log=print
            )
        except OSError as error:  # e.g. the install dir is not writable
            raise ToolError(f"installing Trivy failed: {error}", "check --dir") from error
        print(binary.path)
        return 0

    return run_guarded(run, _say)


if __name__ == "__main__":
    sys.exit(main())
