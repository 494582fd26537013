"""SARIF that code scanning accepts from any checkout (issue 12), end to end.

The real CLI (real Trivy, the test DB) scans the example projects, a repository whose file
names hold spaces, `#`, `%`, `:` and non-ASCII letters (with models in and out of it), one
with secrets and misconfigurations (rules of ours and of Trivy), and
two image tarballs, one with a package installed twice. Each scan runs twice: from inside,
with relative paths, and from another directory with absolute ones. The Microsoft SARIF
Multitool (`validate --rule-kind "Gh;Sarif"`, from npm, pinned) must report no error and no
warning on any of the files, and both runs must give the same bytes but for the absolute
root in `originalUriBaseIds`.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest

from mlsecops.core.findings import Severity
from mlsecops.core.rules import RULES
from tests.secretscan.test_no_secret_in_output import BEGIN, END
from tests.secretscan.test_secret_scan import KSERVE_PRIVILEGED
from tests.support.fake_secrets import fake_secrets
from tests.support.images import build_docker_archive, build_oci_tarball, python_metadata
from tests.support.multitool import Problem, install_multitool, validate
from tests.support.scan_cli import REPO, scan_cli

# A pickle that would call os.system('true') if loaded (it never is: it is only scanned).
PAYLOAD = b"cos\nsystem\n(S'true'\ntR."
LIBC = [("libc6", "glibc", "2.36-9+deb12u1")]
SYSTEM_SITE = "usr/lib/python3/dist-packages"


@dataclass(frozen=True)
class Case:
    """One scan, as run from inside (relative paths) and from elsewhere (absolute ones)."""

    name: str
    inside: tuple[Path, list[str]]  # cwd, arguments
    elsewhere: tuple[Path, list[str]]


@dataclass(frozen=True)
class Scanned:
    """Both runs' SARIF files."""

    case: Case
    files: tuple[Path, Path]

    def documents(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """Both files, parsed."""
        first, second = (json.loads(f.read_text(encoding="utf-8")) for f in self.files)
        return first, second


def _weird_repository(repo: Path) -> None:
    """A git checkout whose names hold every character a URI must encode."""
    (repo / ".git").mkdir(parents=True)
    (repo / "my project#1").mkdir()
    (repo / "my project#1" / "requirements.txt").write_text("requests==2.19.1\nnumpy\n")
    (repo / "données 100%").mkdir()
    (repo / "données 100%" / "requirements-ünï.txt").write_text("PyYAML==5.3.1\n")
    models = repo / "models"
    models.mkdir()
    for name in ("model_100%.pkl", "v1:final.pkl", "modèle #2.pkl"):
        (models / name).write_bytes(PAYLOAD)
    # Not ONNX at all: an informational finding (UNKNOWN), like MLS-UNPINNED.
    (models / "broken [1].onnx").write_bytes(b"not an onnx model \x08\x01")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("archive/data.pkl", PAYLOAD)
        zipped.writestr("archive/a:b #1.pkl", PAYLOAD)
    (models / "torch model:v2.pt").write_bytes(archive.getvalue())


def _images(directory: Path) -> tuple[Path, Path]:
    """A docker-archive with requests in two site-packages directories, and an OCI tarball
    (which the scan unpacks into a temporary directory for Trivy)."""
    directory.mkdir()
    second_copy = f"{SYSTEM_SITE}/requests-2.19.1.dist-info/METADATA"
    archive = build_docker_archive(
        directory / "app image.tar",
        dpkg=LIBC,
        python_packages=[("requests", "2.19.1")],
        extra_files={second_copy: python_metadata("requests", "2.19.1").encode()},
    )
    oci = build_oci_tarball(directory / "app-oci.tar", dpkg=LIBC, python_packages=[])
    return archive, oci


def _deploy_repository(repo: Path) -> None:
    """A checkout with a fake token of every secret rule, a root Dockerfile, a privileged
    KServe service and a private key: secret and misconfiguration rules of every source."""
    (repo / ".git").mkdir(parents=True)
    (repo / "config #1").mkdir()
    (repo / "config #1" / ".env").write_text("\n".join(f.line for f in fake_secrets("sarif")))
    (repo / "Dockerfile").write_text('FROM python:3.11-slim\nCMD ["python", "serve.py"]\n')
    (repo / "deploy").mkdir()
    (repo / "deploy" / "isvc [prod].yaml").write_text(KSERVE_PRIVILEGED)
    body = "\n".join("A" * 64 for _ in range(4))
    (repo / "id_rsa").write_text(f"{BEGIN}\n{body}\n{END}\n")


def _cases(base: Path) -> list[Case]:
    repo = base / "ws" / "weird repo"
    _weird_repository(repo)
    deploy = base / "ws" / "deploy repo"
    _deploy_repository(deploy)
    outside = base / "runner-temp" / "verified model"
    outside.mkdir(parents=True)
    (outside / "model.pkl").write_bytes(PAYLOAD)
    archive, oci = _images(base / "images")
    examples = [
        Case(
            f"example-{name}",
            (REPO, [f"examples/{name}"]),
            (base, [str(REPO / "examples" / name)]),
        )
        for name in ("vulnerable-ml-project", "clean-ml-project", "conda-ml-project")
    ]
    return [
        *examples,
        Case(
            "names-and-models",
            (repo, [".", "--model", "models", "--model", "../../runner-temp/verified model"]),
            (base, [str(repo), "--model", str(repo / "models"), "--model", str(outside)]),
        ),
        Case("secrets-and-misconfig", (deploy, ["."]), (base, [str(deploy)])),
        Case(
            "images",
            (repo, [".", "--image", "../../images/app image.tar",
                    "--image", "../../images/app-oci.tar"]),
            (base, [str(repo), "--image", str(archive), "--image", str(oci)]),
        ),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def scans(
    tmp_path_factory: pytest.TempPathFactory, trivy_bin: Path, trivy_cache: Path
) -> dict[str, Scanned]:
    base = tmp_path_factory.mktemp("issue12")
    out = base / "sarif"
    out.mkdir()
    scanned = {}
    for case in _cases(base):
        files = []
        for run, (cwd, args) in (("inside", case.inside), ("elsewhere", case.elsewhere)):
            sarif = out / f"{case.name}.{run}.sarif"
            proc = scan_cli(
                trivy_bin, trivy_cache, *args, "--fail-on", "NONE", "--sarif", str(sarif),
                cwd=cwd, env={"GITHUB_WORKSPACE": ""},
            )  # fmt: skip
            assert proc.returncode == 0, f"{case.name} ({run}): {proc.stderr}"
            files.append(sarif)
        scanned[case.name] = Scanned(case, (files[0], files[1]))
    return scanned


@pytest.fixture(scope="session")
def multitool() -> Path:
    return install_multitool()


@pytest.fixture(scope="module")
def validation(
    scans: dict[str, Scanned], multitool: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[Path, list[Problem]]:
    """The Multitool's problems with every SARIF file of every scan, by file."""
    files = [f for scanned in scans.values() for f in scanned.files]
    return validate(multitool, files, tmp_path_factory.mktemp("multitool"))


CASES = [
    "example-vulnerable-ml-project",
    "example-clean-ml-project",
    "example-conda-ml-project",
    "names-and-models",
    "secrets-and-misconfig",
    "images",
]


@pytest.mark.parametrize("name", CASES)
def test_the_multitool_reports_no_error_and_no_warning(
    name: str, scans: dict[str, Scanned], validation: dict[Path, list[Problem]]
) -> None:
    for sarif in scans[name].files:
        serious = [p for p in validation[sarif.resolve()] if p.level in ("error", "warning")]
        assert serious == [], "\n".join(map(str, serious))


@pytest.mark.parametrize("name", CASES)
def test_results_are_the_same_bytes_from_any_working_directory(
    name: str, scans: dict[str, Scanned]
) -> None:
    inside, elsewhere = scans[name].documents()
    for document in (inside, elsewhere):
        assert document["runs"][0]["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file:///")
        del document["runs"][0]["originalUriBaseIds"]
    assert json.dumps(inside, ensure_ascii=False) == json.dumps(elsewhere, ensure_ascii=False)


def _run(scans: dict[str, Scanned], name: str) -> dict[str, Any]:
    run: dict[str, Any] = scans[name].documents()[0]["runs"][0]
    return run


def _located(run: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(uriBaseId, decoded path, result) for each result."""
    found = []
    for result in run["results"]:
        artifact = result["locations"][0]["physicalLocation"]["artifactLocation"]
        found.append((artifact["uriBaseId"], unquote(artifact["uri"]), result))
    return found


def test_no_absolute_or_temporary_path_outside_original_uri_base_ids(
    scans: dict[str, Scanned],
) -> None:
    for name in CASES:
        for document in scans[name].documents():
            del document["runs"][0]["originalUriBaseIds"]
            text = json.dumps(document, ensure_ascii=False)
            assert str(REPO) not in text and "/tmp" not in text, name
            assert "file://" not in text, name


def test_every_file_location_names_a_real_file_under_its_base(scans: dict[str, Scanned]) -> None:
    for name in CASES:
        run = _run(scans, name)
        bases = {
            k: Path(unquote(urlparse(v["uri"]).path)) for k, v in run["originalUriBaseIds"].items()
        }
        for base_id, path, _ in _located(run):
            if not path.startswith("container-images/"):
                assert (bases[base_id] / path).is_file(), (name, base_id, path)


def test_odd_names_and_archive_members_survive_whole(scans: dict[str, Scanned]) -> None:
    run = _run(scans, "names-and-models")
    places = Counter((base, path) for base, path, _ in _located(run))
    assert places[("%SRCROOT%", "my project#1/requirements.txt")] == 3  # 2 CVEs + unpinned
    assert places[("%SRCROOT%", "données 100%/requirements-ünï.txt")] == 1
    for model in ("model_100%.pkl", "v1:final.pkl", "modèle #2.pkl", "broken [1].onnx"):
        assert places[("%SRCROOT%", f"models/{model}")] == 1
    # The model outside the repository is relative to the model root given.
    assert places[("MODELROOT1", "model.pkl")] == 1
    members = sorted(
        tuple(r["locations"][0]["properties"]["archiveMember"])
        for _, path, r in _located(run)
        if path == "models/torch model:v2.pt"
    )
    assert members == [("archive/a:b #1.pkl",), ("archive/data.pkl",)]


def test_informational_findings_are_notes_and_every_rule_has_help_and_a_name(
    scans: dict[str, Scanned],
) -> None:
    informational = {r.id for r in RULES if r.severity is Severity.UNKNOWN}
    seen = set()
    for name in CASES:
        run = _run(scans, name)
        rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
        for rule_id in informational & set(rules):
            seen.add(rule_id)
            assert "security-severity" not in rules[rule_id]["properties"], rule_id
            assert "security" not in rules[rule_id]["properties"]["tags"], rule_id
            levels = {r["level"] for r in run["results"] if r["ruleId"] == rule_id}
            assert levels == {"note"}, rule_id
        for rule in rules.values():
            assert rule["helpUri"].startswith("https://"), rule["id"]
            assert re.fullmatch(r"[A-Z][A-Za-z0-9]*", rule["name"]), rule["name"]
    assert {"MLS-UNPINNED", "MLS-ONNX-MALFORMED"} <= seen


def test_a_package_installed_twice_is_two_alerts_and_no_temp_path_shows(
    scans: dict[str, Scanned],
) -> None:
    run = _run(scans, "images")
    text = json.dumps(run["results"], ensure_ascii=False)
    assert "mlsecops-oci-" not in text and "/tmp" not in text
    requests = [
        r for _, path, r in _located(run)
        if path == "container-images/app_image.tar" and r["ruleId"] == "CVE-2018-18074"
    ]  # fmt: skip
    assert len(requests) == 2
    assert len({r["partialFingerprints"]["mlsecopsFinding/v1"] for r in requests}) == 2
    oci_os = [
        r["message"]["text"] for _, path, r in _located(run)
        if path == "container-images/app-oci.tar" and r["ruleId"] == "CVE-2023-4911"
    ]  # fmt: skip
    assert oci_os and all("Found at debian 12." in m for m in oci_os)
    every = [r["partialFingerprints"]["mlsecopsFinding/v1"] for r in run["results"]]
    assert len(every) == len(set(every))


def test_the_workspace_is_the_root_in_actions(
    tmp_path: Path, trivy_bin: Path, trivy_cache: Path
) -> None:
    workspace = tmp_path / "workspace"
    project = workspace / "checkout" / "app"
    project.mkdir(parents=True)
    (workspace / "checkout" / ".git").mkdir()
    (project / "requirements.txt").write_text("requests==2.19.1\n")
    sarif = tmp_path / "out.sarif"
    proc = scan_cli(
        trivy_bin, trivy_cache, str(project), "--fail-on", "NONE", "--sarif", str(sarif),
        cwd=tmp_path, env={"GITHUB_WORKSPACE": str(workspace)},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    run = json.loads(sarif.read_text(encoding="utf-8"))["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == workspace.as_uri() + "/"
    assert {path for _, path, _ in _located(run)} == {"checkout/app/requirements.txt"}


def test_the_multitool_catches_what_the_issue_reported(
    multitool: Path, tmp_path: Path, scans: dict[str, Scanned]
) -> None:
    # The check is live: the URIs of the old output (raw, absolute) are errors to it.
    document = json.loads(scans["names-and-models"].files[0].read_text(encoding="utf-8"))
    broken: list[Callable[[dict[str, Any]], None]] = [
        lambda a: a.update(uri=unquote(a["uri"])),  # 'my project#1/...' unencoded
        lambda a: (a.pop("uriBaseId"), a.update(uri="/abs/" + a["uri"])),
    ]
    expected = {}
    for breaking, rule_id in zip(broken, ("SARIF1002", "SARIF1004"), strict=True):
        copy = json.loads(json.dumps(document))
        for result in copy["runs"][0]["results"]:
            breaking(result["locations"][0]["physicalLocation"]["artifactLocation"])
        bad = tmp_path / f"{rule_id}.sarif"
        bad.write_text(json.dumps(copy, ensure_ascii=False), encoding="utf-8")
        expected[bad.resolve()] = rule_id
    found = validate(multitool, list(expected), tmp_path)
    for bad, rule_id in expected.items():
        assert rule_id in {p.rule_id for p in found[bad] if p.level == "error"}, found[bad]


def test_secret_and_misconfiguration_rules_of_every_source_are_described(
    scans: dict[str, Scanned],
) -> None:
    run = _run(scans, "secrets-and-misconfig")
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    kinds = {r["properties"]["kind"] for r in run["results"]}
    assert kinds == {"secret", "misconfiguration"}
    # Ours (secret and KServe rules), Trivy's built-in secret rule and its Dockerfile check.
    assert {"MLS-SECRET-HUGGINGFACE", "MLS-KSERVE-PRIVILEGED", "private-key", "DS-0002"} <= set(
        rules
    )
    for rule in rules.values():
        assert rule["helpUri"].startswith("https://"), rule["id"]
        assert rule["shortDescription"]["text"] and rule["help"]["text"], rule["id"]
