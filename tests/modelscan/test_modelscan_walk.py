"""The model walk: what it yields, in what order, with what real path, at one listing a
directory (no call per file but for symlinks)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from mlsecops.modelscan.scanner import scan_files
from mlsecops.modelscan.walk import walk

_listed: list[str] = []  # every directory os.scandir was called on (an audit hook)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "os.scandir":
        _listed.append(str(args[0]))


sys.addaudithook(_audit)


def _tree(root: Path, outside: Path) -> None:
    for name in ["b.pkl", "a.pkl", "sub/z.bin", "sub/deeper/y.bin", ".git/config", "c/x.bin"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"N.")
    outside.mkdir()
    (outside / "secret.pkl").write_bytes(b"N.")
    (root / "inside-link.pkl").symlink_to(root / "sub" / "z.bin")
    (root / "outside-link.pkl").symlink_to(outside / "secret.pkl")
    (root / "broken.pkl").symlink_to(root / "nowhere")
    (root / "dir-link").symlink_to(root / "sub")
    (root / "dir-out").symlink_to(outside)


def test_every_file_in_order_with_its_real_path(tmp_path: Path) -> None:
    root, outside = tmp_path / "model", tmp_path / "outside"
    _tree(root, outside)
    got = [(str(p.relative_to(root)), problem, real) for p, problem, real in walk(root)]
    assert [(name, bool(problem)) for name, problem, _ in got] == [
        ("a.pkl", False),
        ("b.pkl", False),
        ("broken.pkl", True),
        ("inside-link.pkl", False),
        ("outside-link.pkl", True),
        ("dir-out", True),  # a link to a directory outside: named, never entered
        ("c/x.bin", False),
        ("sub/z.bin", False),
        ("sub/deeper/y.bin", False),
    ]
    for name, _, real in got:
        assert real == os.path.realpath(root / name), name


def test_one_listing_per_directory_and_links_read_once(tmp_path: Path) -> None:
    root, outside = tmp_path / "model", tmp_path / "outside"
    _tree(root, outside)
    _listed.clear()
    results = scan_files([root])
    listed = sorted(Path(path).name for path in _listed)
    assert listed == ["c", "deeper", "model", "sub"]  # never .git, never through a link
    shown = [result.target for result in results]
    assert len(shown) == len(set(shown)) == 8  # z.bin once, though a link names it too
