"""Pickles hidden as base64 or hex strings in the JSON next to a model.

A config or metadata file can carry a pickle as text for some loader to decode and unpickle
(`pickle.loads(base64.b64decode(config["state"]))`). Every string value of a JSON
document is checked the way strings inside pickles are (`encoded`); what decodes to a
pickle, zip or .npy is scanned as nested data, and reported as MLS-PICKLE-ENCODED when it
would do something HIGH or CRITICAL (see `pickle_notes.encoded_findings` for why HIGH).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from mlsecops.core.findings import Finding
from mlsecops.modelscan import encoded
from mlsecops.modelscan.budget import Skipped
from mlsecops.modelscan.data import bytes_data
from mlsecops.modelscan.formats.base import Accept, Context, Where
from mlsecops.modelscan.pickle_notes import PickleSource, budget_findings, encoded_findings

MAX_VALUES = 1_000_000  # values of one document looked at (a vocabulary has many)


def hidden_pickle_findings(text: bytes, where: Where, context: Context) -> list[Finding]:
    """Findings for pickles hidden in the string values of a JSON document ([] for other text)."""
    source = PickleSource(where.target)
    found: list[Finding] = []
    skipped: list[Skipped] = []
    for path, value in json_strings(text):
        decoded = encoded.decode(value)
        if decoded is None:
            continue
        encoding, data = decoded
        admitted = where.budget.admit_nested(data)
        if isinstance(admitted, Skipped):
            skipped.append(admitted)
        elif admitted:
            place = f"JSON value {path}"
            inner = context.scan(bytes_data(data, where.inside(f"{place}: ")), Accept.LOADABLE)
            found += encoded_findings(inner, encoding, place, source)
    return found + budget_findings(skipped, source)


def json_strings(text: bytes) -> Iterator[tuple[str, str]]:
    """(path, value) of the string values of a JSON document long enough to hide a pickle."""
    if text.lstrip()[:1] not in (b"{", b"["):
        return
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return
    pending: list[tuple[str, object]] = [("$", document)]
    seen = 0
    while pending and seen < MAX_VALUES:
        path, value = pending.pop()
        seen += 1
        if isinstance(value, str):
            if len(value) >= encoded.MIN_LENGTH:
                yield path, value
        elif isinstance(value, dict):
            pending += [(f"{path}.{key}"[:200], item) for key, item in value.items()]
        elif isinstance(value, list):
            pending += [(f"{path}[{index}]", item) for index, item in enumerate(value)]
