"""The project and version a wheel or sdist file name states, for URL and path requirements.

A requirement like `https://host/llama_cpp_python-0.2.43-cp311-cp311-linux_x86_64.whl`
names no package in pip's syntax, but its file name does: a wheel's name is
`{name}-{version}(-{build})?-{python}-{abi}-{platform}.whl` (PEP 427), an sdist's
`{name}-{version}.tar.gz` (or .zip). Those can be looked up at that version without
downloading anything, and without handing the URL to pip (which could run its build).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

_SDIST_SUFFIXES = (".tar.gz", ".tgz", ".zip", ".tar.bz2", ".tar.xz")
# A version starts with a digit (after an optional `v`) and has no path or query characters.
_VERSION = re.compile(r"^v?\d[A-Za-z0-9.!+_]*$")
_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._]*[A-Za-z0-9])?$")


def archive_name_version(location: str) -> tuple[str, str] | None:
    """(project, version) from the file name at the end of a URL or path, or None."""
    path = urlsplit(location).path if "://" in location else location
    filename = unquote(path.rstrip("/").rsplit("/", 1)[-1])
    if filename.endswith(".whl"):
        parts = filename[: -len(".whl")].split("-")
        if len(parts) not in (5, 6):
            return None
        name, version = parts[0], parts[1]
    else:
        suffix = next((s for s in _SDIST_SUFFIXES if filename.endswith(s)), None)
        if suffix is None or "-" not in filename:
            return None
        name, version = filename[: -len(suffix)].rsplit("-", 1)
    if not _NAME.match(name) or not _VERSION.match(version):
        return None
    return name, version.removeprefix("v")
