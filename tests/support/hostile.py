"""Hostile strings: what a pull request, a package or a model can put into our output.

Each is harmless (no payload runs anywhere); each would become a workflow command, a live
mention, an image, a link or markup if printed or rendered as is.
"""

from __future__ import annotations

# Issue 11's examples: a file name / pickle global that forges a workflow command ...
NEWLINE_COMMAND = "evil.pkl\n::warning::forged by a file name"
# ... and a pickle global that mentions a user and loads a tracking pixel.
MENTION_AND_PIXEL = "@octocat ![x](http://127.0.0.1/p.png)"

LOG_ATTACKS: tuple[str, ...] = (
    NEWLINE_COMMAND,
    "x\r::add-mask::PASSED",
    "x\r\n::error file=a.py::forged",
    "::warning::at the very start",
    "   ::notice::after blanks",
    "\u2028::error::after a line separator",
    "\u0085::error::after a C1 next-line",
    "\u00a0::error::after a no-break space",
    "mid-line ##[error]legacy command syntax",
    "##[add-mask]PASSED",
    "::::double",
    "\x1b[2J\x1b[31mterminal escape",
    "\u202egnp.exe (bidi override)",
    "zero\u200bwidth\u2066isolate\u2069",
    "bad\udcffname (not UTF-8 on disk)",
    "tab\there\x7fdel\x00nul",
)

MARKDOWN_ATTACKS: tuple[str, ...] = (
    MENTION_AND_PIXEL,
    "@github/security-team please look",
    "<img src=http://127.0.0.1/p.png>",
    "<script>alert(1)</script>",
    "<!-- hidden --> text",
    "[click me](http://127.0.0.1/phish)",
    "<http://127.0.0.1/autolink>",
    "http://127.0.0.1/bare-autolink",
    "www.example.com/bare",
    "mail me: someone@example.com",
    "fixes #1 and octo/repo#2 and GH-3",
    "&#64;octocat via an entity",
    "**bold** _em_ ~~strike~~ `code` ``two``",
    "a | pipe | splits | cells",
    "line one\nline two\r\n| --- |\n# heading",
    "trailing backslash \\",
    "back\\|slash pipe",
    "[x]: http://127.0.0.1/ref-definition",
    "![alt][ref]\n\n[ref]: http://127.0.0.1/p.png",
    "> quote\n- list",
    "- starts like a list item",
    "12. starts like an ordered list",
    "$\\sqrt{2}$ math, WWW.Example.com, :smile:",
    NEWLINE_COMMAND,
)
