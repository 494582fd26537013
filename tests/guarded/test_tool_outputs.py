"""What the tools we run write for us (Trivy's JSON report, pip's --report) is read under guard.

A Trivy or pip that is not what it claims (a wrapper, a broken build, a binary someone
swapped) can write anything: a report nested 100,000 deep, one over the size limit, bytes
that are not UTF-8. Each is a one-line tool error (exit 3), never a traceback or a hang.
The programs here are real processes standing in for the tools: they write the given bytes
where the tool would write its report, and exit 0.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mlsecops.deps.pip_resolver import PipResolver
from mlsecops.errors import ToolError
from tests.support.scan_cli import one_line_error, scan_cli

DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_UTF8 = b'{"Results": "caf\xe9"}'
# Every argument after --output / --report is where the tool writes its report.
WRITER = """#!{python}
import shutil, sys
args = sys.argv[1:]
for flag in ("--output", "--report"):
    if flag in args:
        shutil.copyfile({source!r}, args[args.index(flag) + 1])
"""


def _tool(tmp_path: Path, content: bytes) -> Path:
    """An executable that writes `content` as its report, whatever it is asked."""
    source = tmp_path / "what-the-tool-writes.json"
    source.write_bytes(content)
    program = tmp_path / "tool"
    program.write_text(WRITER.format(python=sys.executable, source=str(source)))
    program.chmod(0o755)
    return program


CASES = {
    # what the tool writes, the size limit set ("": the default), what the error says
    "deep": (DEEP, "", "nested deeper than 64 levels"),
    "not-utf8": (BAD_UTF8, "", "is not UTF-8 text: byte 0xe9 at offset 16"),
    "too-big": (b'{"Results": []}' + b" " * 4096, "4096", "over the limit of 4,096"),
    "not-json": (b"Version: 0.76.0\n", "", "is not valid JSON"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_trivy_report_is_one_line_and_exit_3(case: str, tmp_path: Path, trivy_cache: Path):
    content, limit, expected = CASES[case]
    project = tmp_path / "project"
    project.mkdir()
    (project / ".env").write_text("LOG_LEVEL=debug\n")  # work for the secret scanner
    env = {"MLSECOPS_MAX_TRIVY_REPORT_BYTES": limit} if limit else {}
    proc = scan_cli(
        Path(sys.executable), trivy_cache, str(project), "--scanners", "secret",
        "--trivy", str(_tool(tmp_path, content)), env=env, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 3, proc.stderr
    line = one_line_error(proc)
    assert "Trivy JSON report" in line and expected in line, line
    assert "Traceback" not in proc.stderr and "internal error" not in line
    assert ("MLSECOPS_MAX_TRIVY_REPORT_BYTES" in line) == bool(limit)


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_pip_report_is_a_tool_error(
    case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    content, limit, expected = CASES[case]
    if limit:
        monkeypatch.setenv("MLSECOPS_MAX_PIP_REPORT_BYTES", limit)
    resolver = PipResolver(python=str(_tool(tmp_path, content)), timeout=60)
    with pytest.raises(ToolError) as raised:
        resolver.resolve(["requests==2.19.1"], [])
    line = raised.value.one_line()
    assert "pip --report output" in line and expected in line, line
    assert ("MLSECOPS_MAX_PIP_REPORT_BYTES" in line) == bool(limit)


def test_a_genuine_pip_report_still_reads(tmp_path: Path):
    report = b'{"install": [{"requested": true, "metadata": {"name": "a", "version": "1"}}]}'
    resolution = PipResolver(python=str(_tool(tmp_path, report))).resolve(["a"], [])
    assert [(p.name, p.version) for p in resolution.packages] == [("a", "1")]
