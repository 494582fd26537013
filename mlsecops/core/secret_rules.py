"""The secret rules mlsecops ships: ML credentials Trivy's built-in rules miss, and cloud keys.

One table, two engines. Trivy reads it (as `mlsecops/data/trivy-secret.yml`, generated from
this table by `python -m mlsecops.secretscan.trivy_config`) to find secrets in the project's
files and in image layers; the model scanner matches the same patterns (with Python's `re`)
against the strings it reads from model files. So a Hugging Face token is the same rule,
with the same id, whether it sits in a `.env`, an image layer or a pickled config.

The patterns are written in the syntax both engines share (Go RE2 and Python `re`): no
look-around, no back-references, inline flags only at the very start, one `secret` group
(the part that is reported, redacted, and masked by Trivy). Where one of our rules covers
a credential Trivy also knows, Trivy's built-in rule is named in `replaces` and disabled, so
one token gives one finding. Every rule has a generated, rule-shaped token in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlsecops.core.findings import Severity

# Where a token may start: the start of the text, any character that cannot be part of a
# token, or a JSON/escaped `\n`, `\r` or `\t` (a notebook output line ends in a literal `\n`).
_START = r"(?:^|[^0-9A-Za-z]|\\[nrt])"
# Where a token must end: a longer run of token characters is some other string (a hash).
_END = r"(?:[^0-9A-Za-z]|$)"
_END_DASHED = r"(?:[^0-9A-Za-z_-]|$)"  # for tokens that may contain `-` and `_`
_END_HEX = r"(?:[^0-9a-z]|$)"  # after a case-insensitive hex or alphanumeric value
_ASSIGN = r"[\"']?\s*[:=]\s*[\"']?"  # `KEY=`, `KEY: "`, `"key": "`


@dataclass(frozen=True)
class SecretRule:
    """One kind of credential: how it looks, how bad a leak is, and what to do about it."""

    id: str
    category: str  # the provider, as Trivy groups rules (`HuggingFace`, `AWS`, ...)
    title: str
    severity: Severity
    regex: str  # RE2 and Python `re` alike; the `secret` group is the credential
    keywords: tuple[str, ...]  # the rule only runs on text holding one (case-insensitive)
    help: str
    replaces: tuple[str, ...] = ()  # Trivy built-in rules this one stands in for


_ROTATE = (
    "Revoke the credential at the provider now (it is in the repository's or the image's "
    "history, which rewriting the file does not clean), then load the new one at run time "
    "from a secret store or an environment variable of the job."
)

SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule(
        "MLS-SECRET-HUGGINGFACE", "HuggingFace", "Hugging Face access token", Severity.CRITICAL,
        _START + r"(?P<secret>hf_[A-Za-z0-9]{34,40}|api_org_[A-Za-z0-9]{34})" + _END,
        ("hf_", "api_org_"),
        "A Hugging Face user or organization token: it reads (and with write scope, "
        "replaces) private models and datasets. " + _ROTATE,
        replaces=("hugging-face-access-token",),
    ),
    SecretRule(
        "MLS-SECRET-OPENAI", "OpenAI", "OpenAI API key", Severity.CRITICAL,
        _START + r"(?P<secret>sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,200}T3BlbkFJ"
        r"[A-Za-z0-9_-]{20,200})" + _END_DASHED,
        ("T3BlbkFJ",),
        "An OpenAI API key (project, service account, admin or legacy): it spends the "
        "organization's money and reads its files and fine-tunes. " + _ROTATE,
        replaces=("openai-legacy-api-key", "openai-project-api-key",
                  "openai-service-account-key", "openai-admin-api-key"),
    ),
    SecretRule(
        "MLS-SECRET-ANTHROPIC", "Anthropic", "Anthropic API key", Severity.CRITICAL,
        _START + r"(?P<secret>sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{80,120})" + _END_DASHED,
        ("sk-ant-",),
        "An Anthropic API or admin key: it spends the organization's money. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-REPLICATE", "Replicate", "Replicate API token", Severity.CRITICAL,
        _START + r"(?P<secret>r8_[A-Za-z0-9]{37})" + _END,
        ("r8_",),
        "A Replicate API token: it runs (and bills) predictions and reads private models. "
        + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-GROQ", "Groq", "Groq API key", Severity.CRITICAL,
        _START + r"(?P<secret>gsk_[A-Za-z0-9]{52})" + _END,
        ("gsk_",),
        "A Groq API key: it runs (and bills) inference. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-WANDB", "WeightsAndBiases", "Weights & Biases API key", Severity.HIGH,
        r"(?i)(?:wandb[a-z0-9_.-]{0,20}(?:key|token)" + _ASSIGN
        + r"|wandb\.login\(\s*key\s*=\s*[\"']|api\.wandb\.ai\s+login\s+\S+\s+password\s+)"
        r"(?P<secret>[0-9a-f]{40})" + _END_HEX,
        ("wandb",),
        "A Weights & Biases API key (in WANDB_API_KEY, wandb.login(key=...) or a .netrc): it "
        "reads and writes every project of its user, runs, artifacts and models. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-KAGGLE", "Kaggle", "Kaggle API key", Severity.HIGH,
        r"(?i)(?:\"username\"\s*:\s*\"[^\"\n]{1,64}\"\s*,\s*\"key\"\s*:\s*\""
        r"|kaggle[a-z0-9_.-]{0,20}key" + _ASSIGN + r")(?P<secret>[0-9a-f]{32})" + _END_HEX,
        ("kaggle", "username"),
        "A Kaggle API key (kaggle.json or KAGGLE_KEY): it acts as its user on datasets, "
        "models and competitions. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-COMET", "Comet", "Comet API key", Severity.HIGH,
        r"(?i)(?:comet[a-z0-9_.-]{0,20}key" + _ASSIGN
        + r"|comet_ml\.(?:init|login|start)\([^)]{0,80}?api_key\s*=\s*[\"'])"
        r"(?P<secret>[a-z0-9]{25})" + _END_HEX,
        ("comet",),
        "A Comet API key (COMET_API_KEY or comet_ml.init(api_key=...)): it reads and writes "
        "the workspace's experiments and models. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-NEPTUNE", "Neptune", "Neptune API token", Severity.HIGH,
        _START + r"(?P<secret>eyJhcGlfYWRkcmVzcyI6[A-Za-z0-9+/]{40,400}={0,2})"
        r"(?:[^A-Za-z0-9+/=]|$)",
        ("eyJhcGlfYWRkcmVzcyI6",),
        "A Neptune API token (base64 JSON naming its API address): it reads and writes the "
        "workspace's runs and models. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-LANGSMITH", "LangSmith", "LangSmith API key", Severity.HIGH,
        _START + r"(?P<secret>lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10})" + _END,
        ("lsv2_",),
        "A LangSmith personal or service key: it reads the traces of every prompt and answer "
        "logged to the workspace. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-AWS-ACCESS-KEY", "AWS", "AWS access key ID", Severity.CRITICAL,
        _START + r"(?P<secret>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16})" + _END,
        ("AKIA", "ASIA", "ABIA", "ACCA", "A3T"),
        "An AWS access key ID: with its secret key (usually beside it) it acts as its IAM "
        "user or role, e.g. on the S3 buckets that hold training data and models. "
        + _ROTATE,
        replaces=("aws-access-key-id",),
    ),
    SecretRule(
        "MLS-SECRET-AWS-SECRET-KEY", "AWS", "AWS secret access key", Severity.CRITICAL,
        r"(?i)aws_?(?:secret)?_?(?:access)?_?key" + _ASSIGN
        + r"(?P<secret>[A-Za-z0-9/+=]{40})(?:[^A-Za-z0-9/+=]|$)",
        ("aws",),
        "An AWS secret access key: with its key ID it acts as its IAM user or role. "
        + _ROTATE,
        replaces=("aws-secret-access-key",),
    ),
    SecretRule(
        "MLS-SECRET-GCP-API-KEY", "Google", "Google API key", Severity.CRITICAL,
        _START + r"(?P<secret>AIza[0-9A-Za-z_-]{35})" + _END_DASHED,
        ("AIza",),
        "A Google API key (Gemini, Vertex AI, Maps, ...): it spends the project's quota and "
        "money on every API it is not restricted from. " + _ROTATE,
    ),
    SecretRule(
        "MLS-SECRET-AZURE-STORAGE-KEY", "Azure", "Azure storage account key", Severity.CRITICAL,
        r"(?i)AccountKey\s*=\s*(?P<secret>[A-Za-z0-9+/]{86}==)",
        ("AccountKey",),
        "An Azure storage account key (in a connection string): full control of every "
        "container, blob and queue of the account. " + _ROTATE,
        replaces=("azure-storage-account-key",),
    ),
)  # fmt: skip

SECRET_RULE_IDS: frozenset[str] = frozenset(rule.id for rule in SECRET_RULES)
