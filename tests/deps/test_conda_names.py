"""conda -> PyPI names: conda-forge's mapping (generated from conda-pypi) plus the curated table."""

from __future__ import annotations

import json
from importlib import metadata, resources

from mlsecops.deps.conda_names import GENERATED_RESOURCE, pypi_name, table_from_grayskull
from scripts.update_conda_mapping import check_upstream, generated, pinned_version


def test_the_generated_table_is_current_with_the_pinned_conda_pypi():
    # requirements-dev.txt pins conda-pypi; the shipped table must be exactly what
    # scripts/update_conda_mapping.py makes from that release (no hand edits, no drift).
    shipped = resources.files("mlsecops").joinpath("data", GENERATED_RESOURCE).read_text("utf-8")
    assert shipped == generated(), "run scripts/update_conda_mapping.py"
    source = json.loads(shipped)["source"]
    assert source.startswith(f"conda-pypi {metadata.version('conda-pypi')}, ")
    assert len(json.loads(shipped)["same-name"]) > 10_000


def test_conda_forge_packages_that_are_pypi_projects_are_covered():
    # Issue 14: these were "not covered"; a pinned pip=20.3.1 lost pip's CVEs.
    for name in ("ftfy", "ipywidgets", "pip", "pyglet", "setuptools", "jupyterlab"):
        assert pypi_name(name) == name
    assert pypi_name("pytorch") == "torch"
    assert pypi_name("msgpack-python") == "msgpack"
    assert pypi_name("huggingface_hub") == "huggingface-hub"
    # The curated table fills conda-forge's gaps (feedstocks built from GitHub tarballs).
    assert pypi_name("PyYAML") == "pyyaml"
    assert pypi_name("scikit-learn") == "scikit-learn"
    # Native libraries are no PyPI project: their versions are not PyPI's.
    for native in ("python", "cudatoolkit", "openssl", "libgcc", "mkl", "zlib"):
        assert pypi_name(native) is None


def test_a_conda_name_two_projects_claim_takes_its_own_then_the_first():
    mapping = {
        "opencv-python-headless": {"conda_name": "opencv", "pypi_name": "opencv-python-headless"},
        "opencv-python": {"conda_name": "opencv", "pypi_name": "opencv-python"},
        "cyipopt": {"conda_name": "cyipopt", "pypi_name": "cyipopt"},
        "ipopt": {"conda_name": "cyipopt", "pypi_name": "ipopt"},
        "0164e082b29777fbc56c2373b68da93d23a29a040787e7f1c65e1562f133": {
            "conda_name": "django-jsoneditor",
            "pypi_name": "0164e082b29777fbc56c2373b68da93d23a29a040787e7f1c65e1562f133",
        },
    }
    table = table_from_grayskull(mapping, "test")
    assert table == {
        "source": "test",
        "same-name": ["cyipopt"],
        "renamed": {"opencv": "opencv-python"},
    }


def simple_page(*versions: str) -> str:
    links = "".join(
        f'<a href="/f/conda_pypi-{v}-py3-none-any.whl">conda_pypi-{v}-py3-none-any.whl</a>'
        f'<a href="/f/conda_pypi-{v}.tar.gz">conda_pypi-{v}.tar.gz</a>'
        for v in versions
    )
    return f"<html><body>{links}</body></html>"


def test_the_pin_is_checked_against_the_newest_release(httpserver, capsys):
    # The weekly workflow's check (scripts/update_conda_mapping.py --check-upstream), here
    # against a simple index on 127.0.0.1: a newer conda-pypi means the table is stale.
    pinned = pinned_version()
    assert pinned == metadata.version("conda-pypi")  # the venv holds what the table came from
    page = httpserver.expect_request("/simple/conda-pypi/")
    page.respond_with_data(simple_page("0.1.0", pinned, "0.9.0"), content_type="text/html")
    assert check_upstream(httpserver.url_for("/simple/")) == 0
    httpserver.clear()
    newer = ".".join([*pinned.split(".")[:-1], str(int(pinned.split(".")[-1]) + 1)])
    page = httpserver.expect_request("/simple/conda-pypi/")
    page.respond_with_data(simple_page(pinned, newer), content_type="text/html")
    assert check_upstream(httpserver.url_for("/simple/")) == 1
    assert f"conda-pypi {newer} is out (pinned: {pinned})" in capsys.readouterr().out
