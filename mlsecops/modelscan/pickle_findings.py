"""Judge what a pickle would do (from `pickle_ops`) against the rules, as findings.

One finding per global and rule in a target, at the first opcode that shows it, with the
number of other occurrences in its properties: a checkpoint that calls the same gadget a
thousand times is one problem to fix, not a thousand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from mlsecops.core.findings import Finding, Severity
from mlsecops.modelscan.pickle_notes import (
    Loader,
    NestedScan,
    PickleSource,
    budget_findings,
    encoded_findings,
    external_findings,
    frame_findings,
    pickle_finding,
    stream_problems,
)
from mlsecops.modelscan.pickle_ops import Event, Position, Segment
from mlsecops.modelscan.pickle_stream import Parse
from mlsecops.modelscan.pickle_values import Action, Global, Items, LargeData, Opaque, Result, shown
from mlsecops.modelscan.rules import NO_ROLES, Rules, Trust, normalize

__all__ = ["Loader", "NestedScan", "PickleSource", "judge"]

DENY = "MLS-PICKLE-DENY"
CALL = "MLS-PICKLE-CALL"
DYNAMIC_CALL = "MLS-PICKLE-DYNAMIC-CALL"
SETATTR = "MLS-PICKLE-SETATTR"
INSTANCE = "MLS-PICKLE-INSTANCE"
IMPORT = "MLS-PICKLE-IMPORT"
DESERIALIZE = "MLS-PICKLE-DESERIALIZE"
OTHER_READING = "another reading of its frames"


def judge(parse: Parse, rules: Rules, source: PickleSource, nested: NestedScan) -> list[Finding]:
    """Findings for every pickle read from one stream; `nested` scans data found inside."""
    tally = _Tally()
    findings: list[Finding] = []
    flat = _flatten(parse.segments)
    skipped = list(parse.skipped)
    for number, segment in enumerate(flat, start=1):
        label = f"pickle {number} of {len(flat)}" if len(flat) > 1 else ""
        findings += _read_segment(segment, label, rules, tally, source, nested)
    others = [segment for reading in parse.other_readings for segment in _flatten(reading)]
    for segment in others:
        findings += _read_segment(segment, OTHER_READING, rules, tally, source, nested)
    for segment in flat + others:
        skipped += segment.skipped + ([segment.budget] if segment.budget else [])
    findings += tally.findings(rules, source)
    findings += stream_problems(flat, source)
    findings += frame_findings(parse.anomalies, 1 + len(parse.other_readings), source)
    findings += external_findings([item for s in flat + others for item in s.external], source)
    findings += budget_findings(list(dict.fromkeys(skipped)), source)
    return findings


def _read_segment(
    segment: Segment,
    label: str,
    rules: Rules,
    tally: _Tally,
    source: PickleSource,
    nested: NestedScan,
) -> list[Finding]:
    for event in segment.events:
        _note_event(event, rules, tally, label)
    found: list[Finding] = []
    for blob in segment.blobs:
        what = f"{blob.encoding} text" if blob.encoding else "bytes"
        where = f"{source.where}{what} at {blob.position.describe()}: "
        inner = nested(blob.data, PickleSource(source.target, source.loader, where))
        place = blob.position.describe()
        found += encoded_findings(inner, blob.encoding, place, source) if blob.encoding else inner
    return found


def _flatten(segments: Sequence[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for segment in segments:
        out.append(segment)
        out += _flatten(segment.inner)
    return out


@dataclass
class _Use:
    module: str
    name: str
    first: dict[Action, tuple[Position, str, str]] = field(default_factory=dict)
    counts: dict[Action, int] = field(default_factory=dict)
    call_text: str = ""


@dataclass
class _Tally:
    uses: dict[tuple[str, str], _Use] = field(default_factory=dict)
    dynamic: dict[str, tuple[Position, str, str]] = field(default_factory=dict)
    unchecked: dict[str, tuple[Position, str, str]] = field(default_factory=dict)

    def note(self, target: Global, action: Action, event: Event, label: str) -> None:
        module, name = normalize(target.module, target.name)
        use = self.uses.setdefault((module, name), _Use(module, name))
        use.counts[action] = use.counts.get(action, 0) + event.count
        use.first.setdefault(action, (event.position, event.opcode, label))
        if action is Action.CALL and not use.call_text and event.args is not None:
            use.call_text = f"{module}.{name}({_render_args(event.args)})"

    def note_dynamic(self, value: object, event: Event, label: str) -> None:
        """A call or instantiation of a value the pickle computes, not names."""
        self.dynamic.setdefault(_describe(value), (event.position, event.opcode, label))

    def note_unchecked(self, text: str, event: Event, label: str) -> None:
        """A trusted callable deserializes data the scanner could not see."""
        self.unchecked.setdefault(text, (event.position, event.opcode, label))

    def findings(self, rules: Rules, source: PickleSource) -> list[Finding]:
        out = [f for use in self.uses.values() if (f := _judge_use(use, rules, source))]
        for text, (position, opcode, label) in self.dynamic.items():
            out.append(
                pickle_finding(
                    DYNAMIC_CALL,
                    Severity.HIGH,
                    source,
                    package=text,
                    title="Pickle calls a value computed while loading",
                    description=(
                        f"{opcode} calls {text}, a callable that the pickle builds at load time "
                        "instead of naming it: a common way to reach a dangerous function "
                        "through harmless-looking globals."
                    ),
                    fix=_fix(source.loader, Severity.HIGH, text),
                    position=position,
                    extra={"opcode": opcode, **({"pickle": label} if label else {})},
                )
            )
        out += [_unchecked_finding(text, at, source) for text, at in self.unchecked.items()]
        return out


def _unchecked_finding(text: str, at: tuple[Position, str, str], source: PickleSource) -> Finding:
    position, opcode, label = at
    return pickle_finding(
        DESERIALIZE, Severity.HIGH, source, package=text,
        title="Pickle deserializes data the scanner cannot see",
        description=(
            f"{opcode} calls {text}. That reconstructor is trusted, but it deserializes its "
            "argument (torch.storage._load_from_bytes runs torch.load on it), and here the "
            "argument is built at load time or too large to check, so whatever it would "
            "unpickle was not scanned. Real checkpoints pass it plain bytes."
        ),
        fix=_fix(source.loader, Severity.HIGH, text),
        position=position, extra={"opcode": opcode, **({"pickle": label} if label else {})},
    )  # fmt: skip


def _note_event(event: Event, rules: Rules, tally: _Tally, label: str) -> None:
    target = event.target
    if not isinstance(target, Global):
        if event.action in (Action.CALL, Action.INSTANCE) and isinstance(target, Result | Opaque):
            tally.note_dynamic(target, event, label)
        return
    module, name = normalize(target.module, target.name)
    roles = rules.roles(module, name)
    plain = event.action is not Action.SETATTR and roles is NO_ROLES
    if plain and rules.judge(module, name).trust is Trust.ALLOW:
        return  # the common case, cut short: an allowed global used plainly
    tally.note(target, event.action, event, label)
    if event.action is not Action.CALL:
        return
    # A trusted reconstructor that instantiates or calls one of its arguments must not
    # launder that argument: judge it as if the pickle had used it directly.
    items = event.args.items if isinstance(event.args, Items) else []
    for indexes, action in ((roles.instance, Action.INSTANCE), (roles.call, Action.CALL)):
        for index in indexes:
            if index >= len(items):
                continue
            argument = items[index]
            if isinstance(argument, Global):
                tally.note(argument, action, event, label)
            elif isinstance(argument, Result | Opaque):
                tally.note_dynamic(argument, event, label)
    # One that deserializes an argument: plain bytes were scanned as nested data when the
    # pickle pushed them; anything else cannot be.
    for index in roles.deserialize:
        argument = items[index] if index < len(items) else None
        if isinstance(argument, Result | Opaque) or (
            isinstance(argument, LargeData) and not argument.checked
        ):
            tally.note_unchecked(f"{target.dotted}({_describe(argument)})", event, label)


def _judge_use(use: _Use, rules: Rules, source: PickleSource) -> Finding | None:
    verdict = rules.judge(use.module, use.name)
    if verdict.trust is Trust.DENY:
        return _denied_use(use, verdict.why, source)
    if Action.SETATTR in use.first:
        return _setattr_use(use, source)
    called = Action.CALL in use.first
    if verdict.trust is Trust.ALLOW or (verdict.trust is Trust.INSTANCE and not called):
        return None
    return _unlisted_use(use, source)


def _denied_use(use: _Use, why: str, source: PickleSource) -> Finding:
    """A deny-listed global, however the pickle uses it: CRITICAL."""
    dotted = f"{use.module}.{use.name}"
    called = Action.CALL in use.first
    action = next(a for a in _ORDER if a in use.first)
    what = use.call_text or dotted
    return _use_finding(
        use,
        action,
        DENY,
        Severity.CRITICAL,
        source,
        title=f"Pickle {'calls' if called else 'uses'} dangerous {dotted}",
        description=(
            f"Loading this file {_VERBS[action]} {what}, which {why}. "
            "Nothing else is needed for it to run: opening the file is enough."
        ),
    )


def _setattr_use(use: _Use, source: PickleSource) -> Finding:
    """BUILD applied to a module or class itself: its attributes are replaced on load."""
    dotted = f"{use.module}.{use.name}"
    return _use_finding(
        use,
        Action.SETATTR,
        SETATTR,
        Severity.HIGH,
        source,
        title=f"Pickle overwrites attributes of {dotted}",
        description=(
            f"BUILD is applied to {dotted} itself, so loading replaces attributes of that "
            "module or class for the rest of the process: a way to plant code in a "
            "library without calling anything."
        ),
    )


def _unlisted_use(use: _Use, source: PickleSource) -> Finding:
    """A global on neither list: called HIGH, instantiated or imported MEDIUM."""
    dotted = f"{use.module}.{use.name}"
    if Action.CALL in use.first:
        return _use_finding(
            use,
            Action.CALL,
            CALL,
            Severity.HIGH,
            source,
            title=f"Pickle calls {dotted}, which is not on the allow-list",
            description=(
                f"Loading this file calls {use.call_text or dotted}. It is not one of the "
                "reconstructors known to be safe, so whatever it does runs on load; "
                "deny-lists miss such gadgets, which is why this is judged by allow-list."
            ),
        )
    if Action.INSTANCE in use.first:
        return _use_finding(
            use,
            Action.INSTANCE,
            INSTANCE,
            Severity.MEDIUM,
            source,
            title=f"Pickle creates an instance of {dotted}",
            description=(
                f"Loading this file creates a {dotted} and restores its state, so it imports "
                f"{use.module} and runs that class's __setstate__ if it has one. This is how "
                "whole-model pickles of a custom class look: not a payload by itself, but the "
                "class's code must be trusted."
            ),
        )
    return _use_finding(
        use,
        Action.IMPORT,
        IMPORT,
        Severity.MEDIUM,
        source,
        title=f"Pickle imports {dotted}",
        description=(
            f"Loading this file imports {dotted} (running {use.module}'s import-time code) "
            "without calling it; it is not on the allow-list."
        ),
    )


_ORDER = (Action.CALL, Action.SETATTR, Action.INSTANCE, Action.IMPORT)
_VERBS = {
    Action.CALL: "calls",
    Action.SETATTR: "overwrites attributes of",
    Action.INSTANCE: "instantiates",
    Action.IMPORT: "imports",
}


def _use_finding(
    use: _Use,
    action: Action,
    rule: str,
    severity: Severity,
    source: PickleSource,
    *,
    title: str,
    description: str,
) -> Finding:
    position, opcode, label = use.first[action]
    dotted = f"{use.module}.{use.name}"
    # How often the file does this (calls, say), so a thousand calls read as one problem.
    extra = {"opcode": opcode, "occurrences": str(use.counts.get(action, 0))}
    if label:
        extra["pickle"] = label
    return pickle_finding(
        rule,
        severity,
        source,
        package=dotted,
        title=title,
        description=description,
        fix=_fix(source.loader, severity, dotted),
        position=position,
        extra=extra,
    )


def _fix(loader: Loader, severity: Severity, dotted: str) -> str:
    if loader is Loader.NUMPY:
        return (
            "Load it with numpy.load(path, allow_pickle=False) (the default), which refuses "
            "object arrays, and keep model data as plain numeric arrays or safetensors."
        )
    if severity >= Severity.HIGH:
        if loader is Loader.TORCH:
            return (
                "Do not load it with torch.load(..., weights_only=False). "
                "torch.load(path, weights_only=True) (the default since PyTorch 2.6) refuses "
                "this; get the weights from a trusted source, ideally saved with safetensors."
            )
        return (
            "Do not unpickle this file (pickle.load, joblib.load and pandas.read_pickle all "
            "run it). Rebuild the model from a trusted source and save it without code: "
            "safetensors for weights, ONNX or skops for scikit-learn models."
        )
    if loader is Loader.TORCH:
        return (
            "Save model.state_dict() instead of the whole model and load it with "
            f"torch.load(path, weights_only=True); if {dotted} is your own trusted code, "
            "allow it in the policy."
        )
    return (
        f"If {dotted} is your own trusted code, allow it in the policy; otherwise save the "
        "model's state in a format without code, such as safetensors."
    )


def _describe(value: object, depth: int = 0) -> str:
    if isinstance(value, Global):
        return value.dotted
    if isinstance(value, Result):
        if depth >= 4:  # a chain of calls on calls: name the innermost few only
            return "a value computed by a chain of calls"
        inner = _describe(value.target, depth + 1)
        if value.action is Action.CALL:
            return f"the result of {inner}({_render_args(value.args)})"
        return f"an instance of {inner}"
    if isinstance(value, Opaque):
        return f"a {value.what}"
    if isinstance(value, LargeData):
        return shown(value)
    return "a constant"


def _render_args(args: object, limit: int = 80) -> str:
    items = args.items if isinstance(args, Items) else [args]
    parts = []
    for item in items:
        if isinstance(item, Global):
            parts.append(item.dotted)
        else:
            parts.append(shown(item))
    text = ", ".join(parts)
    return text if len(text) <= limit else text[: limit - 3] + "..."
