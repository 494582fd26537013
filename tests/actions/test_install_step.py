"""The action's install step: its outputs say whether this run downloaded Trivy."""

from __future__ import annotations

from mlsecops.cli.install_trivy import main
from tests.actions.composite import read_outputs
from tests.trivy.test_install import (
    HERE,
    VERSION,
    fake_trivy,
    on_path,
    release_archive,
    serve_release,
)


def install(tmp_path, base, output):
    args = ["--version", VERSION, "--dir", str(tmp_path / "tools"), "--base-url", base]
    return main([*args, "--github-output", str(output)], system="Linux", machine="x86_64")


def test_downloaded_is_true_only_for_the_run_that_downloaded(httpserver, tmp_path, monkeypatch):
    assert HERE.key.startswith("Linux")  # the release is served for this machine's name
    serve_release(httpserver, VERSION, release_archive(fake_trivy(VERSION)))
    base = httpserver.url_for("/").rstrip("/")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no trivy of this version on PATH
    first, second = tmp_path / "first", tmp_path / "second"
    assert install(tmp_path, base, first) == 0
    assert install(tmp_path, base, second) == 0  # the verified copy, as after a cache restore
    assert read_outputs(first)["downloaded"] == "true"
    assert read_outputs(second)["downloaded"] == "false"
    assert read_outputs(first)["trivy-path"] == read_outputs(second)["trivy-path"]
    monkeypatch.setenv("PATH", str(on_path(tmp_path, VERSION)))
    third = tmp_path / "third"
    assert install(tmp_path, base, third) == 0
    assert read_outputs(third) == {
        "trivy-path": str(tmp_path / "bin" / "trivy"),
        "downloaded": "false",
    }


def test_a_failed_install_leaves_its_reason_for_the_last_step(httpserver, tmp_path):
    httpserver.expect_request(f"/v{VERSION}/trivy_{VERSION}_checksums.txt").respond_with_data(
        "", status=404
    )
    output = tmp_path / "output"
    code = install(tmp_path, httpserver.url_for("/").rstrip("/"), output)
    assert code == 2
    outputs = read_outputs(output)
    assert outputs["exit-code"] == "2"
    assert outputs["error"].startswith(f"Trivy v{VERSION} not found")
