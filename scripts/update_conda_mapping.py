#!/usr/bin/env python3
"""Regenerate mlsecops/data/conda-forge-pypi.json from the installed conda-pypi package.

    .venv/bin/pip install conda-pypi==X.Y.Z   # and pin that version in requirements-dev.txt
    .venv/bin/python scripts/update_conda_mapping.py
    .venv/bin/python scripts/update_conda_mapping.py --check-upstream [--index-url URL]

--check-upstream asks the package index (PyPI's simple API by default) for conda-pypi's
releases and exits 1 when one is newer than the pinned release the table was made from
(the weekly `conda-mapping` workflow runs it); tests check the table matches the pin.

conda-pypi ships conda-forge's conda <-> PyPI name mapping (grayskull_pypi_mapping.json);
its file is read from the installed distribution, never imported (that would need conda).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import urllib.request
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

MAPPING_FILE = "conda_pypi/grayskull_pypi_mapping.json"
PYPI_SIMPLE = "https://pypi.org/simple/"
_RELEASE = re.compile(r"conda[-_]pypi-(?P<version>\d+(?:\.\d+)*)(?:-py3-none-any\.whl|\.tar\.gz)")


def generated() -> str:
    """The generated table's text, from the installed conda-pypi."""
    # Imported here: --check-upstream runs on a bare Python, without the project's packages.
    from mlsecops.deps.conda_names import table_from_grayskull

    distribution = metadata.distribution("conda-pypi")
    raw = Path(str(distribution.locate_file(MAPPING_FILE))).read_bytes()
    source = (
        f"conda-pypi {distribution.version}, {MAPPING_FILE} "
        f"(sha256 {hashlib.sha256(raw).hexdigest()})"
    )
    table = table_from_grayskull(json.loads(raw), source)
    return json.dumps(table, indent=0, sort_keys=True) + "\n"


def pinned_version() -> str:
    """The conda-pypi release requirements-dev.txt pins (the table is made from it)."""
    text = (REPO / "requirements-dev.txt").read_text(encoding="utf-8")
    found = re.search(r"^conda-pypi==(\S+)", text, re.MULTILINE)
    if found is None:
        raise SystemExit("requirements-dev.txt pins no conda-pypi")
    return found[1]


def newest_release(index_url: str) -> str:
    """The newest final release of conda-pypi on the index's simple page."""
    url = index_url.rstrip("/") + "/conda-pypi/"
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 (https or a test's http)
        page = response.read().decode("utf-8", errors="replace")
    versions = {m["version"] for m in _RELEASE.finditer(page)}
    if not versions:
        raise SystemExit(f"no conda-pypi release listed at {url}")
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))


def check_upstream(index_url: str) -> int:
    """0 when the pinned conda-pypi is the newest release, else 1 with what to run."""
    pinned, newest = pinned_version(), newest_release(index_url)
    if newest == pinned:
        print(f"conda-pypi {pinned} is the newest release: the mapping is current")
        return 0
    print(
        f"conda-pypi {newest} is out (pinned: {pinned}): pin it in requirements-dev.txt, "
        "install it and run scripts/update_conda_mapping.py"
    )
    return 1


def main() -> int:
    """Write the table into mlsecops/data/, or check the pin against the index."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check-upstream", action="store_true")
    parser.add_argument("--index-url", default=PYPI_SIMPLE)
    args = parser.parse_args()
    if args.check_upstream:
        return check_upstream(args.index_url)
    from mlsecops.deps.conda_names import GENERATED_RESOURCE

    (REPO / "mlsecops" / "data" / GENERATED_RESOURCE).write_text(generated(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
