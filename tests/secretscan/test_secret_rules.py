"""The shipped secret rules: one table, the same answers from Trivy and from Python."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mlsecops.core.rules import BY_ID
from mlsecops.core.secret_rules import SECRET_RULE_IDS, SECRET_RULES
from mlsecops.secretscan.matching import find_secrets
from mlsecops.secretscan.trivy_config import config_path, render
from tests.support.fake_secrets import RULE_IDS, fake_secrets
from tests.support.trivydb import OFFLINE_FLAGS

RULES = {rule.id: rule for rule in SECRET_RULES}


def trivy_secrets(trivy_bin: Path, cache: Path, project: Path, config: str) -> list[dict[str, Any]]:
    """Trivy's secret findings for `project` with `config` ("" = built-in rules only)."""
    proc = subprocess.run(
        [
            str(trivy_bin), "fs", "--cache-dir", str(cache), *OFFLINE_FLAGS,
            "--config", "", "--secret-config", config, "--scanners", "secret",
            "--format", "json", "--quiet", str(project),
        ],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    report = json.loads(proc.stdout)
    return [
        {**secret, "Target": result["Target"]}
        for result in report.get("Results") or []
        for secret in result.get("Secrets") or []
    ]


def test_the_shipped_trivy_config_is_the_rendered_table() -> None:
    assert config_path().read_text(encoding="utf-8") == render(), (
        "regenerate: python -m mlsecops.secretscan.trivy_config > mlsecops/data/trivy-secret.yml"
    )


def test_every_rule_has_a_fake_token_and_a_registry_entry() -> None:
    assert set(RULE_IDS) == SECRET_RULE_IDS
    for rule_id in SECRET_RULE_IDS:
        assert BY_ID[rule_id].title == RULES[rule_id].title


def test_python_finds_each_fake_token_once_with_its_own_rule() -> None:
    for fake in fake_secrets():
        matches = find_secrets(fake.line)
        assert [(m.rule.id, m.secret) for m in matches] == [(fake.rule_id, fake.token)]


def test_trivy_finds_each_fake_token_once_with_its_own_rule(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    fakes = fake_secrets()
    (tmp_path / "all.env").write_text("\n".join(f.line for f in fakes) + "\n")

    found = trivy_secrets(trivy_bin, trivy_cache, tmp_path, str(config_path()))

    by_line = {secret["StartLine"]: secret for secret in found}
    assert len(found) == len(fakes), [s["RuleID"] for s in found]
    for number, fake in enumerate(fakes, start=1):
        secret = by_line[number]
        assert secret["RuleID"] == fake.rule_id
        # Trivy masks exactly the `secret` group: one star per character of the token.
        assert "*" * len(fake.token) in secret["Match"]
        assert "*" * (len(fake.token) + 1) not in secret["Match"]


def test_every_builtin_rule_a_fake_token_trips_is_one_our_rule_replaces(
    trivy_bin: Path, trivy_cache: Path, tmp_path: Path
) -> None:
    """A Trivy upgrade adding a rule for one of our credentials would give two findings."""
    fakes = fake_secrets()
    (tmp_path / "all.env").write_text("\n".join(f.line for f in fakes) + "\n")

    found = trivy_secrets(trivy_bin, trivy_cache, tmp_path, "")

    for secret in found:
        rule = RULES[fakes[secret["StartLine"] - 1].rule_id]
        assert secret["RuleID"] in rule.replaces, (rule.id, secret["RuleID"])


@pytest.mark.parametrize(
    "text",
    [
        "HF_TOKEN=hf_" + "a1B2" * 8,  # 32 characters: too short for a token
        "checksum hf_" + "a1B2" * 11,  # 44 characters: some longer string, not a token
        "WANDB_API_KEY=" + "ab12" * 16,  # a 64-hex digest, not a 40-hex key
        "KAGGLE_KEY=${KAGGLE_KEY}",
        "OPENAI_API_KEY=sk-your-key-here",
        "aws_secret_access_key = os.environ['AWS_SECRET_ACCESS_KEY']",
        "model = AutoModel.from_pretrained('bert-base-uncased', token=os.environ['HF_TOKEN'])",
    ],
)
def test_near_misses_are_not_secrets(text: str) -> None:
    assert find_secrets(text) == []


def test_a_token_in_a_json_string_after_an_escaped_newline_is_found() -> None:
    fake = fake_secrets()[0]
    text = json.dumps({"text": f"Your token:\n{fake.token}\n"})
    assert [m.secret for m in find_secrets(text)] == [fake.token]
