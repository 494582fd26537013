"""Keras model configs (`config.json` in a `.keras` zip, `model_config` in an `.h5`).

A config is JSON, but it names code: Lambda layers carry marshalled Python bytecode, and
any object may name a `module` (and, for functions, an attribute) that Keras imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.notes import model_finding
from mlsecops.modelscan.rules import Rules, Trust

LAMBDA = "MLS-KERAS-LAMBDA"
DANGEROUS_REFERENCE = "MLS-KERAS-DENY"
CUSTOM_OBJECT = "MLS-KERAS-CUSTOM-OBJECT"
MALFORMED = "MLS-KERAS-CONFIG-MALFORMED"
ECOSYSTEM = "keras"

# Modules that ship with Keras or TensorFlow; objects from them need no code of yours.
_TRUSTED_PREFIXES = ("keras", "tensorflow", "tf_keras", "keras_hub", "keras_nlp", "keras_cv")
_LAMBDA_FIX = (
    "Replace the Lambda layer with a registered custom layer whose code you ship and "
    "review, load with keras.saving.load_model(path, safe_mode=True) (the default, which "
    "refuses Lambda bytecode), and never pass safe_mode=False for a file you did not make."
)


@dataclass(frozen=True)
class ConfigSource:
    target: str
    location: str  # e.g. "config.json" or "HDF5 attribute model_config"


def config_findings(text: bytes | str, source: ConfigSource, rules: Rules) -> list[Finding]:
    """Findings for one serialized Keras config."""
    try:
        config = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return [
            _finding(
                MALFORMED, Severity.UNKNOWN, source, "",
                "Keras config is not valid JSON",
                f"The model config could not be read ({exc}), so it was not checked for "
                "Lambda layers or custom objects.",
                "Re-save the model from a trusted source.",
            )
        ]  # fmt: skip
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for node in _objects(config):
        finding = _judge_object(node, source, rules)
        if finding is not None and (finding.id, finding.package) not in seen:
            seen.add((finding.id, finding.package))
            findings.append(finding)
    return findings


def _objects(value: object) -> Iterator[dict[str, object]]:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            yield item
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _judge_object(node: dict[str, object], source: ConfigSource, rules: Rules) -> Finding | None:
    class_name = node.get("class_name")
    config = node.get("config")
    if class_name == "Lambda" and isinstance(config, dict):
        layer = str(config.get("name", "?"))
        kind = _lambda_kind(config.get("function"), config.get("function_type"))
        return _finding(
            LAMBDA, Severity.HIGH, source, f"Lambda layer {layer}",
            f"Keras Lambda layer {layer!r} holds {kind}",
            f"The Lambda layer {layer!r} stores {kind}. Keras rebuilds it into a Python "
            "function when the model is loaded (older Keras and .h5 loading do so without "
            "asking), so this code runs on load or on the first prediction.",
            _LAMBDA_FIX,
        )  # fmt: skip
    module = node.get("module")
    if not isinstance(module, str) or not isinstance(class_name, str):
        return None
    name = config if class_name == "function" and isinstance(config, str) else class_name
    verdict = rules.judge(module, name)
    dotted = f"{module}.{name}"
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
        CUSTOM_OBJECT, Severity.MEDIUM, source, dotted,
        f"Keras config needs custom code {dotted}",
        f"The config names {dotted}, which is not part of Keras or TensorFlow: loading "
        "imports that module and runs its code.",
        f"If {module} is your own trusted code, allow {dotted} in the policy; otherwise do "
        "not load the model.",
    )  # fmt: skip


def _lambda_kind(function: object, function_type: object) -> str:
    if (
        (isinstance(function, dict) and function.get("class_name") == "__lambda__")
        or function_type == "lambda"
        or isinstance(function, list | tuple)
    ):
        return "marshalled Python bytecode"
    if isinstance(function, dict):
        return f"a reference to the function {function.get('config', '?')!s}"
    return "a Python function"


def _finding(rule: str, severity: Severity, source: ConfigSource, package: str, title: str,
             description: str, fix: str) -> Finding:  # fmt: skip
    return model_finding(
        rule, severity, source.target, title, description, fix,
        package=package, location=source.location, ecosystem=ECOSYSTEM,
    )  # fmt: skip
