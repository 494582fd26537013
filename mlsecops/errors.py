"""The error types every layer raises, and the exit codes they map to.

Each error carries the problem and the fix, so the CLI can print one line a user can act on.
Only the CLI (and the action's entrypoint) turns these into exit codes; the core just raises.
"""

from __future__ import annotations

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TOOL = 3


class MlsecopsError(Exception):
    """Base of every expected failure: a problem and what to do about it."""

    exit_code = EXIT_TOOL

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def one_line(self) -> str:
        """The message printed on stderr: problem, then fix, on a single line."""
        text = self.problem if not self.fix else f"{self.problem}; to fix: {self.fix}"
        return " ".join(text.split())


class UsageError(MlsecopsError):
    """Bad flag, path, policy file or manifest: the user's input is wrong (exit 2)."""

    exit_code = EXIT_USAGE


class ToolError(MlsecopsError):
    """A scanner or tool failed: Trivy missing or crashed, DB absent offline (exit 3)."""

    exit_code = EXIT_TOOL
