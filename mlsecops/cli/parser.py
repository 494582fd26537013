"""The argument parser every command line of mlsecops uses: a usage error is one line, exit 2."""

from __future__ import annotations

import argparse
from typing import NoReturn

from mlsecops.errors import EXIT_USAGE


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr, naming --help, and exit 2."""

    def error(self, message: str) -> NoReturn:
        """Print the problem and where to read the usage; exit with the usage code."""
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")
