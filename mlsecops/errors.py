"""The error types every layer raises, and the exit codes they map to.

Each error carries the problem and the fix, so the CLI can print one line a user can act on.
Only the CLI (and the action's entrypoint) turns these into exit codes; the core just raises.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from mlsecops.core.text import MAX_DISPLAY_CHARS, clip, log_text

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_TOOL = 3
EXIT_INTERRUPTED = 130  # the shell's code for Ctrl-C


class MlsecopsError(Exception):
    """Base of every expected failure: a problem and what to do about it."""

    exit_code = EXIT_TOOL

    def __init__(self, problem: str, fix: str = "") -> None:
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def one_line(self) -> str:
        """The message printed on stderr: problem, then fix, on a single line.

        Problems quote file names and file contents, and stderr is the job log too: the
        line goes through `log_text` (controls visible, no workflow command, bounded).
        """
        text = self.problem if not self.fix else f"{self.problem}; to fix: {self.fix}"
        return log_text(" ".join(clip(text, 4 * MAX_DISPLAY_CHARS).split()))


class UsageError(MlsecopsError):
    """Bad flag, path, policy file or manifest: the user's input is wrong (exit 2)."""

    exit_code = EXIT_USAGE


class ToolError(MlsecopsError):
    """A scanner or tool failed: Trivy missing or crashed, DB absent offline (exit 3)."""

    exit_code = EXIT_TOOL


def run_guarded(body: Callable[[], int], say: Callable[[str], None]) -> int:
    """Run a command's body and return its exit code: the ONE place errors become exit codes.

    An expected failure (MlsecopsError) is one line through `say` (its problem and fix) and
    its own exit code; a bug is one line too, exit 3, never a pass (MLSECOPS_DEBUG=1 adds the
    traceback on stderr). Used by the CLI, both actions' entrypoints and the Trivy installer.
    """
    try:
        return body()
    except MlsecopsError as error:
        say(error.one_line())
        return error.exit_code
    except KeyboardInterrupt:
        say("interrupted")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of stdout left early (`| head -1`): nothing more can go there, and the
        # run did not deliver all it had to say, so it is not a pass either.
        _stdout_to_devnull()
        say(
            "stdout was closed before all output was written (the program reading it "
            "ended early); read the whole output, or use --json/--manifest files"
        )
        return EXIT_TOOL
    except Exception as error:  # a bug: still one line, the trace only when asked for
        if os.environ.get("MLSECOPS_DEBUG"):
            traceback.print_exc()
        say(
            f"internal error: {type(error).__name__}: {log_text(error)} "
            "(set MLSECOPS_DEBUG=1 for the traceback and report it)"
        )
        return EXIT_TOOL


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush on exit does not
    raise the broken pipe a second time (as an "Exception ignored" trace)."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real stdout (captured): nothing to point anywhere
        pass
    finally:
        os.close(devnull)
