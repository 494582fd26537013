"""The one findings model every scanner feeds and every report reads."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mlsecops.core.text import has_surrogates, valid_unicode


class Severity(enum.IntEnum):
    """Severities in gating order; UNKNOWN ranks lowest so it never trips a gate by itself."""

    UNKNOWN = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @classmethod
    def parse(cls, text: str) -> Severity:
        """Read a severity name case-insensitively; anything unrecognised is UNKNOWN."""
        try:
            return cls[text.strip().upper()]
        except KeyError:
            return cls.UNKNOWN


# Highest first: the order of report sections and of count objects.
SEVERITIES_DESC: tuple[Severity, ...] = tuple(sorted(Severity, reverse=True))


class Kind(enum.StrEnum):
    """What sort of problem a finding is (the JSON report's `kind`)."""

    VULNERABILITY = "vulnerability"
    MODEL = "model"
    SECRET = "secret"  # noqa: S105 (a finding kind, not a password)
    MISCONFIGURATION = "misconfiguration"


class TargetType(enum.StrEnum):
    """What a finding's `target` names."""

    FILE = "file"  # a path in the repository (or a model file)
    IMAGE = "image"  # a container image, by the name the user gave


class BaselineState(enum.StrEnum):
    """A finding against a baseline report; NONE when the scan had no baseline."""

    NONE = ""
    NEW = "new"
    EXISTING = "existing"


# Finding.properties a policy ignore entry sets on what it ignores (triage/policy): its
# CycloneDX analysis state and justification, and the date it expires (the ML-BOM's analysis).
ANALYSIS_STATE = "analysis-state"
ANALYSIS_JUSTIFICATION = "analysis-justification"
IGNORE_EXPIRES = "ignore-expires"


@dataclass(frozen=True)
class Cvss:
    """One CVSS rating of an advisory, as one source (nvd, ghsa, a distribution) gave it."""

    source: str  # the data source's id, as the vulnerability DB names it
    version: str  # "2.0", "3.0", "3.1" or "4.0"
    vector: str  # "CVSS:3.1/AV:N/...", or CVSS 2's bare "AV:N/..."
    score: float | None = None


# The free-text fields of a Finding (all but enums, numbers and tuples).
_TEXT_FIELDS = (
    "id",
    "target",
    "title",
    "package",
    "installed_version",
    "fixed_version",
    "description",
    "fix",
    "primary_url",
    "location",
    "ecosystem",
    "ignore_reason",
)


@dataclass(frozen=True)
class Finding:
    """One problem in one target. Scanners fill what they know; reports read the rest as empty."""

    id: str
    kind: Kind
    severity: Severity
    target: str  # the file, image or model path the finding is in (repo-relative when possible)
    target_type: TargetType = TargetType.FILE
    title: str = ""
    package: str = ""
    installed_version: str = ""
    fixed_version: str = ""
    description: str = ""
    fix: str = ""  # what to do about it, in words a person can act on
    primary_url: str = ""
    references: tuple[str, ...] = ()
    cvss_score: float | None = None
    line: int | None = None  # 1-based line in `target` where the finding sits, when known
    end_line: int | None = None
    location: str = ""  # detail inside the target: a package path in an image, an opcode, ...
    # The archive member the finding is in, as a path of member names, outermost archive
    # first (`("inner.zip", "archive/data.pkl")`); empty when it is in the target itself.
    # Kept apart from `target` because a file name may hold any character, `:` included.
    member: tuple[str, ...] = ()
    ecosystem: str = ""  # pip, debian, ... as the scanner names it
    ignored: bool = False
    ignore_reason: str = ""
    baseline: BaselineState = BaselineState.NONE
    properties: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # An advisory's CVSS ratings, one per source and version, and its weaknesses (CWE-79).
    cvss: tuple[Cvss, ...] = ()
    cwes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Scanners fill these from file names and file contents, which need not be valid
        # Unicode (a non-UTF-8 file name, a crafted pickle string); every report writes them
        # as UTF-8, so a lone surrogate becomes a visible escape here, once, for all of them.
        texts = [getattr(self, name) for name in _TEXT_FIELDS]
        extras = [*self.member, *self.references, *self.properties.values()]
        if not has_surrogates("".join([*texts, *extras])):
            return
        for name, value in zip(_TEXT_FIELDS, texts, strict=True):
            object.__setattr__(self, name, valid_unicode(value))
        object.__setattr__(self, "member", tuple(map(valid_unicode, self.member)))
        object.__setattr__(self, "references", tuple(map(valid_unicode, self.references)))
        properties = {valid_unicode(k): valid_unicode(v) for k, v in self.properties.items()}
        object.__setattr__(self, "properties", properties)

    @property
    def shown_target(self) -> str:
        """The target as people read it: with the archive member, when there is one."""
        if not self.member:
            return self.target
        return f"{self.target} (archive member {' > '.join(self.member)})"

    def sort_key(self) -> tuple[int, str, tuple[str, ...], str, str, str]:
        """Most severe first, then stable by target, member, package and id."""
        return (
            -int(self.severity),
            self.target,
            self.member,
            self.package,
            self.id,
            self.installed_version,
        )


def sorted_findings(findings: list[Finding] | tuple[Finding, ...]) -> list[Finding]:
    """The findings in report order: most severe first, then stable by target and package."""
    return sorted(findings, key=Finding.sort_key)
