"""The shipped secret rules in Python: what the model scanner (and `redact.scrub`) match with.

Trivy applies the same rules to files and image layers (secretscan/trivy_config); the
patterns are written so both engines read them alike (core/secret_rules), and the tests run
every rule's fake token through both.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from mlsecops.core.secret_rules import SECRET_RULES, SecretRule


@dataclass(frozen=True)
class SecretMatch:
    """One secret found in a string: the rule, where it is, and the secret itself.

    `secret` never goes into a finding or any output: only `redact.redact(secret)` does.
    """

    rule: SecretRule
    start: int  # offsets of the secret (the rule's `secret` group) in the string
    end: int
    secret: str = ""

    def __repr__(self) -> str:
        """The rule and the span, never the secret (a debug line, a failed assertion)."""
        return f"SecretMatch({self.rule.id}, {self.start}:{self.end})"


@functools.cache
def _compiled(ignore_case: bool) -> tuple[tuple[SecretRule, re.Pattern[str], tuple[str, ...]], ...]:
    # re.ASCII: `\s` and friends mean what they mean in Go's RE2, which Trivy runs.
    flags = re.ASCII | (re.IGNORECASE if ignore_case else 0)
    return tuple(
        (rule, re.compile(rule.regex, flags), tuple(k.lower() for k in rule.keywords))
        for rule in SECRET_RULES
    )


# Every rule's keywords, lower-cased (a loop of `in` beats one regex alternation here).
_KEYWORDS = tuple(sorted({k.lower() for rule in SECRET_RULES for k in rule.keywords}))


def might_hold_secret(text: str) -> bool:
    """True when some rule would look at `text` (it holds one of the rules' keywords).

    The cheap test a reader of many strings, such as the pickle machine, applies before
    keeping one for `find_secrets`.
    """
    lowered = text.lower()
    for keyword in _KEYWORDS:  # noqa: SIM110 (a loop: any() over a generator is slower)
        if keyword in lowered:
            return True
    return False


def find_secrets(text: str, *, ignore_case: bool = False) -> list[SecretMatch]:
    """Every secret in `text`, by rule then position (as Trivy reports them).

    `ignore_case` is for scrubbing text that quotes a secret with its case changed (Trivy
    lower-cases a Dockerfile line it cannot parse in its error): wider, never narrower.
    """
    if not might_hold_secret(text):
        return []
    lowered = text.lower()
    found: list[SecretMatch] = []
    for rule, pattern, keywords in _compiled(ignore_case):
        # As in Trivy: a rule runs only on text holding one of its keywords (fast, and the
        # same answers in both engines).
        if keywords and not any(keyword in lowered for keyword in keywords):
            continue
        for match in pattern.finditer(text):
            start, end = match.span("secret")
            found.append(SecretMatch(rule, start, end, match.group("secret")))
    return found
