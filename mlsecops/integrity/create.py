"""Model path -> manifest: what `mlsecops hash` does.

Every regular file counts, hidden ones too: there is no ignore list, because an ignored name
is exactly where an attacker would put a file. Anything that is not a regular file or a
directory (symlinks above all) is refused rather than followed or skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mlsecops.errors import UsageError
from mlsecops.integrity.hashing import hash_files
from mlsecops.integrity.manifest import FileEntry, Manifest, sort_key
from mlsecops.integrity.provenance import Provenance
from mlsecops.integrity.relpath import path_problem, show
from mlsecops.integrity.sha256sum import sha256sum_text
from mlsecops.integrity.tree import ModelRoot, Tree
from mlsecops.paths import write_text_atomic

_LISTED = 10  # how many offending names one error message shows


def hash_model(model: Path, provenance: Provenance | None, jobs: int) -> Manifest:
    """Hash every file of `model` (a file or a directory) into an unsigned manifest."""
    with ModelRoot(model) as root:
        tree = root.scan()
        _refuse_unhashable(model, tree)
        digests = hash_files(root, tree.files, jobs)
    changed = [path for path, digest in digests.items() if digest.size != tree.files[path]]
    if changed:
        raise UsageError(
            f"{_names(changed)} changed size while being hashed",
            "hash after whatever writes the model has finished",
        )
    entries = (FileEntry(path, d.size, d.sha256) for path, d in digests.items())
    return Manifest(tree.kind, tuple(sorted(entries, key=sort_key)), provenance)


def check_outputs(model: Path, outputs: Mapping[str, Path]) -> None:
    """Refuse outputs inside the model (the next `verify` would find an added file), and two
    outputs that are one file. `outputs` maps how the caller's user names each one (a flag,
    an input) to its path, so the message speaks their language."""
    model_real = model.resolve()
    seen: dict[Path, str] = {}
    for label, output in outputs.items():
        real = output.resolve()
        if real == model_real or (model.is_dir() and model_real in real.parents):
            raise UsageError(
                f"{label} {output} is inside the model {model}",
                "write it outside the model, e.g. next to it",
            )
        if real in seen:
            raise UsageError(f"{seen[real]} and {label} name the same file", "use two files")
        seen[real] = label


def write_outputs(manifest: Manifest, manifest_path: Path, sha256sum_path: Path | None) -> None:
    """Write the manifest (and the coreutils checksum file), each atomically."""
    write_text_atomic(manifest_path, manifest.json_chunks())
    if sha256sum_path is not None:
        write_text_atomic(sha256sum_path, sha256sum_text(manifest))


def _refuse_unhashable(model: Path, tree: Tree) -> None:
    if tree.symlinks:
        links = [f"{show(link)} -> {show(target)}" for link, target in tree.symlinks.items()]
        raise UsageError(
            f"{model} contains symlinks, which are never followed: {_names(links, quote=False)}",
            "replace each link with the file it points to",
        )
    if tree.others:
        raise UsageError(
            f"{model} contains files that are not regular files: {_names(list(tree.others))}",
            "remove them from the model",
        )
    bad = [f"{show(path)} ({problem})" for path in tree.files if (problem := path_problem(path))]
    if bad:
        raise UsageError(
            f"{model} contains names a manifest cannot carry: {_names(bad, quote=False)}",
            "rename them",
        )


def _names(items: Sequence[str], quote: bool = True) -> str:
    shown = [show(item) if quote else item for item in sorted(items)[:_LISTED]]
    more = f" and {len(items) - _LISTED} more" if len(items) > _LISTED else ""
    return ", ".join(shown) + more
