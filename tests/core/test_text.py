"""core/text: untrusted text made inert for the job log and for GitHub Markdown."""

from __future__ import annotations

import html

import pytest

from mlsecops.core.text import (
    clip,
    guard_output,
    linkable,
    log_text,
    md_code,
    md_link,
    md_text,
    md_url,
    plain_text,
    visible,
)
from tests.support.hostile import LOG_ATTACKS, MARKDOWN_ATTACKS, MENTION_AND_PIXEL
from tests.support.markdown import live_parts, render, table_cells
from tests.support.runner_log import commands_in
from tests.support.sarif_text import embedded_links


def test_the_runner_oracle_sees_the_attacks_raw():
    # The oracle must catch what the attacks would do unescaped, or the tests below prove nothing.
    assert all(commands_in(f"  {attack}") for attack in LOG_ATTACKS[:10])


@pytest.mark.parametrize("attack", LOG_ATTACKS)
@pytest.mark.parametrize("prefix", ["", "   ", "\t", "note: "])
def test_log_text_never_starts_a_workflow_command(attack, prefix):
    line = prefix + log_text(attack)
    assert len(line.splitlines()) == 1
    assert commands_in(line) == []
    assert line.isprintable() or "\t" in prefix
    line.encode("utf-8")  # a lone surrogate would make printing it crash


def test_log_text_stays_readable():
    assert log_text("requirements.txt") == "requirements.txt"
    assert log_text("naïve model.pkl") == "naïve model.pkl"
    assert log_text("evil.pkl\n::warning::x") == "evil.pkl\\n:\\:warning:\\:x"
    assert log_text("a ##[error]b") == "a ##\\[error]b"
    assert log_text("bad\udcffname") == "bad\\xffname"  # the byte the name had on disk
    assert log_text("lone \ud800") == "lone \\ud800"
    assert log_text("\u202egnp") == "\\u202egnp"
    assert log_text(":::") == ":\\:\\:"
    assert log_text(42) == "42"


def test_log_text_is_bounded():
    assert len(log_text("x" * 10_000_000, limit=100)) == 100
    assert log_text("x" * 10, limit=5) == "xxxx…"
    assert log_text("x" * 10, limit=None) == "x" * 10
    assert clip("abc", 3) == "abc"


def test_visible_escapes_every_unprintable_kind():
    assert visible("a\nb\rc\td") == "a\\nb\\rc\\td"
    assert visible("\x00\x1b\x7f\x85\xa0") == "\\x00\\x1b\\x7f\\x85\\xa0"
    assert visible("\u2028\u2029\u200e\u2066") == "\\u2028\\u2029\\u200e\\u2066"
    assert visible("\U000e0041") == "\\U000e0041"  # a tag character


def test_guard_output_breaks_command_lines_we_composed():
    text = "ok line\n  ::error::x\n::set-output name=a::b\nfine ##[warning]y\n"
    guarded = guard_output(text)
    assert commands_in(guarded) == []
    assert guarded.count("\n") == text.count("\n")
    assert guard_output("PASSED (fail-on HIGH): 1 HIGH\n") == "PASSED (fail-on HIGH): 1 HIGH\n"


def test_the_markdown_oracle_sees_the_attacks_raw():
    harmless_raw = {"<script>alert(1)</script>"}  # cmark-gfm's tag filter escapes it anyway
    for attack in MARKDOWN_ATTACKS[:12]:
        assert live_parts(attack) or attack in harmless_raw, attack
    assert len(live_parts("fixes #1 and octo/repo#2 and GH-3")) == 1


@pytest.mark.parametrize("attack", MARKDOWN_ATTACKS)
def test_md_text_renders_inert_and_readable(attack):
    shown = md_text(attack)
    assert live_parts(f"- {shown}") == []
    assert live_parts(f"**{shown}**") == []
    rendered = html.unescape(render(shown))
    plain = rendered.replace("<code>", "").replace("</code>", "")
    assert " ".join(attack.split()) in plain.replace("<p>", "").replace("</p>", "").strip()


@pytest.mark.parametrize("attack", MARKDOWN_ATTACKS)
def test_md_code_renders_inert_and_literal(attack):
    shown = md_code(attack)
    assert live_parts(f"- {shown}") == []
    rendered = html.unescape(render(shown))
    assert f"<code>{visible(attack)}</code>" in rendered


@pytest.mark.parametrize("attack", MARKDOWN_ATTACKS)
def test_table_cells_stay_cells(attack):
    table = "| a | b | c |\n| --- | --- | --- |\n"
    table += f"| {md_text(attack)} | {md_code(attack, in_table=True)} | end |\n"
    assert live_parts(table) == []
    cells = table_cells(table)
    assert len(cells) == 1
    assert len(cells[0]) == 3
    assert cells[0][2] == "end"
    assert html.unescape(cells[0][1]) == f"<code>{visible(attack)}</code>"


def test_md_code_fences_around_backticks():
    assert md_code("a`b") == "``a`b``"
    assert md_code("``x``") == "``` ``x`` ```"
    assert md_code("") == ""
    assert md_code("a|b", in_table=True) == "`a\\|b`"
    assert md_code(" x ") == "`  x  `"
    assert md_code(" x") == "` x`"
    assert md_code("requirements.txt") == "`requirements.txt`"


def test_the_issue_example_mention_and_pixel():
    for shown in (md_text(MENTION_AND_PIXEL), md_code(MENTION_AND_PIXEL)):
        html_out = render(shown)
        assert "<img" not in html_out
        assert "<a " not in html_out
        assert live_parts(shown) == []


def test_links_only_to_the_advisory_databases():
    good = "https://avd.aquasec.com/nvd/cve-2018-18074"
    assert linkable(good)
    assert linkable("https://github.com/advisories/GHSA-x84v-xcm2-53pg")
    for bad in (
        "http://avd.aquasec.com/nvd/x",  # not https
        "https://avd.aquasec.com.evil.example/x",
        "https://github.com/attacker/repo",
        "https://avd.aquasec.com/x)![p](http://127.0.0.1/p.png",
        "https://avd.aquasec.com/x y",
        "javascript:alert(1)",
    ):
        assert not linkable(bad), bad
        assert live_parts(md_url(bad)) == []
        assert live_parts(md_link(md_code("CVE-1"), bad)) == []
    assert live_parts(md_link(md_code("CVE-1"), good), allowed_hrefs=frozenset({good})) == []
    assert live_parts(md_url(good), allowed_hrefs=frozenset({good})) == []


def test_md_text_never_opens_a_block():
    for attack in ("- x", "+ x", "1. x", "7) x", "> x", "# x"):
        html_out = render(f"- {md_text(attack)}")
        assert html_out.count("<li>") == 1, attack
        assert "<blockquote>" not in html_out
        assert "<h1>" not in html_out


def test_md_text_reads_cleanly_for_ordinary_text():
    assert md_text("upgrade to 5.4, then re-run") == "upgrade to 5.4, then re-run"
    assert md_text("Pickle calls posix.system (opcode 12)") == (
        "Pickle calls posix.system (opcode 12)"
    )


LINK_ATTACKS = (
    "[click me](http://127.0.0.1/phish)",
    "\\[x\\](http://127.0.0.1/escaped-brackets)",  # backslashes before both brackets
    "\\\\[x](http://127.0.0.1/escaped-backslash)",
    "a ] then [b](http://127.0.0.1/later)",
    "[[nested](http://127.0.0.1/nested)]",
    "trailing backslash \\",
)


@pytest.mark.parametrize("attack", LINK_ATTACKS + MARKDOWN_ATTACKS + LOG_ATTACKS)
def test_plain_text_makes_no_sarif_link_and_stays_one_visible_line(attack):
    shown = plain_text(attack)
    assert embedded_links(shown) == []
    assert shown.isprintable()  # no line break, control, bidi or format character


def test_the_link_check_itself_sees_links():
    assert embedded_links("see [here](http://127.0.0.1/x) and [there](3)") == [
        "http://127.0.0.1/x",
        "3",
    ]
    assert embedded_links("\\\\[x](http://127.0.0.1/y)") == ["http://127.0.0.1/y"]
    assert embedded_links("\\[x](http://127.0.0.1/y)") == []


def test_plain_text_leaves_text_without_brackets_as_it_is():
    assert plain_text("requests 2.19.1 in C:\\dir; fixed: 2.20.0.") == (
        "requests 2.19.1 in C:\\dir; fixed: 2.20.0."
    )
    assert plain_text("a [b] c") == "a \\[b\\] c"
