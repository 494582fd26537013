"""The one rule for a file's name in a manifest: a plain relative POSIX path under the root.

`hash` refuses to write a name that breaks the rule, and `verify` refuses a manifest that
carries one, so the two sides can never disagree about what a name means.
"""

from __future__ import annotations

import re

from mlsecops.core.text import log_text

# A drive letter (`C:`) makes a path absolute on Windows even without a leading slash.
_DRIVE = re.compile(r"^[A-Za-z]:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def path_problem(path: str) -> str | None:
    """Why `path` is not a safe manifest entry name, or None when it is."""
    if not path:
        return "empty path"
    if path.startswith("/") or _DRIVE.match(path):
        return "absolute path"
    if "\\" in path:
        # A separator on Windows: the same entry would name a different file there.
        return "contains a backslash"
    if _CONTROL.search(path):
        # Newlines would break the sha256sum file and any line-based log reader.
        return "contains a control character"
    if not _is_utf8(path):
        return "is not valid UTF-8"
    segments = path.split("/")
    if ".." in segments:
        return "contains a '..' segment"
    if "." in segments:
        return "contains a '.' segment"
    if "" in segments:
        return "contains an empty segment ('//' or a trailing '/')"
    return None


def show(path: str) -> str:
    """`path` for a message: one line, controls shown escaped, no workflow command in it."""
    return log_text(path, limit=None)


def _is_utf8(text: str) -> bool:
    # Names that are not UTF-8 on disk reach Python as lone surrogates (surrogateescape).
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
