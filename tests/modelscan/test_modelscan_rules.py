"""The allow/deny rules: precedence, patterns, Python 2 names and project-allowed globals."""

from __future__ import annotations

from pathlib import Path

from modelscan_corpus import glob, proto, reduce_pickle, ustr

from mlsecops.core.findings import Severity
from mlsecops.modelscan import scan_models
from mlsecops.modelscan.rules import ArgumentRoles, Trust, default_rules, normalize, parse_rules

RULES = default_rules()


def trust(module: str, name: str) -> Trust:
    return RULES.judge(*normalize(module, name)).trust


def test_exact_allow_beats_a_denied_module() -> None:
    assert trust("copyreg", "_reconstructor") is Trust.ALLOW
    assert trust("copy_reg", "_reconstructor") is Trust.ALLOW  # Python 2 spelling
    assert trust("copyreg", "add_extension") is Trust.DENY


def test_deny_covers_submodules_and_beats_wildcard_allow() -> None:
    assert trust("asyncio.unix_events", "_UnixSelectorEventLoop") is Trust.DENY
    assert trust("os", "system") is Trust.DENY
    assert trust("posix", "system") is Trust.DENY
    assert trust("__builtin__", "eval") is Trust.DENY
    assert trust("torch.utils.collect_env", "run") is Trust.DENY


def test_dotted_dunder_names_are_denied_even_under_an_allowed_class() -> None:
    assert trust("torch.nn.modules.linear", "Linear.__init__.__globals__") is Trust.DENY
    assert trust("collections", "OrderedDict.__class__") is Trust.DENY


def test_star_stays_within_one_dotted_part() -> None:
    assert trust("torch", "FloatStorage") is Trust.ALLOW
    assert trust("torch", "FloatStorage.something") is Trust.UNKNOWN


def test_instances_may_be_referenced_but_not_called(tmp_path: Path, monkeypatch) -> None:
    assert trust("sklearn.linear_model._logistic", "LogisticRegression") is Trust.INSTANCE
    assert trust("sklearn.feature_selection._univariate_selection", "f_classif") is Trust.INSTANCE
    monkeypatch.chdir(tmp_path)
    Path("call.pkl").write_bytes(reduce_pickle("sklearn.utils", "run_anything", ustr("x")))
    (finding,) = scan_models([Path("call.pkl")])
    assert (finding.id, finding.severity) == ("MLS-PICKLE-CALL", Severity.HIGH)


def test_cython_unpickle_helpers_judge_the_class_they_build() -> None:
    assert RULES.roles("pandas._libs.interval", "__pyx_unpickle_IntervalMixin").instance == (0,)
    assert trust("sklearn.neighbors._kd_tree", "newObj") is Trust.ALLOW


def test_argument_roles_are_patterns_first_match_wins() -> None:
    assert RULES.roles("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked").instance == (0,)
    assert RULES.roles("torch._utils", "_rebuild_parameter_with_state") == ArgumentRoles()
    rules = parse_rules({"arguments": {"a:build": {"call": [1]}, "**:build*": {"instance": [0]}}})
    assert rules.roles("a", "build") == ArgumentRoles(call=(1,))
    assert rules.roles("b.c", "build_it") == ArgumentRoles(instance=(0,))
    assert rules.roles("b.c", "other") == ArgumentRoles()


def test_entries_covered_by_a_wildcard_still_judge_the_same() -> None:
    assert trust("pandas", "StringDtype") is Trust.ALLOW
    assert trust("pandas", "IntervalDtype") is Trust.ALLOW
    assert trust("pandas._libs.arrays", "__pyx_unpickle_NDArrayBacked") is Trust.ALLOW
    assert trust("numpy.dtypes", "Float64DType") is Trust.ALLOW


def test_rules_file_parses_to_non_empty_lists() -> None:
    assert len(RULES.deny) > 50 and len(RULES.allow) > 50 and RULES.instances
    assert RULES.roles("copyreg", "_reconstructor").instance == (0,)


def test_parse_rules_from_data() -> None:
    rules = parse_rules(
        {
            "deny": [{"why": "bad", "match": ["evil"]}],
            "allow": [{"why": "ok", "match": ["good:thing", "good.sub:*"]}],
        }
    )
    assert rules.judge("evil.deep", "x").why == "bad"
    assert rules.judge("good", "thing").trust is Trust.ALLOW
    assert rules.judge("good.sub", "anything").trust is Trust.ALLOW
    assert rules.judge("good", "other").trust is Trust.UNKNOWN


def test_project_allowed_globals_silence_a_user_class_but_never_a_deny(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    user = proto(2) + glob("acme.models", "Net") + b")\x81}b."
    Path("user.pkl").write_bytes(user)
    Path("evil.pkl").write_bytes(reduce_pickle("os", "system"))
    Path("call.pkl").write_bytes(reduce_pickle("acme.models", "build", ustr("x")))
    assert [f.severity for f in scan_models([Path("user.pkl")])] == [Severity.MEDIUM]
    assert scan_models([Path("user.pkl")], ["acme.models.Net"]) == []
    assert scan_models([Path("call.pkl")], ["acme.models:*"]) == []
    assert scan_models([Path("call.pkl")], ["acme.models.build"]) == []
    assert scan_models([Path("call.pkl")], ["acme.models.other"]) != []
    (evil,) = scan_models([Path("evil.pkl")], ["os:system", "os.system"])
    assert evil.severity is Severity.CRITICAL
