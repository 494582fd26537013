"""The coreutils checksum file, for people who want `sha256sum -c`.

It has the weaknesses the manifest exists to fix (it does not notice an added file, and it
carries no digest of itself), so it is an extra, never what `verify` relies on.
"""

from __future__ import annotations

from mlsecops.integrity.manifest import Manifest


def sha256sum_text(manifest: Manifest) -> str:
    """`<hex>  <path>` lines, in manifest order; check with `sha256sum -c` from the model root.

    Names never need coreutils' backslash escaping: `hash` refuses backslashes and control
    characters in names (see relpath.path_problem).
    """
    return "".join(f"{entry.sha256}  {entry.path}\n" for entry in manifest.files)
