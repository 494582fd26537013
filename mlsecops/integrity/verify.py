"""Model path + manifest -> every difference between them, grouped: what `mlsecops verify` does.

Only names found by listing the model are ever opened (see tree.py); the manifest only says
what to expect. A manifest carrying names `hash` would never write (absolute, `..`, repeated)
is reported before the model is touched at all.
"""

from __future__ import annotations

import dataclasses
import hmac
from dataclasses import dataclass
from pathlib import Path

from mlsecops.integrity.hashing import FileDigest, each_digest
from mlsecops.integrity.manifest import Manifest, entry_problems
from mlsecops.integrity.signing import signature_problem
from mlsecops.integrity.tree import ModelRoot, Tree

# The check row of a signed manifest verified without a key (the action also warns on it).
UNCHECKED_SIGNATURE = ("HMAC signature", "present but NOT checked: no key given")


@dataclass(frozen=True)
class Difference:
    """One way the model (or the manifest) is not what was hashed."""

    path: str
    detail: str = ""


@dataclass(frozen=True)
class Verdict:
    """The result of a verification: passed exactly when no group has a difference."""

    model: str
    digest: str  # of the manifest that was read
    files: int  # as the manifest lists them
    bytes: int
    manifest: tuple[Difference, ...] = ()  # wrong digest or signature, entries never hashed
    changed: tuple[Difference, ...] = ()
    missing: tuple[Difference, ...] = ()
    added: tuple[Difference, ...] = ()
    symlinks: tuple[Difference, ...] = ()
    not_regular: tuple[Difference, ...] = ()  # directories, FIFOs... where files were
    outside: tuple[Difference, ...] = ()  # the action: extra files beside the model
    checks: tuple[tuple[str, str], ...] = ()  # extra checks that passed: (what, how)
    origin: str = ""  # the run the manifest says it was made in, for people to read

    @property
    def passed(self) -> bool:
        """True when the files on disk are exactly the manifest."""
        return not any(items for _, items in self.groups())

    def groups(self) -> list[tuple[str, tuple[Difference, ...]]]:
        """The non-empty groups of differences, in reading order."""
        groups = [
            ("manifest", self.manifest),
            ("changed", self.changed),
            ("missing", self.missing),
            ("added", self.added),
            ("symlinks", self.symlinks),
            ("not regular files", self.not_regular),
            ("outside the model", self.outside),
        ]
        return [(title, items) for title, items in groups if items]

    def count(self) -> int:
        """How many differences there are in all."""
        return sum(len(items) for _, items in self.groups())


def verify_model(
    model: Path,
    manifest: Manifest,
    jobs: int,
    expected_digest: str | None = None,
    key: bytes | None = None,
) -> Verdict:
    """Compare the model on disk with `manifest`, reporting every difference."""
    digest = manifest.digest()
    head: list[Difference] = []
    checks: list[tuple[str, str]] = []
    if expected_digest is not None:
        if hmac.compare_digest(digest, expected_digest):
            checks.append(("expected digest", "matches"))
        else:
            head.append(
                Difference(
                    "digest",
                    f"{digest} is not the expected {expected_digest}: "
                    "the manifest was changed or replaced",
                )
            )
    if key is not None:
        problem = signature_problem(manifest, key)
        if problem:
            head.append(Difference("signature", problem))
        else:
            checks.append(("HMAC signature", "valid"))
    elif manifest.signature is not None:
        # Say so: a missing secret (a fork's pull request, a typo) must not pass unnoticed.
        checks.append(UNCHECKED_SIGNATURE)
    bad_entries = [Difference(path, problem) for path, problem in entry_problems(manifest)]
    verdict = Verdict(
        str(model),
        digest,
        len(manifest.files),
        manifest.total_bytes,
        manifest=tuple(head + bad_entries),
        checks=tuple(checks),
        origin=_origin(manifest),
    )
    if bad_entries:
        return verdict
    with ModelRoot(model) as root:
        tree = root.scan()
        if tree.kind != manifest.kind:
            return _kind_mismatch(verdict, tree, manifest)
        return _compare(verdict, tree, manifest, root, jobs)


def _kind_mismatch(verdict: Verdict, tree: Tree, manifest: Manifest) -> Verdict:
    if tree.symlinks:
        links = [_link(p, t) for p, t in tree.symlinks.items()]
        return dataclasses.replace(verdict, symlinks=_sorted(links))
    now = "a directory" if tree.kind == "directory" else "not a directory"
    was = "a directory" if manifest.kind == "directory" else "a single file"
    detail = f"the model is {now}, but the manifest describes {was}"
    return dataclasses.replace(verdict, not_regular=(Difference("(model)", detail),))


def _compare(
    verdict: Verdict, tree: Tree, manifest: Manifest, root: ModelRoot, jobs: int
) -> Verdict:
    expected = {entry.path: entry for entry in manifest.files}
    changed: list[Difference] = []
    missing: list[Difference] = []
    not_regular: list[Difference] = []
    same_size: dict[str, int] = {}
    for path, entry in expected.items():
        if path in tree.files:
            size = tree.files[path]
            if size == entry.size:
                same_size[path] = size
            else:
                how = "truncated" if size < entry.size else "extended"
                changed.append(Difference(path, f"{how}: {entry.size} -> {size} bytes"))
        elif path in tree.directories:
            not_regular.append(Difference(path, "is now a directory"))
        elif path in tree.others:
            not_regular.append(Difference(path, f"is now {tree.others[path]}"))
        elif path not in tree.symlinks:  # a symlink in its place is reported with the others
            missing.append(Difference(path))
    added = [Difference(p, f"{n} bytes") for p, n in tree.files.items() if p not in expected]
    not_regular += [
        Difference(p, f"{what}, not in the manifest")
        for p, what in tree.others.items()
        if p not in expected
    ]

    def compare(path: str, digest: FileDigest) -> None:  # from the hashing threads
        entry = expected[path]
        if digest.sha256 != entry.sha256 or digest.size != entry.size:
            changed.append(Difference(path, "content differs (same size)"))  # atomic

    each_digest(root, same_size, jobs, compare)  # compared as made: no digest is kept
    return dataclasses.replace(
        verdict,
        changed=_sorted(changed),
        missing=_sorted(missing),
        added=_sorted(added),
        symlinks=_sorted([_link(path, target) for path, target in tree.symlinks.items()]),
        not_regular=_sorted(not_regular),
    )


def _origin(manifest: Manifest) -> str:
    run = manifest.provenance
    if run is None:
        return ""
    return (
        f"{run.repository} at {run.commit[:12]}, {run.workflow_ref}, "
        f"run {run.run_id} attempt {run.run_attempt}"
    )


def _link(path: str, target: str) -> Difference:
    return Difference(path, f"symlink to {target!r} (never followed)")


def _sorted(items: list[Difference]) -> tuple[Difference, ...]:
    """Sorted by path: the same model gives the same report, line for line."""
    return tuple(sorted(items, key=lambda item: item.path))
