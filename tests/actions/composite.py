"""Run a composite action's steps (or a workflow job's) the way a GitHub runner would, as far
as that can go here.

`run:` steps execute with bash in order, inputs reach them only through their `env:`, and
GITHUB_OUTPUT / GITHUB_STEP_SUMMARY / GITHUB_ENV / GITHUB_PATH are real files read back after
each step. `uses:` steps cannot run here (no network, no node actions): they are skipped and
recorded with their evaluated `with:` so tests can assert on what would have been passed.
A test may stand in for one (`stand_ins`, by the action's name before `@`): a function that
gets the evaluated `with:` and returns the step's outcome, e.g. a checkout that fails, or
the outcome and the step's outputs (a cache restore that found an entry: cache-matched-key).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_EXPR = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
_TOKEN = re.compile(
    r"\s*(&&|\|\||==|!=|\(|\)|!|'(?:[^']|'')*'|[A-Za-z_][A-Za-z0-9_.\-]*\(\)|[A-Za-z_][A-Za-z0-9_.\-]*)"
)


@dataclass
class StepRecord:
    name: str
    kind: str  # "run", "uses" (skipped here) or "skipped" (its `if:` was false)
    outcome: str  # success | failure | skipped
    exit_code: int = 0
    uses: str = ""
    with_: dict[str, str] = field(default_factory=dict)
    stdout: str = ""
    stderr: str = ""
    env: dict[str, str] = field(default_factory=dict)  # what `env:` gave a run step


# A stand-in for a `uses:` action: gets the evaluated `with:`, returns success or failure,
# alone or with the step's outputs.
StandIn = Callable[[dict[str, str]], str | tuple[str, dict[str, str]]]


def _stand_in(stand_in: StandIn | None, with_: dict[str, str]) -> tuple[str, dict[str, str]]:
    """What a stand-in made of a `uses:` step: its outcome and outputs (none: skipped)."""
    if stand_in is None:
        return "skipped", {}
    result = stand_in(with_)
    return result if isinstance(result, tuple) else (result, {})


@dataclass
class ActionRun:
    steps: list[StepRecord]
    outputs: dict[str, str]
    summary: str
    failed: bool
    step_outputs: dict[str, dict[str, str]] = field(default_factory=dict)  # by step id

    def step(self, name: str) -> StepRecord:
        return next(s for s in self.steps if s.name == name)


class Expressions:
    """Just the expression language action.yml uses: contexts, ==, !=, &&, ||, !, always()."""

    def __init__(self, contexts: dict[str, Any], job_failed: bool) -> None:
        self.contexts = contexts
        self.job_failed = job_failed

    def substitute(self, text: str) -> str:
        return _EXPR.sub(lambda m: _to_str(self.evaluate(m.group(1))), text)

    def condition(self, text: str | None) -> bool:
        if text is None:
            return not self.job_failed
        expr = _EXPR.sub(lambda m: m.group(1), str(text))
        uses_status = any(f in expr for f in ("always()", "failure()", "success()", "cancelled()"))
        value = _truthy(self.evaluate(expr))
        return value if uses_status else value and not self.job_failed

    def evaluate(self, expr: str) -> Any:
        tokens = [t for t in _TOKEN.findall(expr) if t.strip()]
        value, rest = self._or(tokens)
        if rest:
            raise ValueError(f"cannot parse expression {expr!r}")
        return value

    def _or(self, tokens: list[str]) -> tuple[Any, list[str]]:
        left, tokens = self._and(tokens)
        while tokens and tokens[0] == "||":
            right, tokens = self._and(tokens[1:])
            left = left if _truthy(left) else right
        return left, tokens

    def _and(self, tokens: list[str]) -> tuple[Any, list[str]]:
        left, tokens = self._compare(tokens)
        while tokens and tokens[0] == "&&":
            right, tokens = self._compare(tokens[1:])
            left = right if _truthy(left) else left
        return left, tokens

    def _compare(self, tokens: list[str]) -> tuple[Any, list[str]]:
        left, tokens = self._unary(tokens)
        while tokens and tokens[0] in ("==", "!="):
            op = tokens[0]
            right, tokens = self._unary(tokens[1:])
            equal = _to_str(left).lower() == _to_str(right).lower()
            left = equal if op == "==" else not equal
        return left, tokens

    def _unary(self, tokens: list[str]) -> tuple[Any, list[str]]:
        head, rest = tokens[0], tokens[1:]
        if head == "!":
            value, rest = self._unary(rest)
            return not _truthy(value), rest
        if head == "(":
            value, rest = self._or(rest)
            return value, rest[1:]
        if head.startswith("'"):
            return head[1:-1].replace("''", "'"), rest
        if head.endswith("()"):
            function = head[:-2]
            return {
                "always": True,
                "success": not self.job_failed,
                "failure": self.job_failed,
                "cancelled": False,
            }[function], rest
        if head in ("true", "false"):
            return head == "true", rest
        value: Any = self.contexts
        for part in head.split("."):
            value = value.get(part, "") if isinstance(value, dict) else ""
        return value, rest


def _truthy(value: Any) -> bool:
    return bool(value) and value != "false" if isinstance(value, str) else bool(value)


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def read_outputs(path: Path) -> dict[str, str]:
    """Parse a GITHUB_OUTPUT file: name=value lines and name<<DELIM heredocs."""
    outputs: dict[str, str] = {}
    lines = path.read_text().splitlines() if path.exists() else []
    index = 0
    while index < len(lines):
        line = lines[index]
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            end = lines.index(delimiter, index + 1)
            outputs[name] = "\n".join(lines[index + 1 : end])
            index = end + 1
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            outputs[name] = value
        index += 1
    return outputs


def run_composite(
    action_dir: Path,
    inputs: dict[str, str],
    *,
    workspace: Path,
    runner_temp: Path,
    extra_env: dict[str, str] | None = None,
    action_file: str = "action.yml",
    stand_ins: dict[str, StandIn] | None = None,
    github: dict[str, Any] | None = None,
) -> ActionRun:
    """Execute `action_dir/action_file` with `inputs`; return what a runner would show."""
    action = yaml.safe_load((action_dir / action_file).read_text())
    defaults = {
        name: str(spec.get("default", "")) for name, spec in action.get("inputs", {}).items()
    }
    unknown = set(inputs) - set(defaults)
    if unknown:
        raise ValueError(f"inputs not declared in {action_file}: {sorted(unknown)}")
    contexts = _contexts(runner_temp, {"workspace": str(workspace), **(github or {})})
    expressions = Expressions(contexts, job_failed=False)
    contexts["inputs"] = {
        name: expressions.substitute(inputs.get(name, default))
        for name, default in defaults.items()
    }
    files = _runner_files(runner_temp)
    files["GITHUB_STEP_SUMMARY"].write_text("")
    base_env = _base_env(action_dir, runner_temp, workspace, extra_env)
    records: list[StepRecord] = []
    for index, step in enumerate(action["runs"]["steps"]):
        name = step.get("name", f"step {index}")
        if not expressions.condition(step.get("if")):
            records.append(StepRecord(name, "skipped", "skipped"))
            continue
        if "uses" in step:
            # A composite's `uses:` without a stand-in is recorded as skipped.
            record, outputs = _stand_in_step(step, name, expressions, stand_ins or {}, "skipped")
        else:
            record, outputs = _run_step(step, name, expressions, base_env, files, workspace)
        records.append(record)
        _finish_step(contexts, expressions, step, outputs, record.outcome)
    outputs = {
        name: expressions.substitute(str(spec.get("value", "")))
        for name, spec in action.get("outputs", {}).items()
    }
    step_outputs = {sid: dict(step["outputs"]) for sid, step in contexts["steps"].items()}
    return ActionRun(
        records,
        outputs,
        files["GITHUB_STEP_SUMMARY"].read_text(),
        expressions.job_failed,
        step_outputs,
    )


def _contexts(runner_temp: Path, github: dict[str, Any]) -> dict[str, Any]:
    """The expression contexts a step starts with; `steps` fills in as steps run."""
    return {
        "steps": {},
        "runner": {"os": "Linux", "arch": "X64", "temp": str(runner_temp)},
        "github": {"token": "test-token", **github},
        "env": {},
    }


def _with(step: dict[str, Any], expressions: Expressions) -> dict[str, str]:
    return {k: expressions.substitute(_to_str(v)) for k, v in step.get("with", {}).items()}


def _stand_in_step(
    step: dict[str, Any],
    name: str,
    expressions: Expressions,
    stand_ins: dict[str, StandIn],
    missing: str | None,
) -> tuple[StepRecord, dict[str, str]]:
    """A `uses:` step played by its stand-in; without one, `missing` is its outcome
    (None: it cannot run here, an error)."""
    uses = str(step["uses"])
    with_ = _with(step, expressions)
    stand_in = stand_ins.get(uses.split("@")[0])
    if stand_in is None:
        if missing is None:
            raise ValueError(f"{uses} cannot run here: give it a stand-in")
        return StepRecord(name, "uses", missing, uses=uses, with_=with_), {}
    outcome, outputs = _stand_in(stand_in, with_)
    return StepRecord(name, "uses", outcome, uses=uses, with_=with_), outputs


def _finish_step(
    contexts: dict[str, Any],
    expressions: Expressions,
    step: dict[str, Any],
    outputs: dict[str, str],
    outcome: str,
) -> None:
    """What a finished step leaves for the next: its outputs and outcome, and a failed job."""
    if step.get("id"):
        contexts["steps"][step["id"]] = {"outputs": outputs, "outcome": outcome}
    if outcome == "failure" and not step.get("continue-on-error"):
        expressions.job_failed = True


def _runner_files(runner_temp: Path) -> dict[str, Path]:
    return {
        name: runner_temp / f"_runner_file_{name.lower()}"
        for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY", "GITHUB_ENV", "GITHUB_PATH")
    }


def _base_env(
    action_dir: Path, runner_temp: Path, workspace: Path, extra_env: dict[str, str] | None
) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "RUNNER_OS": "Linux",
        "RUNNER_ARCH": "X64",
        "RUNNER_TEMP": str(runner_temp),
        "RUNNER_TOOL_CACHE": str(runner_temp / "toolcache"),
        "GITHUB_ACTION_PATH": str(action_dir),
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_REPOSITORY": "octo/ml-project",
        "GITHUB_EVENT_NAME": "push",
        "CI": "true",
        # Coverage's own variables, so that Python the steps start is measured too.
        **{k: v for k, v in os.environ.items() if k.startswith("COVERAGE_")},
        **(extra_env or {}),
    }


def _run_step(
    step: dict[str, Any],
    name: str,
    expressions: Expressions,
    base_env: dict[str, str],
    files: dict[str, Path],
    cwd: Path,
) -> tuple[StepRecord, dict[str, str]]:
    """One `run:` step with bash; GITHUB_PATH and GITHUB_ENV update `base_env` after it."""
    for path in (files["GITHUB_OUTPUT"], files["GITHUB_ENV"], files["GITHUB_PATH"]):
        path.write_text("")
    env = dict(base_env)
    step_env = {k: expressions.substitute(str(v)) for k, v in step.get("env", {}).items()}
    env.update(step_env)
    env.update({k: str(v) for k, v in files.items()})
    proc = subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    outcome = "success" if proc.returncode == 0 else "failure"
    record = StepRecord(
        name, "run", outcome, proc.returncode, stdout=proc.stdout, stderr=proc.stderr, env=step_env
    )
    for line in files["GITHUB_PATH"].read_text().splitlines():
        base_env["PATH"] = f"{line}{os.pathsep}{base_env['PATH']}"
    base_env.update(read_outputs(files["GITHUB_ENV"]))
    return record, read_outputs(files["GITHUB_OUTPUT"])


@dataclass
class JobRun:
    """What one workflow job did: its steps (with their composite runs) and whether it failed."""

    steps: list[StepRecord]
    actions: dict[str, ActionRun]  # the `uses: ./...` steps' runs, by step id
    failed: bool


def run_job(
    repo: Path,
    workflow_file: str,
    job_id: str,
    *,
    runner_temp: Path,
    extra_env: dict[str, str] | None = None,
    stand_ins: dict[str, StandIn] | None = None,
) -> JobRun:
    """Run one job of a workflow with the repository itself as the checked-out workspace.

    `run:` steps run with bash; `uses: ./DIR` steps run that composite action with
    run_composite; other `uses:` need a stand-in (actions/checkout and actions/setup-python
    default to doing nothing: the workspace is the repository, Python is on PATH).
    """
    job = yaml.safe_load((repo / workflow_file).read_text())["jobs"][job_id]
    stand_ins = {
        "actions/checkout": lambda with_: "success",
        "actions/setup-python": lambda with_: "success",
        **(stand_ins or {}),
    }
    contexts = _contexts(runner_temp, {"workspace": str(repo), "ref": "refs/heads/main"})
    expressions = Expressions(contexts, job_failed=False)
    files = _runner_files(runner_temp)
    files["GITHUB_STEP_SUMMARY"].write_text("")
    env = _base_env(repo, runner_temp, repo, extra_env)
    records: list[StepRecord] = []
    actions: dict[str, ActionRun] = {}
    for index, step in enumerate(job["steps"]):
        name = step.get("name", step.get("uses", f"step {index}"))
        if not expressions.condition(step.get("if")):
            records.append(StepRecord(name, "skipped", "skipped"))
            continue
        uses = str(step.get("uses", ""))
        if uses.startswith("./"):
            with_ = _with(step, expressions)
            run = run_composite(
                repo / uses,
                with_,
                workspace=repo,
                runner_temp=runner_temp,
                extra_env={"PATH": env["PATH"], **(extra_env or {})},
                stand_ins=stand_ins,
            )
            outcome = "failure" if run.failed else "success"
            record = StepRecord(name, "uses", outcome, uses=uses, with_=with_)
            actions[step.get("id", name)] = run
            outputs = dict(run.outputs)
        elif uses:
            record, outputs = _stand_in_step(step, name, expressions, stand_ins, None)
        else:
            record, outputs = _run_step(step, name, expressions, env, files, repo)
        records.append(record)
        _finish_step(contexts, expressions, step, outputs, record.outcome)
    return JobRun(records, actions, expressions.job_failed)
