"""Every package a dependency file lists is checked or named in the ledger, with the real Trivy.

Issue 14 item 1: Trivy 0.76 cannot follow a poetry path package's `^`/`~` constraints, so it
marks the production subtree behind it (ray, tqdm here) as development dependencies; left
unmarked, --skip-dev-deps dropped them in silence. Every package in these files is in the
test DB, so "checked" shows as a finding and the test can demand one per package listed.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

from mlsecops.deps.listing import normalise
from mlsecops.deps.poetry_dev import main_names
from tests.support.scan_cli import load_report, scan_cli

POETRY_DEPENDENCIES = """\
[tool.poetry.dependencies]
python = "^3.10"
requests = "^2.19"
core = {path = "../core", develop = true}

[tool.poetry.group.dev.dependencies]
pyyaml = "^5.3"
"""
# Poetry 2: PEP 621 dependencies, and the lock says each package's groups.
POETRY2_PROJECT = """\
[project]
name = "svc"
version = "0.1.0"
dependencies = ["requests (>=2.19,<3)"]

[tool.poetry.dependencies]
core = {path = "../core", develop = true}

[tool.poetry.group.dev.dependencies]
pyyaml = "^5.3"
"""
# (name, version, groups, dependencies as poetry writes them, local path)
POETRY_PACKAGES = [
    ("core", "0.1.0", "main", {"ray": "^2.9.0", "tqdm": "~4.66"}, "../core"),
    ("pyyaml", "5.3.1", "dev", {}, ""),
    ("ray", "2.9.0", "main", {"requests": "*"}, ""),
    ("requests", "2.19.1", "main", {}, ""),
    ("tqdm", "4.66.1", "main", {}, ""),
]

UV_LOCK = """\
version = 1
requires-python = ">=3.11"

[[package]]
name = "svc"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "core" }, { name = "requests" }]

[package.dev-dependencies]
dev = [{ name = "pyyaml" }]

[[package]]
name = "core"
version = "0.1.0"
source = { editable = "core" }
dependencies = [{ name = "ray" }]

[[package]]
name = "ray"
version = "2.9.0"
source = { registry = "https://pypi.org/simple" }
dependencies = [{ name = "tqdm" }]
"""
UV_PLAIN = ("tqdm", "4.66.1"), ("requests", "2.19.1"), ("pyyaml", "5.3.1")

PIPFILE_LOCK = {
    "_meta": {"hash": {"sha256": "0"}, "pipfile-spec": 6, "requires": {}, "sources": []},
    "default": {
        "requests": {"version": "==2.19.1"},
        "core": {"editable": True, "path": "./core"},
    },
    "develop": {"jinja2": {"version": "==3.1.2"}},
}
REQUIREMENTS = "pillow==10.1.0\ntorch==2.5.1\n-e ./core\n"

LOCAL = {"core", "svc"}  # local packages: named in the ledger, never looked up
DEV = {"pyyaml", "jinja2"}


def poetry_lock(with_groups: bool) -> str:
    text = ""
    for name, version, group, deps, path in POETRY_PACKAGES:
        text += f'\n[[package]]\nname = "{name}"\nversion = "{version}"\noptional = false\n'
        text += f'groups = ["{group}"]\n' if with_groups else ""
        text += 'python-versions = ">=3.8"\nfiles = []\n'
        if deps:
            text += "\n[package.dependencies]\n"
            text += "".join(f'{key} = "{spec}"\n' for key, spec in deps.items())
        if path:
            text += f'\n[package.source]\ntype = "directory"\nurl = "{path}"\n'
    lock_version = "2.1" if with_groups else "2.0"
    return text + f'\n[metadata]\nlock-version = "{lock_version}"\ncontent-hash = "0"\n'


def uv_lock() -> str:
    plain = "".join(
        f'\n[[package]]\nname = "{n}"\nversion = "{v}"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        for n, v in UV_PLAIN
    )
    return UV_LOCK + plain


@pytest.fixture
def monorepo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    files = {
        "poetry-svc/pyproject.toml": POETRY_DEPENDENCIES,
        "poetry-svc/poetry.lock": poetry_lock(with_groups=False),
        "poetry2-svc/pyproject.toml": POETRY2_PROJECT,
        "poetry2-svc/poetry.lock": poetry_lock(with_groups=True),
        "uv-svc/uv.lock": uv_lock(),
        "pipenv-svc/Pipfile.lock": json.dumps(PIPFILE_LOCK, indent=4),
        "requirements.txt": REQUIREMENTS,
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def listed_names(path: Path) -> set[str]:
    """What the file lists, read the long way (a full parse), independently of mlsecops."""
    if path.name == "Pipfile.lock":
        data = json.loads(path.read_text())
        return {normalise(n) for section in ("default", "develop") for n in data[section]}
    if path.name.endswith(".lock"):
        return {normalise(p["name"]) for p in tomllib.loads(path.read_text())["package"]}
    return {"pillow", "torch", normalise("-e ./core")}


def test_every_package_every_lock_lists_is_checked_or_named(trivy_bin, trivy_cache, monorepo):
    out = monorepo.parent / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(monorepo), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    files = sorted(p for p in monorepo.rglob("*") if p.name.endswith((".lock", ".txt")))
    assert len(files) == 5
    for path in files:
        target = str(path)
        found = {normalise(f["package"]) for f in data["findings"] if f["target"] == target}
        ledger = {
            i["name"]: i["reason"] for i in data["coverage"]["not_checked"] if i["target"] == target
        }
        # Every package is in the DB: checked means a finding; else the ledger says why.
        assert found | {normalise(n) for n in ledger} == listed_names(path), target
        assert set(ledger.values()) == {"not-a-package"}, target
        assert found.isdisjoint(LOCAL), target
        [read] = [f for f in data["coverage"]["files"] if f["path"] == target]
        assert read["packages"] == len(listed_names(path)), target
    # ray and tqdm come in through the path package: production, not development.
    dev = {f["package"] for f in data["findings"] if f["properties"].get("dev") == "true"}
    assert dev == DEV


def test_skip_dev_deps_leaves_out_development_groups_only(trivy_bin, trivy_cache, monorepo):
    out = monorepo.parent / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(monorepo), "--skip-dev-deps", "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    data = load_report(out)
    behind_path = {
        (Path(f["target"]).parent.name, f["package"])
        for f in data["findings"]
        if f["package"] in ("ray", "tqdm")
    }
    assert behind_path == {
        (svc, name) for svc in ("poetry-svc", "poetry2-svc", "uv-svc") for name in ("ray", "tqdm")
    }
    excluded = {
        (Path(i["target"]).parent.name, i["name"])
        for i in data["coverage"]["not_checked"]
        if i["reason"] == "excluded"
    }
    assert excluded == {
        ("poetry-svc", "pyyaml"),
        ("poetry2-svc", "pyyaml"),
        ("uv-svc", "pyyaml"),
        ("pipenv-svc", "jinja2"),
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (POETRY_DEPENDENCIES, {"requests", "core"}),
        (POETRY2_PROJECT, {"requests", "core"}),
        ('[project]\nname = "x"\n[project.optional-dependencies]\ngpu = ["Torch>=2"]\n', {"torch"}),
        ("[tool.poetry.dependencies]\npython = '^3.10'\n", None),  # no main group named
        ("not = [toml", None),  # Trivy says what is wrong with it; here: no judgement
    ],
)
def test_the_main_group_is_read_from_pyproject(tmp_path, text, expected):
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(text)
    assert main_names(pyproject) == expected
    assert main_names(tmp_path / "missing.toml") is None


TWO_VERSIONS = {
    "poetry.lock": (
        '[[package]]\nname = "requests"\nversion = "2.19.1"\noptional = false\n'
        'python-versions = ">=3.7"\nfiles = []\n\n'
        '[[package]]\nname = "requests"\nversion = "2.25.1"\noptional = false\n'
        'python-versions = ">=3.7"\nfiles = []\n\n[metadata]\nlock-version = "2.0"\n'
    ),
    "uv.lock": (
        'version = 1\nrequires-python = ">=3.11"\n\n'
        '[[package]]\nname = "requests"\nversion = "2.19.1"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        "resolution-markers = [\"python_full_version < '3.12'\"]\n\n"
        '[[package]]\nname = "requests"\nversion = "2.25.1"\n'
        'source = { registry = "https://pypi.org/simple" }\n'
        "resolution-markers = [\"python_full_version >= '3.12'\"]\n"
    ),
}


@pytest.mark.parametrize("lock", sorted(TWO_VERSIONS))
def test_two_versions_of_one_package_each_on_its_own_line(trivy_bin, trivy_cache, tmp_path, lock):
    # Issue 14 item 6: both findings pointed at the first `requests`.
    project = tmp_path / "p"
    project.mkdir()
    (project / lock).write_text(TWO_VERSIONS[lock])
    lines = TWO_VERSIONS[lock].splitlines()
    version_line = {
        lines[n + 1].split('"')[1]: n + 1 for n, text in enumerate(lines) if "requests" in text
    }
    out = tmp_path / "r.json"
    proc = scan_cli(trivy_bin, trivy_cache, str(project), "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    placed = {(f["id"], f["installed_version"], f["line"]) for f in load_report(out)["findings"]}
    assert placed == {
        ("CVE-2018-18074", "2.19.1", version_line["2.19.1"]),
        ("CVE-2023-32681", "2.19.1", version_line["2.19.1"]),
        ("CVE-2023-32681", "2.25.1", version_line["2.25.1"]),
    }
