"""Redaction: at most four characters and the length, whatever the secret."""

from __future__ import annotations

from mlsecops.secretscan.findings import SECRET_PROPERTY, SecretCollector
from mlsecops.secretscan.redact import redact, redacted, scrub
from tests.support.fake_secrets import fake_secrets, leaked


def test_a_secret_shows_four_characters_and_its_length() -> None:
    assert redact("hf_" + "A" * 34) == "hf_A… (37 characters)"


def test_a_short_secret_shows_at_most_a_quarter_of_itself() -> None:
    assert redact("abcdefgh") == "ab… (8 characters)"
    assert redact("abc") == "… (3 characters)"


def test_a_prefix_that_is_not_printable_ascii_is_dropped() -> None:
    assert redacted("\x1b[31", 40) == "… (40 characters)"
    assert redacted("ab c", 40) == "… (40 characters)"
    assert redacted("", 0) == "… (length unknown)"


def test_scrub_replaces_every_token_and_keeps_the_rest() -> None:
    fakes = fake_secrets("scrub")
    text = "\n".join(f"line {i}: {fake.line}" for i, fake in enumerate(fakes))

    scrubbed = scrub(text)

    assert not [fake.rule_id for fake in fakes if leaked(scrubbed, fake)]
    assert scrubbed.splitlines()[0].startswith("line 0: HF_TOKEN=hf_F… (")


def test_the_collector_reports_a_secret_once_per_target_redacted() -> None:
    fake = fake_secrets("collector")[0]
    collector = SecretCollector()
    collector.add(f"token={fake.token}", "model.pkl", "string at byte 10")
    collector.add(f"again {fake.token}", "model.pkl", "string at byte 99")
    collector.add(fake.token, "other.pkl")

    found = collector.findings()

    assert [(f.id, f.target, f.location) for f in found] == [
        ("MLS-SECRET-HUGGINGFACE", "model.pkl", "string at byte 10"),
        ("MLS-SECRET-HUGGINGFACE", "other.pkl", ""),
    ]
    assert found[0].properties[SECRET_PROPERTY] == "hf_F… (37 characters)"
    assert not leaked(repr(found), fake)
