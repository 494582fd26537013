"""Tiny real wheels and a PEP 503 simple index, so tests can run pip without PyPI.

`build_wheel` writes a valid, installable py3-none-any wheel whose METADATA declares the
given requirements; `SimpleIndex` turns a directory of wheels into the pages pip reads
(`/simple/<project>/` with hashed links), served by pytest-httpserver.
"""

from __future__ import annotations

import base64
import hashlib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from mlsecops.deps.listing import normalise

_EPOCH = (2020, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def build_wheel(directory: Path, name: str, version: str, requires: Sequence[str] = ()) -> Path:
    """A py3-none-any wheel for `name` `version` that requires `requires` (PEP 508 strings)."""
    module = normalise(name).replace("-", "_")
    dist_info = f"{module}-{version}.dist-info"
    metadata = "Metadata-Version: 2.1\n" + f"Name: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {req}\n" for req in requires)
    files = {
        f"{module}/__init__.py": f'__version__ = "{version}"\n'.encode(),
        f"{dist_info}/METADATA": metadata.encode(),
        f"{dist_info}/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\n"
        b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = "".join(f"{path},{_record_hash(data)},{len(data)}\n" for path, data in files.items())
    files[f"{dist_info}/RECORD"] = (record + f"{dist_info}/RECORD,,\n").encode()
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, _EPOCH), data)
    return wheel


@dataclass(frozen=True)
class SimpleIndex:
    """The pages of a PEP 503 index over some wheels: path -> (content type, body)."""

    pages: dict[str, tuple[str, bytes]]

    @classmethod
    def of(cls, wheels: Sequence[Path]) -> SimpleIndex:
        projects: dict[str, list[Path]] = {}
        for wheel in wheels:
            projects.setdefault(normalise(wheel.name.split("-")[0]), []).append(wheel)
        pages: dict[str, tuple[str, bytes]] = {}
        root_links = []
        for project, files in sorted(projects.items()):
            root_links.append(f'<a href="/simple/{project}/">{project}</a>')
            links = []
            for wheel in files:
                data = wheel.read_bytes()
                sha = hashlib.sha256(data).hexdigest()
                links.append(f'<a href="/files/{wheel.name}#sha256={sha}">{wheel.name}</a>')
                pages[f"/files/{wheel.name}"] = ("application/octet-stream", data)
            pages[f"/simple/{project}/"] = ("text/html", _html(links))
        pages["/simple/"] = ("text/html", _html(root_links))
        return cls(pages)


def _html(links: list[str]) -> bytes:
    body = "<br/>\n".join(links)
    return f"<!DOCTYPE html>\n<html><body>\n{body}\n</body></html>\n".encode()
