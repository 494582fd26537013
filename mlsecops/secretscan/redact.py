"""The only form a secret takes in any output: its first characters and its length.

Findings never carry a secret: each carries this redacted form instead. `scrub` is the
safety net for text we pass through from elsewhere (Trivy's log lines and error causes, a
key or a call argument read from a model, a file name): every match of a shipped rule, and
every secret already known to be one, becomes its redacted form before it goes anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence

from mlsecops.secretscan.matching import find_secrets

SHOWN = 4  # characters shown of a secret of at least MIN_FULL_SHOW characters
MIN_FULL_SHOW = 16
MIN_KNOWN = 8  # a known secret shorter than this is not looked for (it would match words)


def shown_length(length: int) -> int:
    """How many leading characters of a secret of `length` characters may be shown.

    Four of a 20-character key, mostly its fixed prefix (`AKIA`, `hf_x`); a short secret
    shows a quarter of itself at most, so it stays unguessable.
    """
    return SHOWN if length >= MIN_FULL_SHOW else length // 4


def redacted(prefix: str, length: int) -> str:
    """`hf_A… (37 characters)`; without a known prefix `… (37 characters)`.

    `prefix` is cut to what `shown_length` allows and dropped unless it is printable
    ASCII, so nothing here can put more of a secret, or a control character, in output.
    """
    if length <= 0:
        return "… (length unknown)"
    cut = prefix[: shown_length(length)]
    if not (cut.isascii() and cut.isprintable()) or " " in cut:
        cut = ""
    return f"{cut}… ({length} characters)"


def redact(secret: str) -> str:
    """The redacted form of a secret we hold (e.g. one read from a model file)."""
    return redacted(secret, len(secret))


def _replace_known(text: str, secret: str) -> str:
    """Every run of `text` that starts like `secret` (MIN_KNOWN characters or more, any
    case) becomes its redacted form: the whole secret, or the part of it left where a
    quote was cut short (`os.system('export HF_TOKEN=hf_Abc...'...)`)."""
    shown = redact(secret)
    head, lowered, wanted = secret[:MIN_KNOWN].lower(), text.lower(), secret.lower()
    parts: list[str] = []
    start = 0
    while (hit := lowered.find(head, start)) >= 0:
        end = hit + MIN_KNOWN
        while end < len(text) and end - hit < len(wanted) and lowered[end] == wanted[end - hit]:
            end += 1
        parts += [text[start:hit], shown]
        start = end
    return "".join(parts) + text[start:]


def scrub(text: str, known: Sequence[str] = ()) -> str:
    """`text` with every secret in it replaced by its redacted form: every match of a shipped
    rule (in any letter case), and every one of the `known` secrets (any case, and cut
    short too)."""
    for secret in known:
        if len(secret) >= MIN_KNOWN:
            text = _replace_known(text, secret)
    matches = find_secrets(text, ignore_case=True)
    if not matches:
        return text
    parts: list[str] = []
    end = 0
    for match in sorted(matches, key=lambda m: m.start):
        if match.start < end:  # overlapping matches of two rules: the first one covers it
            continue
        parts += [text[end : match.start], redact(match.secret)]
        end = match.end
    return "".join(parts) + text[end:]
