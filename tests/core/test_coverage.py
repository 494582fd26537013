"""The coverage ledger adds up, and says so when it does not."""

from __future__ import annotations

from mlsecops.core.coverage import Coverage, FileRead, NotChecked, Unchecked
from mlsecops.core.findings import Finding, Kind, Severity
from mlsecops.core.source import SourceResult, combined
from mlsecops.reports.coverage_lines import coverage_lines

REQS = FileRead("requirements.txt", "requirements", packages=3, checked=1)
UNPINNED = NotChecked(Unchecked.UNPINNED, "requirements.txt", "numpy", line=2)
URL = NotChecked(Unchecked.NOT_A_PACKAGE, "requirements.txt", "https://x/y.whl", line=3)


def test_a_sound_ledger_has_no_discrepancies_and_counts_by_reason():
    ledger = Coverage((REQS,), (UNPINNED, URL))
    assert ledger.discrepancies() == []
    assert (ledger.packages_listed, ledger.packages_checked) == (3, 1)
    assert ledger.by_reason() == {Unchecked.UNPINNED: 1, Unchecked.NOT_A_PACKAGE: 1}


def test_an_item_that_vanished_is_a_discrepancy():
    assert Coverage((REQS,), (UNPINNED,)).discrepancies() == [
        "requirements.txt: 3 listed, 1 checked, 1 not checked"
    ]


def test_an_unchecked_item_of_a_file_never_read_is_a_discrepancy():
    stray = NotChecked(Unchecked.UNREADABLE, "model.bin", "model.bin")
    assert Coverage((), (stray,)).discrepancies() == [
        "model.bin: not checked, but not among the files read"
    ]


def test_results_add_up_across_sources_and_keep_each_note_once():
    finding = Finding("CVE-1", Kind.VULNERABILITY, Severity.HIGH, "requirements.txt")
    one = SourceResult((finding,), ("n",), ("a",), Coverage((REQS,), (UNPINNED, URL)))
    model = FileRead("m.pkl", "model", packages=1, checked=1)
    two = SourceResult((), ("n", "m"), ("m.pkl",), Coverage((model,)))
    total = combined([one, two])
    assert total.findings == (finding,)
    assert total.notes == ("n", "m")
    assert total.targets == ("a", "m.pkl")
    assert total.coverage.files == (REQS, model)
    assert total.coverage.discrepancies() == []


def test_the_ledger_in_words_one_line_per_reason():
    assert coverage_lines(Coverage((REQS,), (UNPINNED, URL))) == [
        "checked 1 of 3 item(s) in 1 file(s), image(s) and model(s)",
        "1 not checked: not pinned to one version",
        "1 not checked: local path, VCS or URL requirement",
    ]
    assert coverage_lines(Coverage()) == []
