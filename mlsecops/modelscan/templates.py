"""Jinja chat templates: the constructs only a template-injection attack needs.

Some runtimes render a model's chat template with an unsandboxed Jinja environment (the
2024 llama-cpp-python advisory), where `''.__class__.__mro__[1].__subclasses__()` or
`cycler.__init__.__globals__` reach `os`. A chat template needs none of that. GGUF
metadata and Hugging Face tokenizer files carry templates; both are judged here.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.notes import model_finding

_RISKS = (
    (re.compile(r"__\w+__"), "reaches Python internals through a dunder attribute"),
    (re.compile(r"""['"]\s*__|__\s*['"]"""), "builds a dunder name out of strings"),
    (re.compile(r"\|\s*attr\s*\("), "uses the attr filter, which bypasses attribute checks"),
    (
        re.compile(r"\b(?:popen|subprocess|import_module|__import__|eval|exec|system)\s*\("),
        "calls a function that runs code or commands",
    ),
)


@dataclass(frozen=True)
class Template:
    """One chat template: the key or file it came from, its text, and where it starts."""

    key: str
    text: str
    offset: int  # byte offset in the file, 0 when not meaningful


def risks(text: str) -> Iterator[tuple[str, str]]:
    """(snippet, why) for each construct in a template that only an attack needs."""
    for pattern, why in _RISKS:
        match = pattern.search(text)
        if match:
            start = max(0, match.start() - 30)
            yield text[start : match.end() + 30].replace("\n", " "), why


def template_findings(
    found: list[Template], target: str, rule: str, ecosystem: str
) -> list[Finding]:
    """One finding per risky template, naming every reason."""
    out = []
    for template in found:
        reasons = list(risks(template.text))
        if not reasons:
            continue
        snippet = reasons[0][0]
        out.append(
            model_finding(
                rule,
                Severity.HIGH,
                target,
                "Chat template reaches for Python internals",
                f"The chat template {template.key!r} "
                + "; ".join(why for _snippet, why in reasons)
                + f" (e.g. ...{snippet}...). Rendered by an unsandboxed Jinja, as some "
                "runtimes do, it runs code on the machine serving the model.",
                "Do not serve this model with its embedded template: replace the template "
                "with a reviewed one, and render templates only in Jinja's SandboxedEnvironment.",
                package=template.key,
                location=(
                    f"metadata key {template.key} at byte offset {template.offset}"
                    if template.offset
                    else template.key
                ),
                ecosystem=ecosystem,
            )
        )
    return out
