"""A model as a CycloneDX 1.6 `machine-learning-model` component.

Its hashes are the SHA-256 `mlsecops hash` records: on the component itself for a
single-file model, on one nested `file` component per file for a directory. Its detected
formats, the manifest digest it is linked to, and (in a scan) the model scanner's verdict
and findings are properties. `mlsecops hash --sbom` writes this component alone
(`model_bom`); the integrity action checks such a document against its manifest
(`bom_problem`).
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from collections.abc import Collection, Sequence
from typing import Any

from mlsecops import __version__
from mlsecops.core.findings import Finding
from mlsecops.core.inventory import Model, ModelFile
from mlsecops.integrity.manifest import Manifest
from mlsecops.reports.bom_packages import PREFIX, prop

SPEC_VERSION = "1.6"
SCHEMA_URL = "http://cyclonedx.org/schema/bom-1.6.schema.json"
DIGEST_PROPERTY = PREFIX + "integrity:manifest-digest"


class ModelVerdict(enum.StrEnum):
    """The model scan's verdict on one model (the `mlsecops:model:verdict` property)."""

    FAIL = "fail"  # a finding in it fails the gate
    WARN = "warn"  # open findings, none failing the gate
    PASS = "pass"  # no open finding  # noqa: S105 (a verdict, not a password)


def model_ref(model: Model) -> str:
    """The bom-ref of a model's component."""
    return f"model:{model.target}"


def model_component(
    model: Model, findings: Sequence[Finding] | None = None, failing: Collection[int] = ()
) -> dict[str, Any]:
    """The component; with `findings` (a scan's, `failing` holding the `id()` of those that
    fail the gate), also the model scan's verdict and each finding."""
    ref = model_ref(model)
    component: dict[str, Any] = {"type": "machine-learning-model", "bom-ref": ref}
    component["name"] = model.target
    if model.kind == "file" and len(model.files) == 1:
        component["hashes"] = [_sha256(model.files[0])]
    props = [prop("model:kind", model.kind)]
    props += [prop("model:format", f) for f in dict.fromkeys(f.format for f in model.files)]
    if model.files:
        props.append(prop("model:files", len(model.files)))
        props.append(prop("model:bytes", sum(f.size for f in model.files)))
    if model.problem:
        props.append(prop("model:not-hashed", model.problem))
    if model.manifest_digest:
        props.append({"name": DIGEST_PROPERTY, "value": model.manifest_digest})
    if model.manifest_source:
        props.append(prop("integrity:manifest", model.manifest_source))
    if findings is not None:
        props += _verdict(findings, failing)
    component["properties"] = props
    if model.kind == "directory":
        component["components"] = [_file(ref, f) for f in model.files]
    return component


def _sha256(file: ModelFile) -> dict[str, str]:
    return {"alg": "SHA-256", "content": file.sha256}


def _file(parent: str, file: ModelFile) -> dict[str, Any]:
    return {
        "type": "file",
        "bom-ref": f"{parent}/{file.path}",
        "name": file.path,
        "hashes": [_sha256(file)],
        "properties": [prop("model:format", file.format), prop("size", file.size)],
    }


def _verdict(findings: Sequence[Finding], failing: Collection[int]) -> list[dict[str, str]]:
    """The verdict on the model's findings, their number, and each one."""
    open_ = [f for f in findings if not f.ignored]
    fails = any(id(f) in failing for f in open_)
    verdict = ModelVerdict.FAIL if fails else ModelVerdict.WARN if open_ else ModelVerdict.PASS
    props = [prop("model:verdict", verdict), prop("model:findings", len(open_))]
    for finding in findings:
        where = finding.target + "".join(f" > {member}" for member in finding.member)
        where += f" {finding.location}" if finding.location else ""
        state = " (ignored)" if finding.ignored else ""
        text = f"{finding.id} {finding.severity.name}{state} {where}: {finding.title}"
        props.append(prop("model:finding", text))
    return props


def findings_of(model: Model, findings: Sequence[Finding]) -> list[Finding]:
    """The model findings in `model`: its file, files under its directory, archive members."""
    prefix = "" if model.target == "." else model.target
    return [
        f
        for f in findings
        if f.target == model.target
        or not prefix
        or f.target.startswith((prefix + "/", prefix + ":"))
    ]


def model_bom(model: Model, timestamp: str) -> dict[str, Any]:
    """A CycloneDX document describing one model (what `mlsecops hash --sbom` writes)."""
    component = model_component(model)
    serial = uuid.uuid5(uuid.NAMESPACE_URL, model.manifest_digest + json.dumps(component))
    return {
        "$schema": SCHEMA_URL,
        "bomFormat": "CycloneDX",
        "specVersion": SPEC_VERSION,
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [tool_component()]},
            "component": component,
        },
    }


def now() -> str:
    """The current time, as CycloneDX's date-time (UTC, whole seconds)."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def tool_component() -> dict[str, str]:
    """mlsecops, as the tool that wrote the document."""
    return {"type": "application", "name": "mlsecops", "version": __version__}


def bom_problem(text: str, manifest: Manifest) -> str | None:
    """Why `text` is not the document `mlsecops hash --sbom` writes for `manifest`, or None.

    It must name the manifest's digest and list exactly the manifest's files and SHA-256.
    """
    try:
        data = json.loads(text)
        component = data["metadata"]["component"]
        props = {p["name"]: p["value"] for p in component.get("properties", [])}
        if component.get("type") == "machine-learning-model" and "components" in component:
            files = {(c["name"], c["hashes"][0]["content"]) for c in component["components"]}
        else:
            files = {(manifest.files[0].path, component["hashes"][0]["content"])}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return "is not the CycloneDX document mlsecops hash writes"
    if props.get(PREFIX + "model:kind") != manifest.kind:
        return f"describes a model of another kind than the manifest's {manifest.kind}"
    if props.get(DIGEST_PROPERTY) != manifest.digest():
        return "names another manifest digest"
    if files != {(entry.path, entry.sha256) for entry in manifest.files}:
        return "lists other files or digests than the manifest"
    return None
