"""The official CycloneDX 1.6 JSON schema, as the CycloneDX project's own library ships it.

cyclonedx-python-lib (a TEST dependency) bundles the schema files the CycloneDX project
publishes (bom-1.6 with its spdx and jsf references) and checks formats; we only build the
document ourselves, so the check is independent of the code under test.
"""

from __future__ import annotations

from typing import Any

from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator


def bom_errors(text: str) -> list[str]:
    """Every way `text` breaks the CycloneDX 1.6 JSON schema (strict: no unknown fields)."""
    errors = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text, all_errors=True)
    return [str(error) for error in errors or ()]


def components_by_ref(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every component of the document, nested ones too, by bom-ref."""
    found: dict[str, dict[str, Any]] = {}
    pending = list(document.get("components", []))
    subject = document.get("metadata", {}).get("component")
    if subject:
        pending.append(subject)
    while pending:
        component = pending.pop()
        found[component["bom-ref"]] = component
        pending += component.get("components", [])
    return found


def props(component: dict[str, Any], name: str) -> list[str]:
    """The values of the component's properties called `name`, in order."""
    return [p["value"] for p in component.get("properties", []) if p["name"] == name]
