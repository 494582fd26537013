"""What a SARIF viewer makes of a plain-text message: its embedded links (SARIF 3.11.6).

A viewer renders `[link text](destination)` in a plain-text message as a link; a bracket
preceded by an odd number of backslashes is a literal one. `embedded_links` finds every
link a viewer could render, reading escapes the way the spec's grammar does.
"""

from __future__ import annotations


def _unescaped(text: str, index: int) -> bool:
    """Whether the character at `index` is preceded by an even number of backslashes."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 0


def embedded_links(text: str) -> list[str]:
    """The destination of every `[text](destination)` a viewer would render as a link."""
    found = []
    for start, ch in enumerate(text):
        if ch != "[" or not _unescaped(text, start):
            continue
        for end in range(start + 1, len(text) - 1):
            if text[end] == "]" and text[end + 1] == "(" and _unescaped(text, end):
                close = text.find(")", end + 2)
                if close != -1:
                    found.append(text[end + 2 : close])
                break
    return found
