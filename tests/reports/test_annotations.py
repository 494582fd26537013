"""Workflow-command annotations."""

from __future__ import annotations

from mlsecops.core.findings import Severity
from mlsecops.github.commands import command, escape_data, escape_property
from mlsecops.reports.annotations import plan_annotations
from tests.reports.outcomes import outcome, typical, vuln


def test_escaping_follows_the_runner_rules():
    assert escape_data("50% done\r\nnext") == "50%25 done%0D%0Anext"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    line = command("error", "bad\n::set-output name=x::1", file="req,s.txt", line=3)
    # The message is one line with its controls shown (core/text), then runner-escaped.
    assert line == "::error file=req%2Cs.txt,line=3::bad\\n:\\:set-output name=x:\\:1"
    assert "\n" not in line
    # `file` keeps its exact value, or the annotation would not land on the file.
    assert command("warning", "m", file="a\nb.txt").startswith("::warning file=a%0Ab.txt::")
    assert "title=x\\n%3A\\%3Ay::" in command("warning", "m", title="x\n::y")


def test_errors_on_the_manifest_line_for_gate_failures_warnings_for_the_rest():
    plan = plan_annotations(typical())
    errors = [line for line in plan.lines if line.startswith("::error")]
    warnings = [line for line in plan.lines if line.startswith("::warning")]
    assert len(errors) == 4 and len(warnings) == 2
    assert errors[0].startswith("::error file=requirements.txt,line=3,endLine=3,title=CRITICAL")
    image = next(line for line in errors if "CVE-2023-4911" in line)
    assert "file=" not in image and "in image registry.example/ml%3A1.0" in image
    assert plan.omitted == 0


def test_caps_at_ten_per_level_most_severe_first():
    findings = [vuln(f"CVE-H-{i:02d}", Severity.HIGH, f"p{i}", "1", "2") for i in range(15)]
    findings += [vuln("CVE-C-00", Severity.CRITICAL, "worst", "1", "2")]
    findings += [vuln(f"CVE-M-{i:02d}", Severity.MEDIUM, f"m{i}", "1", "2") for i in range(12)]
    plan = plan_annotations(outcome(*findings))
    errors = [line for line in plan.lines if line.startswith("::error")]
    assert len(errors) == 10
    assert "CVE-C-00" in errors[0]
    assert len(plan.lines) == 20
    assert plan.omitted == 6 + 2
