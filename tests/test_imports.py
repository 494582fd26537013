"""What each command imports: startup is paid on every run, so each pays only for its own work.

Each check runs in a fresh interpreter (this process has imported everything already).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _modules_after(code: str) -> set[str]:
    """The modules a fresh Python has imported after running `code` (the repo on its path).

    Run unmeasured, without coverage's variables: a measured process imports coverage (and
    json, dataclasses, ...) itself, which would hide what the command imports.
    """
    environ = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_PROCESS_")}
    done = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys\nprint('\\n'.join(sorted(sys.modules)))"],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        check=True,
    )
    return set(done.stdout.split())


def test_version_imports_nothing_of_the_package_but_its_version() -> None:
    modules = _modules_after(
        "import contextlib, io\n"
        "from mlsecops.cli.main import main\n"
        "out = io.StringIO()\n"
        "with contextlib.redirect_stdout(out):\n"
        "    assert main(['--version']) == 0\n"
        "assert out.getvalue().startswith('mlsecops '), out.getvalue()\n"
    )
    ours = {name for name in modules if name.startswith("mlsecops")}
    assert ours == {"mlsecops", "mlsecops.cli", "mlsecops.cli.main"}
    assert "dataclasses" not in modules and "json" not in modules


def test_hash_and_verify_import_no_scan_stack_and_no_jsonschema(tmp_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights")
    manifest = tmp_path / "m.json"
    modules = _modules_after(
        "import contextlib, io\n"
        "from mlsecops.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    assert main(['hash', {str(model)!r}, '--manifest', {str(manifest)!r}]) == 0\n"
        f"    assert main(['verify', {str(model)!r}, '--manifest', {str(manifest)!r}]) == 0\n"
    )
    assert "jsonschema" not in modules  # the manifest passed the fast check
    for heavy in ("mlsecops.scan", "mlsecops.trivy", "mlsecops.modelscan", "yaml", "requests"):
        assert not any(name == heavy or name.startswith(heavy + ".") for name in modules), heavy


def test_a_valid_report_is_written_without_jsonschema(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    modules = _modules_after(
        "from pathlib import Path\n"
        "from mlsecops.reports.json_report import write_json_report\n"
        "from tests.reports.outcomes import typical\n"
        f"write_json_report(typical(), Path({str(report)!r}))\n"
    )
    assert report.stat().st_size > 0
    assert "jsonschema" not in modules  # the schema check runs in the tests, not every run
