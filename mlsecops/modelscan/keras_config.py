"""Keras model configs (`config.json` in a `.keras` zip, `model_config` in an `.h5`).

A config is JSON, but it names code, and Keras runs what it names when it rebuilds the model:
- Lambda layers (and any `__lambda__` object) carry marshalled Python bytecode;
- `TorchModuleWrapper` carries a whole torch module as a base64 `torch.save` blob, which
  Keras loads with `torch.load(weights_only=False)` (CVE-2025-49655): a pickle in a config;
- any object may name a `module` (and a class or function in it) that Keras imports and
  calls; outside Keras and TensorFlow that is code the config's author chose, and Keras 3
  itself refuses such modules since CVE-2025-1550 unless they are registered: HIGH;
- naming `enable_unsafe_deserialization` anywhere switches Keras' safe mode off for the rest
  of the load (CVE-2025-9906): CRITICAL, wherever it appears.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.notes import model_finding
from mlsecops.modelscan.rules import Rules, Trust

LAMBDA = "MLS-KERAS-LAMBDA"
DANGEROUS_REFERENCE = "MLS-KERAS-DENY"
CUSTOM_OBJECT = "MLS-KERAS-CUSTOM-OBJECT"
TORCH_MODULE = "MLS-KERAS-TORCH-MODULE"
MALFORMED = "MLS-KERAS-CONFIG-MALFORMED"
ECOSYSTEM = "keras"
UNSAFE_SWITCH = "enable_unsafe_deserialization"
# Byte markers of what the judge looks for: a config too large to parse is searched for them.
MARKERS = {
    b'"Lambda"': LAMBDA,
    b'"__lambda__"': LAMBDA,
    b"TorchModuleWrapper": TORCH_MODULE,
    UNSAFE_SWITCH.encode(): DANGEROUS_REFERENCE,
}

# Modules that ship with Keras or TensorFlow; objects from them need no code of yours.
_TRUSTED_PREFIXES = ("keras", "tensorflow", "tf_keras", "keras_hub", "keras_nlp", "keras_cv")
_LAMBDA_FIX = (
    "Replace the Lambda layer with a registered custom layer whose code you ship and "
    "review, load with keras.saving.load_model(path, safe_mode=True) (the default, which "
    "refuses Lambda bytecode), and never pass safe_mode=False for a file you did not make."
)

# Scans a torch.save blob found in the config (bytes, where in the config) as nested data.
NestedBlob = Callable[[bytes, str], list[Finding]]


@dataclass(frozen=True)
class ConfigSource:
    """Where a config was read from, and how to scan data nested in it."""

    target: str
    location: str  # e.g. "config.json" or "HDF5 attribute model_config"
    nested: NestedBlob | None = None


def config_findings(text: bytes | str, source: ConfigSource, rules: Rules) -> list[Finding]:
    """Findings for one serialized Keras config."""
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [
            _finding(
                MALFORMED, Severity.UNKNOWN, source, "",
                "Keras config is not valid JSON",
                f"The model config could not be read ({str(exc)[:200]}), so it was not checked "
                "for Lambda layers or custom objects.",
                "Re-save the model from a trusted source.",
            )
        ]  # fmt: skip
    judge = _Judge(source, rules)
    for node in _objects(config):
        judge.object(node)
    if any(UNSAFE_SWITCH in text for text in _strings(config)):
        judge.add(_unsafe_switch(source, "config"))
    return judge.findings


def marker_findings(found: dict[bytes, int], source: ConfigSource) -> list[Finding]:
    """Findings for markers a byte search found in a config too large to parse."""
    out = []
    for marker, offset in found.items():
        rule = MARKERS[marker]
        shown = marker.decode().strip('"')
        severity = Severity.CRITICAL if rule == DANGEROUS_REFERENCE else Severity.HIGH
        out.append(
            _finding(
                rule, severity, source, shown, f"Keras config names {shown}",
                f"A byte search of this config (too large to parse) found {shown!r} at byte "
                f"offset {offset}: {_MARKER_WHY[rule]}",
                "Do not load this model; get it from a trusted source.",
            )
        )  # fmt: skip
    return out


_MARKER_WHY = {
    LAMBDA: "a Lambda layer's bytecode is rebuilt into a function on load.",
    TORCH_MODULE: "a TorchModuleWrapper holds a pickled torch module, unpickled on load.",
    DANGEROUS_REFERENCE: "it switches Keras' safe mode off for the rest of the load.",
}


class _Judge:
    """Findings for the objects of one config, each (rule, package) once."""

    def __init__(self, source: ConfigSource, rules: Rules) -> None:
        self.source, self.rules = source, rules
        self.findings: list[Finding] = []
        self._seen: set[tuple[str, str]] = set()
        self._handled: set[int] = set()  # ids of objects already judged as part of another

    def add(self, finding: Finding | None) -> None:
        if finding is not None and (finding.id, finding.package) not in self._seen:
            self._seen.add((finding.id, finding.package))
            self.findings.append(finding)

    def object(self, node: dict[str, object]) -> None:
        if id(node) in self._handled:
            return
        class_name, config = node.get("class_name"), node.get("config")
        if class_name == "Lambda" and isinstance(config, dict):
            function = config.get("function")
            if isinstance(function, dict) and function.get("class_name") == "__lambda__":
                self._handled.add(id(function))
            self.add(_lambda(config, self.source))
        elif class_name == "__lambda__":
            self.add(_lambda({"name": "(a lambda object)", "function": node}, self.source))
        elif class_name == "TorchModuleWrapper":
            self.add(_torch_module(node, self.source))
            for finding in _wrapped_module(config, self.source):
                self.add(finding)
        self.add(_reference(node, self.source, self.rules))


def _objects(value: object) -> Iterator[dict[str, object]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _strings(value: object) -> Iterator[str]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _lambda(config: dict[str, object], source: ConfigSource) -> Finding:
    layer = str(config.get("name", "?"))[:100]
    kind = _lambda_kind(config.get("function"), config.get("function_type"))
    return _finding(
        LAMBDA, Severity.HIGH, source, f"Lambda layer {layer}",
        f"Keras Lambda layer {layer!r} holds {kind}",
        f"The Lambda layer {layer!r} stores {kind}. Keras rebuilds it into a Python "
        "function when the model is loaded (older Keras and .h5 loading do so without "
        "asking), so this code runs on load or on the first prediction.",
        _LAMBDA_FIX,
    )  # fmt: skip


def _torch_module(node: dict[str, object], source: ConfigSource) -> Finding:
    config = node.get("config")
    name = config.get("name", "?") if isinstance(config, dict) else "?"
    return _finding(
        TORCH_MODULE, Severity.HIGH, source, f"TorchModuleWrapper {str(name)[:100]}",
        "Keras TorchModuleWrapper holds a pickled torch module",
        "This layer wraps a torch module saved inside the config as a base64 torch.save "
        "blob; Keras loads it with torch.load(weights_only=False) (CVE-2025-49655), which "
        "runs any code the pickle names, whatever safe_mode says.",
        "Do not load this model with Keras before 3.11.3; rebuild the torch module from "
        "reviewed code and load only its weights.",
    )  # fmt: skip


def _wrapped_module(config: object, source: ConfigSource) -> list[Finding]:
    """The torch.save blob inside a TorchModuleWrapper, scanned as the torch file it is."""
    blob = config.get("module") if isinstance(config, dict) else None
    if not isinstance(blob, str) or source.nested is None:
        return []
    try:
        data = base64.b64decode(blob, validate=False)
    except (binascii.Error, ValueError):
        return []
    return source.nested(data, "TorchModuleWrapper module: ")


def _reference(node: dict[str, object], source: ConfigSource, rules: Rules) -> Finding | None:
    """A `module` + `class_name` (or function name) reference, judged."""
    module, class_name, config = node.get("module"), node.get("class_name"), node.get("config")
    if not isinstance(module, str) or not isinstance(class_name, str):
        return None
    is_function = class_name == "function" and isinstance(config, str)
    name = config if is_function and isinstance(config, str) else class_name
    if module == "builtins" and is_function and not hasattr(builtins, name):
        return None  # Keras looks a bare function name up among its own built-ins first
    verdict = rules.judge(module, name)
    dotted = f"{module}.{name}"[:200]
    if verdict.trust is Trust.DENY:
        return _finding(
            DANGEROUS_REFERENCE, Severity.CRITICAL, source, dotted,
            f"Keras config references dangerous {dotted}",
            f"The config names {dotted}, which Keras imports while deserializing the model; "
            f"it {verdict.why}.",
            "Do not load this model. Get it from a trusted source.",
        )  # fmt: skip
    if verdict.trust is Trust.ALLOW or module.split(".")[0] in _TRUSTED_PREFIXES:
        return None
    return _finding(
        CUSTOM_OBJECT, Severity.HIGH, source, dotted,
        f"Keras config needs code outside Keras: {dotted}",
        f"The config names {dotted}, which is not part of Keras or TensorFlow: loading "
        "imports that module and calls what it names (Keras 3.9+ refuses such modules "
        "unless registered; older Keras imports them).",
        f"If {module} is your own trusted code, allow {dotted} in the policy "
        "(model-scanner.allow-globals); otherwise do not load the model.",
    )  # fmt: skip


def _unsafe_switch(source: ConfigSource, where: str) -> Finding:
    return _finding(
        DANGEROUS_REFERENCE, Severity.CRITICAL, source, UNSAFE_SWITCH,
        f"Keras config names {UNSAFE_SWITCH}",
        f"The {where} names keras.config.{UNSAFE_SWITCH}: deserializing it switches Keras' "
        "safe mode off for the rest of the load (CVE-2025-9906), so Lambda bytecode and "
        "other unsafe objects that follow are loaded without asking.",
        "Do not load this model. Get it from a trusted source.",
    )  # fmt: skip


def _lambda_kind(function: object, function_type: object) -> str:
    if (
        (isinstance(function, dict) and function.get("class_name") == "__lambda__")
        or function_type == "lambda"
        or isinstance(function, list | tuple)
    ):
        return "marshalled Python bytecode"
    if isinstance(function, dict):
        return f"a reference to the function {str(function.get('config', '?'))[:100]}"
    return "a Python function"


def _finding(rule: str, severity: Severity, source: ConfigSource, package: str, title: str,
             description: str, fix: str) -> Finding:  # fmt: skip
    return model_finding(
        rule, severity, source.target, title, description, fix,
        package=package, location=source.location, ecosystem=ECOSYSTEM,
    )  # fmt: skip
