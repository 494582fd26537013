#!/usr/bin/env python3
"""Regenerate mlsecops/data/conda-forge-pypi.json from the installed conda-pypi package.

    .venv/bin/pip install conda-pypi==X.Y.Z   # and pin that version in requirements-dev.txt
    .venv/bin/python scripts/update_conda_mapping.py

conda-pypi ships conda-forge's conda <-> PyPI name mapping (grayskull_pypi_mapping.json);
its file is read from the installed distribution, never imported (that would need conda).
"""

from __future__ import annotations

import hashlib
import json
import sys
from importlib import metadata
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from mlsecops.deps.conda_names import GENERATED_RESOURCE, table_from_grayskull  # noqa: E402

MAPPING_FILE = "conda_pypi/grayskull_pypi_mapping.json"


def generated() -> str:
    """The generated table's text, from the installed conda-pypi."""
    distribution = metadata.distribution("conda-pypi")
    raw = Path(str(distribution.locate_file(MAPPING_FILE))).read_bytes()
    source = (
        f"conda-pypi {distribution.version}, {MAPPING_FILE} "
        f"(sha256 {hashlib.sha256(raw).hexdigest()})"
    )
    table = table_from_grayskull(json.loads(raw), source)
    return json.dumps(table, indent=0, sort_keys=True) + "\n"


def main() -> int:
    """Write the table into mlsecops/data/."""
    (REPO / "mlsecops" / "data" / GENERATED_RESOURCE).write_text(generated(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
