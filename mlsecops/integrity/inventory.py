"""Model paths -> inventory entries: each file's SHA-256 as `mlsecops hash` records it, its
format, and the `mlsecops hash` manifest that describes the model, when one was given.

The digests come from `create.hash_model` itself, so they are the manifest's by
construction. A manifest belongs to a model when it lists exactly the files just hashed
(same names, sizes and SHA-256); one that matches no model is a usage error, because
linking it would claim an integrity record for files it does not describe.
"""

from __future__ import annotations

import io
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from mlsecops.core.inventory import Inventory, Model, ModelFile
from mlsecops.core.source import SourceResult
from mlsecops.errors import UsageError
from mlsecops.integrity.create import hash_model
from mlsecops.integrity.manifest import Manifest, read_manifest
from mlsecops.integrity.tree import ModelRoot
from mlsecops.paths import display_path


@dataclass(frozen=True)
class ModelHashes:
    """The `--model` paths as a Source of inventory only: hashed, each file's format, and
    linked to the manifests given (read and checked beforehand, see read_manifests)."""

    models: tuple[Path, ...]
    manifests: tuple[tuple[Path, Manifest], ...] = ()
    jobs: int = 1

    def scan(self) -> SourceResult:
        """The models' inventory, and a note for each model that could not be hashed."""
        models = model_inventory(self.models, self.manifests, self.jobs)
        notes = tuple(
            f"{m.target}: not hashed for the SBOM: {m.problem}" for m in models if m.problem
        )
        return SourceResult(notes=notes, inventory=Inventory(models=models))


def read_manifests(paths: Sequence[Path]) -> tuple[tuple[Path, Manifest], ...]:
    """Each `--model-manifest` file, read and checked (UsageError when it is not one)."""
    return tuple((path, read_manifest(path)) for path in paths)


def model_inventory(
    models: Sequence[Path], given: Sequence[tuple[Path, Manifest]] = (), jobs: int = 1
) -> tuple[Model, ...]:
    """One Model per path in `models`, each linked to the manifest in `given` that lists
    exactly its files. Raises UsageError for a manifest that matches none."""
    used: set[Path] = set()
    entries = []
    for path in models:
        entry, hashed = _hashed(path, jobs)
        source, manifest = next(
            ((s, m) for s, m in given if hashed is not None and _same(m, hashed)), (None, None)
        )
        if source is not None and manifest is not None:
            used.add(source)
            entry = replace(
                entry, manifest_digest=manifest.digest(), manifest_source=display_path(source)
            )
        entries.append(entry)
    for source, _ in given:
        if source not in used:
            raise UsageError(
                f"--model-manifest {source} describes none of the --model paths: its files "
                "differ from each model's",
                f"run `mlsecops verify MODEL_PATH --manifest {source}` to see the differences",
            )
    return tuple(entries)


def model_record(path: Path, manifest: Manifest) -> Model:
    """The Model for `path` that `manifest` (just written by `mlsecops hash`) describes."""
    files = _with_formats(path, manifest)
    return Model(
        display_path(path),
        manifest.kind,
        files,
        manifest_digest=manifest.digest(),
    )


def _hashed(path: Path, jobs: int) -> tuple[Model, Manifest | None]:
    """The model hashed as `mlsecops hash` would (no provenance: it is not part of the
    files); a model `hash` refuses (a symlink inside, say) keeps the reason instead."""
    target = display_path(path)
    kind = "directory" if path.is_dir() else "file"
    try:
        manifest = hash_model(path, None, jobs)
        return Model(target, manifest.kind, _with_formats(path, manifest)), manifest
    except UsageError as error:
        return Model(target, kind, problem=error.problem), None


def _same(given: Manifest, hashed: Manifest) -> bool:
    return given.kind == hashed.kind and given.files == hashed.files


def _with_formats(path: Path, manifest: Manifest) -> tuple[ModelFile, ...]:
    """The manifest's entries, each with the format its content shows."""
    with ModelRoot(path) as root:
        return tuple(
            ModelFile(entry.path, entry.size, entry.sha256, _format(root, entry.path))
            for entry in manifest.files
        )


def _format(root: ModelRoot, rel: str) -> str:
    """The format the model scanner reads the file as, from its content ("unknown": none)."""
    # Imported here: `mlsecops hash` without --sbom never pays for the model scanner.
    from mlsecops.modelscan.scanner import file_format

    with io.FileIO(root.open_file(rel), "r", closefd=True) as raw:
        size = os.fstat(raw.fileno()).st_size
        return file_format(raw, size, rel.rpartition("/")[2]) or "unknown"
