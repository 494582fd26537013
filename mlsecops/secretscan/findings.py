"""Secret findings: one constructor for every secret, wherever it was found.

A secret finding says which rule, where (file and line, image path, model location) and the
redacted form of the secret (`properties["secret"]`): never the secret, never the line it
sits on. The same rule id is used for a token in a file, an image layer or a model.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from mlsecops.core.findings import Finding, Kind, Severity, TargetType
from mlsecops.core.secret_rules import SECRET_RULES
from mlsecops.secretscan.matching import SecretMatch, find_secrets
from mlsecops.secretscan.redact import redact

SECRET_PROPERTY = "secret"  # noqa: S105 (the name of the property holding the redacted form)
CATEGORY_PROPERTY = "category"

_HELP = {rule.id: rule.help for rule in SECRET_RULES}
_FIX = (
    "Revoke the credential at its provider and issue a new one (removing it from the file "
    "does not remove it from history or from image layers), then pass it at run time from a "
    "secret store or the job's environment. A fake or test value: ignore it in the policy "
    "file by rule id and path."
)


def secret_finding(
    rule_id: str,
    title: str,
    severity: Severity,
    target: str,
    shown: str,
    *,
    target_type: TargetType = TargetType.FILE,
    line: int | None = None,
    end_line: int | None = None,
    location: str = "",
    member: tuple[str, ...] = (),
    category: str = "",
) -> Finding:
    """A secret finding; `shown` is the redacted form (redact.redacted), nothing more."""
    description = _HELP.get(rule_id) or (
        f"A {title or 'credential'} is written in plain text: whoever can read this file, "
        "image or model can use it."
    )
    properties = {SECRET_PROPERTY: shown}
    if category:
        properties[CATEGORY_PROPERTY] = category
    return Finding(
        id=rule_id,
        kind=Kind.SECRET,
        severity=severity,
        target=target,
        target_type=target_type,
        title=title or rule_id,
        description=description,
        fix=_FIX,
        line=line,
        end_line=end_line if end_line is not None else line,
        location=location,
        member=member,
        properties=properties,
    )


class SecretCollector:
    """Strings a model scanner reads go in; one finding per secret per model file comes out.

    Format handlers hand every string they read (pickle strings, config values, metadata)
    to `add`; the collector matches the shipped rules and keeps the first place each
    distinct secret was seen in each file (or archive member).
    """

    def __init__(self) -> None:
        """An empty collector, for one scan."""
        self._seen: set[tuple[str, str, str, str]] = set()
        self._findings: list[Finding] = []
        self._known: dict[str, None] = {}  # the secrets themselves, to scrub other text

    def add(self, text: str, target: str, location: str = "", member: tuple[str, ...] = ()) -> None:
        """Look for secrets in one string read from `target` (in `member`) at `location`.

        A string with no location and no member is a whole text file: its matches get the
        line they are on.
        """
        for match in _matches(text, location):
            # The secret's digest, not the secret, is what stays in memory to de-duplicate.
            digest = hashlib.sha256(match.secret.encode()).hexdigest()
            key = (match.rule.id, target, " > ".join(member), digest)
            if key in self._seen:
                continue
            self._seen.add(key)
            self._known[match.secret] = None
            whole_file = not location and not member
            line = text.count("\n", 0, match.start) + 1 if whole_file else None
            self._findings.append(
                secret_finding(
                    match.rule.id,
                    match.rule.title,
                    match.rule.severity,
                    target,
                    redact(match.secret),
                    line=line,
                    location=location,
                    member=member,
                    category=match.rule.category,
                )
            )

    def findings(self) -> list[Finding]:
        """The secrets found so far, in the order they were met."""
        return list(self._findings)

    def known(self) -> list[str]:
        """The secrets found so far, themselves: only for scrubbing other findings' text
        (a pickle finding quoting the call that holds one), never for output."""
        return list(self._known)


def _matches(text: str, location: str) -> list[SecretMatch]:
    """The secrets in `text`; failing that, in `location=text`.

    A value read from a key-value store (GGUF metadata, safetensors `__metadata__`, an HDF5
    attribute) comes with its key in `location`: rules that need the key's name beside the
    value (`WANDB_API_KEY=...`) see it that way.
    """
    found = find_secrets(text)
    if found or not location:
        return found
    skip = len(location) + 1
    joined = find_secrets(f"{location}={text}")
    return [replace(m, start=m.start - skip, end=m.end - skip) for m in joined if m.start >= skip]
