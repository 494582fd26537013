"""What a pickle's reading says about the stream itself, and the parts every pickle finding shares.

Besides what a pickle imports and calls (pickle_findings.py), its stream can be malformed,
carry data after STOP, have frames that loaders read differently, hide a pickle as text,
or make the reader run out of a budget. Each of those is a finding here, so nothing the
reader skipped or could not follow goes unreported.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.budget import Limit, Skipped
from mlsecops.modelscan.notes import model_finding
from mlsecops.modelscan.pickle_ops import Position, Segment

MALFORMED = "MLS-PICKLE-MALFORMED"
TRAILING = "MLS-PICKLE-TRAILING"
BUDGET = "MLS-PICKLE-BUDGET"
FRAME = "MLS-PICKLE-FRAME"
ENCODED = "MLS-PICKLE-ENCODED"
EXTERNAL = "MLS-PICKLE-EXTERNAL-FILE"


class Loader(enum.Enum):
    """Which loader runs this pickle: it decides the advice."""

    PICKLE = "pickle"  # pickle.load, joblib.load, pandas.read_pickle
    TORCH = "torch"
    NUMPY = "numpy"


@dataclass(frozen=True)
class PickleSource:
    """Where a pickle is, for the findings about it."""

    target: str  # display path of the file (an archive member goes into Finding.member)
    loader: Loader = Loader.PICKLE
    where: str = ""  # prefix of each location, for pickles nested in other data


# Scans bytes found inside a pickle (a nested pickle, zip or .npy) as their own model data.
NestedScan = Callable[[bytes, PickleSource], list[Finding]]


def pickle_finding(
    rule: str,
    severity: Severity,
    source: PickleSource,
    *,
    package: str,
    title: str,
    description: str,
    fix: str,
    position: Position | None,
    extra: dict[str, str],
) -> Finding:
    """A finding about a pickle, located by its source and opcode position."""
    location = source.where + (position.describe() if position else "")
    return model_finding(
        rule, severity, source.target, title, description, fix, package=package,
        location=location.rstrip(": "), ecosystem=source.loader.value, properties=extra,
    )  # fmt: skip


def stream_problems(flat: Sequence[Segment], source: PickleSource) -> list[Finding]:
    """Pickles that break part-way, and bytes after the last STOP that are not a pickle."""
    out: list[Finding] = []
    for number, segment in enumerate(flat):
        if not segment.error or segment.budget is not None:
            continue
        if number > 0 and segment.ops == 0 and not segment.corrupt:
            out.append(_trailing(segment, source))
        else:
            out.append(_malformed(segment, source))
    return out


def _trailing(segment: Segment, source: PickleSource) -> Finding:
    return pickle_finding(
        TRAILING, Severity.LOW, source, package="", title="Data after the end of the pickle",
        description=(
            f"After the pickle's STOP, the stream continues at byte offset {segment.start} "
            "with bytes that are not a pickle. pickle.load ignores them, but hiding data "
            "behind a valid pickle is a known trick to evade scanners."
        ),
        fix="Re-save the model so the file holds only what its format defines.",
        position=None, extra={"offset": str(segment.start)},
    )  # fmt: skip


def _malformed(segment: Segment, source: PickleSource) -> Finding:
    return pickle_finding(
        MALFORMED, Severity.MEDIUM, source, package="", title="Pickle is malformed part-way",
        description=(
            f"Reading stopped: {segment.error}. A loader runs every opcode before this point "
            "(those were scanned), and a lenient or custom loader may read on past it, where "
            "this scanner cannot see."
        ),
        fix="Do not load this file; re-create it from a trusted source.",
        position=None, extra={"offset": str(segment.end), "opcodes_read": str(segment.ops)},
    )  # fmt: skip


def budget_findings(skipped: Sequence[Skipped], source: PickleSource) -> list[Finding]:
    """One finding per budget that ran out, with what was not checked."""
    by_limit: dict[Limit, list[Skipped]] = {}
    for item in skipped:
        by_limit.setdefault(item.limit, []).append(item)
    return [_budget(limit, items, source) for limit, items in by_limit.items()]


def _budget(limit: Limit, items: list[Skipped], source: PickleSource) -> Finding:
    more = f" (and {len(items) - 1} more like it)" if len(items) > 1 else ""
    return pickle_finding(
        BUDGET, Severity.MEDIUM, source, package="",
        title=f"Pickle not fully checked: the {limit.value} budget ran out",
        description=(
            f"The scanner stopped following part of this data: {items[0].detail}{more}. "
            "What came before was checked; what lies past it was not. No model needs this "
            "much of the scanner's work, so data shaped like this is a likely attempt to "
            "exhaust scanners, and a loader would still run whatever it holds."
        ),
        fix="Do not load this file; re-create it from a trusted source.",
        position=None, extra={"budget": limit.value, "times": str(len(items))},
    )  # fmt: skip


def external_findings(
    external: Sequence[tuple[Position, str]], source: PickleSource
) -> list[Finding]:
    """Files joblib.load unpickles because an old array wrapper in this pickle names them.

    HIGH when the name leaves the pickle's directory (absolute, or climbing out with `..`):
    loading the model then unpickles whatever file sits there, which no scan of the model
    directory checks. MEDIUM when it stays inside: a real old joblib dump, whose companion
    file must be scanned with it (scan the directory, not only this file).
    """
    return [_external(position, name, source) for position, name in dict.fromkeys(external)]


def _external(position: Position, name: str, source: PickleSource) -> Finding:
    path = PurePosixPath(name.replace("\\", "/"))
    outside = path.is_absolute() or ".." in path.parts or name[1:3] == ":\\"
    severity = Severity.HIGH if outside else Severity.MEDIUM
    where = "outside the model's directory" if outside else "next to this file"
    return pickle_finding(
        EXTERNAL, severity, source, package=name,
        title=f"Pickle makes joblib unpickle another file, {where}",
        description=(
            f"An old joblib array wrapper (NDArrayWrapper) names the file {name!r}: "
            "joblib.load reads it with numpy.load(..., allow_pickle=True), so a pickle in that "
            f"file runs too. It is {where}."
        ),
        fix=(
            "Do not load this file." if outside else
            "Scan the whole model directory (the companion file too), or re-save the model "
            "with a current joblib, which keeps arrays inside the dump."
        ),
        position=position, extra={"file": name},
    )  # fmt: skip


def frame_findings(anomalies: Sequence[str], readings: int, source: PickleSource) -> list[Finding]:
    """The frames of a pickle disagree with its opcodes: loaders read it differently."""
    if not anomalies:
        return []
    among = f", among {len(anomalies)} such places" if len(anomalies) > 1 else ""
    finding = pickle_finding(
        FRAME, Severity.MEDIUM, source, package="",
        title="Pickle frames disagree with the opcodes inside them",
        description=(
            f"In this pickle {anomalies[0]}{among}. No pickler writes this: pickle.loads, "
            "pickle.load on a file and torch.load read such frames differently, so different "
            f"loaders run different opcodes. The scanner read it in {readings} way(s) and "
            "reports what any of them runs."
        ),
        fix="Do not load this file; re-create it from a trusted source.",
        position=None, extra={"anomalies": str(len(anomalies)), "readings": str(readings)},
    )  # fmt: skip
    return [finding]


def encoded_findings(
    inner: list[Finding], encoding: str, place: str, source: PickleSource
) -> list[Finding]:
    """A pickle hidden as base64 or hex text: reported when what it would do is HIGH or worse.

    `place` says where the string is (`opcode 3 at byte offset 10`, a JSON value's path).
    HIGH, whatever the hidden pickle does: loading the model file does not decode the text,
    so it runs only through code that decodes and unpickles it (a custom loader, remote code
    shipped with the model, a config consumer). But nothing legitimate ships a pickle with
    dangerous globals disguised as text, so it fails the default gate. Lesser findings of
    the hidden pickle (unknown imports, damage) are dropped: random base64 or hex, such as
    digests, sometimes decodes to bytes that start like a pickle.
    """
    bad = sorted((f for f in inner if f.severity >= Severity.HIGH), key=lambda f: -f.severity)
    return [_encoded(found, encoding, place, source) for found in bad]


def _encoded(found: Finding, encoding: str, place: str, source: PickleSource) -> Finding:
    location = f"{source.where}{place}"
    return model_finding(
        ENCODED, Severity.HIGH, source.target, f"Pickle hidden as {encoding} text: {found.title}",
        f"The string at {place} is {encoding} text that decodes to pickle data, and that "
        f"pickle is dangerous: {found.description} Code that decodes and unpickles the "
        "string runs it.",
        "Remove the encoded pickle; do not decode and unpickle strings from model files.",
        package=found.package, location=location, ecosystem=source.loader.value,
        properties={"encoding": encoding, "inner_rule": found.id,
                    "inner_location": found.location},
    )  # fmt: skip
