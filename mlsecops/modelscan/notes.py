"""Model findings: the one constructor, and the notes on what could not be checked and why.

Nothing is skipped silently: what the scanner cannot read becomes one of these notes.
"""

from __future__ import annotations

from mlsecops.core.findings import Finding, Kind, Severity

UNKNOWN_FORMAT = "MLS-MODEL-UNKNOWN-FORMAT"
UNREADABLE = "MLS-MODEL-UNREADABLE"
SYMLINK_OUTSIDE = "MLS-MODEL-SYMLINK-OUTSIDE"
ARCHIVE_DAMAGED = "MLS-ARCHIVE-DAMAGED"
NUMPY_MALFORMED = "MLS-NUMPY-MALFORMED"
TOO_DEEP = "MLS-MODEL-TOO-DEEP"
TOO_LARGE = "MLS-MODEL-TOO-LARGE"
UNDECODED = "MLS-ARCHIVE-UNDECODED"


def model_finding(
    rule: str,
    severity: Severity,
    target: str,
    title: str,
    description: str,
    fix: str,
    *,
    package: str = "",
    location: str = "",
    ecosystem: str = "",
    properties: dict[str, str] | None = None,
) -> Finding:
    """A model finding: the one place every model format's findings are built."""
    return Finding(
        id=rule, kind=Kind.MODEL, severity=severity, target=target, title=title,
        description=description, fix=fix, package=package, location=location,
        ecosystem=ecosystem, properties=properties or {},
    )  # fmt: skip


def unknown(target: str, head: bytes, what: str = "") -> Finding:
    """A file among the models in no format the scanner reads: reported, never silently skipped."""
    shown = what or f"data starting with {head[:8].hex(' ')}"
    return model_finding(
        UNKNOWN_FORMAT, Severity.UNKNOWN, target,
        "File of unknown format among the model files",
        f"This file ({shown}) is none of the model formats the scanner reads, so it was "
        "not checked. It is reported so that nothing in a model directory goes unseen.",
        "If a loader reads this file, convert the model to a format that holds no code "
        "(safetensors, ONNX); otherwise remove it from the model directory.",
    )  # fmt: skip


def unreadable(target: str, why: str) -> Finding:
    """A model file the scan could not read (permissions, I/O error): not checked, said so."""
    return model_finding(
        UNREADABLE, Severity.UNKNOWN, target, "Model file could not be scanned",
        f"This file was not scanned: {why}.",
        "Make the file readable to the scan (permissions, a complete download) and scan again.",
    )  # fmt: skip


def undecoded(target: str, why: str) -> Finding:
    """A member a loader reads that this scan could not decode: MEDIUM, like a budget."""
    return model_finding(
        UNDECODED, Severity.MEDIUM, target, "Archive member not checked",
        f"This archive member was not scanned: {why}.",
        "Scan again with Python 3.14 or later (its zipfile decodes the member), or do not "
        "load the file.",
    )  # fmt: skip


def too_deep(target: str, location: str, levels: int) -> Finding:
    # MEDIUM, not informational: no model format nests archives and pickles this deep, so
    # data hidden past the limit is a likely evasion, and a loader would still reach it.
    """Data nested past the scanner's depth limit: not checked, and suspicious by itself."""
    return model_finding(
        TOO_DEEP, Severity.MEDIUM, target, "Nested data not scanned",
        f"This data sits inside more than {levels} levels of archives and pickles, deeper "
        "than this scanner follows, so it was not checked. No model format nests this deep; "
        "a loader that unpacks or unpickles it would still run whatever it holds.",
        "Do not load this file; re-create it from a trusted source without the nesting.",
        location=location,
    )  # fmt: skip


def too_large(target: str, what: str, limit: int, location: str = "") -> Finding:
    """Data over one of the scanner's size limits (resource bombs among them), not checked."""
    # MEDIUM, like TOO_DEEP: no model needs this much of that kind of data, so it is a likely
    # bomb or evasion, and a loader would still read it.
    return model_finding(
        TOO_LARGE, Severity.MEDIUM, target, "Data too large to check",
        f"{what[:1].upper()}{what[1:]} is over the scanner's limit of {_size(limit)}, so "
        "it was not checked. No real model needs this much of it: it is likely a "
        "decompression bomb or hides something from scanners, and a loader would still read it.",
        "Do not load this file; re-create it from a trusted source.",
        location=location,
    )  # fmt: skip


def _size(limit: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if limit >= 1 << shift:
            return f"{limit / (1 << shift):g} {unit}"
    return f"{limit} bytes"


def internal_error(target: str, exc: Exception) -> Finding:
    """The scanner itself failed on this file (a bug): said, never a crash of the whole scan."""
    return model_finding(
        UNREADABLE, Severity.UNKNOWN, target, "Model file could not be scanned",
        f"The scanner failed on this file ({type(exc).__name__}: {str(exc)[:200]}), so it "
        "was not checked. This is a bug in mlsecops: please report it with the file.",
        "Do not load the file until it has been checked; report the failure.",
        properties={"internal_error": type(exc).__name__},
    )  # fmt: skip


def symlink_outside(target: str, problem: str) -> Finding:
    """A symlink out of the scanned directory, reported and not followed."""
    return model_finding(
        SYMLINK_OUTSIDE, Severity.LOW, target, "Symlink not followed",
        f"This entry was not scanned: {problem}. The scanner never follows links out of a "
        "model directory, but a loader that opens this path would read the file it points to.",
        "Replace the link with the file itself, or scan the link's target as its own --model.",
    )  # fmt: skip


def damaged(target: str, note: str) -> Finding:
    """A zip archive whose structure is inconsistent; what could be read was still scanned."""
    return model_finding(
        ARCHIVE_DAMAGED, Severity.UNKNOWN, target, "Archive structure is damaged",
        f"In this zip archive {note}. What was found there was still scanned; a strict loader "
        "would refuse the file, a lenient one might read it differently.",
        "Re-create the archive from a trusted source.",
    )  # fmt: skip


def numpy_malformed(target: str, why: str) -> Finding:
    """A .npy file whose header cannot be read, so its array was not checked."""
    return model_finding(
        NUMPY_MALFORMED, Severity.UNKNOWN, target, "NumPy file header could not be read",
        f"The .npy header could not be read ({why}), so the array was not checked.",
        "Re-create the file with numpy.save from a trusted source.",
    )  # fmt: skip
