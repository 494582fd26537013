"""Jinja chat templates kept as text next to a model (Hugging Face tokenizer files).

The same template attack as in GGUF metadata: `tokenizer_config.json`'s `chat_template`
(a string, or a list of named templates) and `chat_template.jinja` files are rendered by
serving stacks, not all of them sandboxed.
"""

from __future__ import annotations

import json

from mlsecops.core.findings import Finding
from mlsecops.modelscan.gguf import Template, findings_for

CHAT_TEMPLATE = "MLS-CHAT-TEMPLATE"
MAX_TEXT = 16 * 1024 * 1024  # tokenizer configs are kilobytes; a larger text file is not one


def template_findings(text: bytes, name: str, target: str) -> list[Finding]:
    """Findings for a text file that is, or holds, a chat template; [] for any other text."""
    if name.endswith(".jinja"):
        template = Template(name.rsplit("/", 1)[-1], text.decode("utf-8", "replace"), 0)
        return findings_for([template], target, CHAT_TEMPLATE, "jinja")
    if not text.lstrip().startswith(b"{") or b"chat_template" not in text:
        return []
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(config, dict):
        return []
    value = config.get("chat_template")
    templates = []
    if isinstance(value, str):
        templates.append(Template("chat_template", value, 0))
    elif isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                key = f"chat_template {entry.get('name', '?')}"
                templates.append(Template(key, entry["template"], 0))
    return findings_for(templates, target, CHAT_TEMPLATE, "jinja")
