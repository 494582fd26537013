"""Text next to a model: model cards, JSON configs, and the chat templates among them.

Text holds no code, with one exception: Jinja chat templates, which serving stacks render
(not all of them sandboxed). `tokenizer_config.json`'s `chat_template` (a string, or a
list of named templates) and `*.jinja` files are judged like GGUF templates. Text inside
archives is the archive's business (Keras configs are read by the zip handler).
"""

from __future__ import annotations

import json

from mlsecops.core.findings import Finding
from mlsecops.modelscan.formats.base import Context, Data, Found, Handler
from mlsecops.modelscan.hidden_text import hidden_pickle_findings
from mlsecops.modelscan.notes import too_large
from mlsecops.modelscan.templates import Template, template_findings

CHAT_TEMPLATE = "MLS-CHAT-TEMPLATE"
MAX_TEXT = 16 * 1024 * 1024  # tokenizer configs are kilobytes; a larger text is not one


def scan(data: Data, context: Context) -> list[Finding]:
    """Findings for a chat template in a text file at the top level (none elsewhere)."""
    if data.where.in_archive or not data.head:
        return []
    target, name = data.where.target, data.sniffed.name
    handle, size = data.seekable()
    if size > MAX_TEXT:
        if _named_template(name):
            return [too_large(target, f"this {size}-byte template file", MAX_TEXT)]
        return []  # a large text that no loader renders as a template (model card, vocab)
    text = handle.read(MAX_TEXT)
    if context.options.strings is not None:
        context.strings([Found.at(data.where, "", text.decode("utf-8", "replace"))])
    hidden = hidden_pickle_findings(text, data.where, context)  # base64/hex pickles in JSON
    return chat_template_findings(text, name, target) + hidden


def _named_template(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(".jinja") or base in ("tokenizer_config.json", "chat_template.json")


def chat_template_findings(text: bytes, name: str, target: str) -> list[Finding]:
    """Findings for a text file that is, or holds, a chat template; [] for any other text."""
    if name.endswith(".jinja"):
        template = Template(name.rsplit("/", 1)[-1], text.decode("utf-8", "replace"), 0)
        return template_findings([template], target, CHAT_TEMPLATE, "jinja")
    if not text.lstrip().startswith(b"{") or b"chat_template" not in text:
        return []
    try:
        config = json.loads(text)
    except (ValueError, RecursionError):
        return []
    if not isinstance(config, dict):
        return []
    templates = _templates(config.get("chat_template"))
    return template_findings(templates, target, CHAT_TEMPLATE, "jinja")


def _templates(value: object) -> list[Template]:
    if isinstance(value, str):
        return [Template("chat_template", value, 0)]
    templates = []
    if isinstance(value, list):
        for entry in value:
            if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                key = f"chat_template {entry.get('name', '?')}"
                templates.append(Template(key, entry["template"], 0))
    return templates


def is_text(head: bytes) -> bool:
    """True for data that reads as UTF-8 text with no NUL byte (or is empty)."""
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off by the end of `head` is still text.
        return exc.start >= len(head) - 3 and exc.reason.startswith("unexpected end")
    return True


HANDLER = Handler("text", lambda data: is_text(data.head), scan, fallback=True)
