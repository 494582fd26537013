"""Guarded YAML: no aliases or anchors, bounded depth, text-only keys, real Unicode.

No YAML format of ours (the policy, conda environment files) needs aliases or anchors, and
they are how a 1 KB file becomes 10^8 strings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError

from mlsecops.errors import UsageError
from mlsecops.guarded.depth import MAX_DEPTH, check_unicode, too_deep
from mlsecops.guarded.files import read_text
from mlsecops.guarded.limits import InputKind


class GuardedLoader(yaml.SafeLoader):
    """PyYAML's safe loader with no aliases or anchors, bounded depth and text-only keys.

    Subclass it to change resolvers (the policy keeps dates as text); errors are PyYAML's own
    error types with a mark, so callers report the line as for any YAML error.
    """

    max_depth = MAX_DEPTH
    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        """Compose one node, refusing aliases, anchors and nesting past `max_depth`."""
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise ComposerError(
                None,
                None,
                "YAML aliases and anchors (`*name`, `&name`) are not allowed in this file",
                event.start_mark,
            )
        self._depth += 1
        try:
            if self._depth > self.max_depth:
                raise ComposerError(
                    None, None, f"nested deeper than {self.max_depth} levels", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are all text (a `1:` or `on:` key is an error, not a surprise)."""
        for key_node, _ in node.value:
            if key_node.tag != "tag:yaml.org,2002:str":
                raise ConstructorError(
                    None,
                    None,
                    f"mapping key {key_node.value!r} is not text; quote it",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


def yaml_problem(exc: yaml.YAMLError) -> tuple[str, str]:
    """(":LINE" or "", the problem) of a PyYAML error, for a one-line message."""
    mark = getattr(exc, "problem_mark", None)
    where = f":{mark.line + 1}" if mark is not None else ""
    return where, str(getattr(exc, "problem", None) or exc)


def compose_yaml(
    text: str, source: str, fix: str, loader: type[GuardedLoader] = GuardedLoader
) -> yaml.Node | None:
    """The YAML node tree of `text` (for line numbers) under GuardedLoader's rules."""
    try:
        instance = loader(text)  # reads the text: an unprintable character fails already here
        try:
            return instance.get_single_node()
        finally:
            instance.dispose()
    except RecursionError as exc:
        raise too_deep(source, fix) from exc
    except yaml.YAMLError as exc:
        where, problem = yaml_problem(exc)
        raise UsageError(f"{source}{where} is not valid YAML: {problem}", fix) from exc


def parse_yaml(
    text: str, source: str, fix: str, loader: type[GuardedLoader] = GuardedLoader
) -> Any:
    """YAML from `text` under GuardedLoader's rules; any problem is a UsageError with a line."""
    try:
        instance = loader(text)  # reads the text: an unprintable character fails already here
        try:
            data = instance.get_single_data()
        finally:
            instance.dispose()
    except RecursionError as exc:
        raise too_deep(source, fix) from exc
    except yaml.YAMLError as exc:
        where, problem = yaml_problem(exc)
        raise UsageError(f"{source}{where} is not valid YAML: {problem}", fix) from exc
    check_unicode(data, source, fix)
    return data


def load_yaml(
    path: Path, kind: InputKind, fix: str, loader: type[GuardedLoader] = GuardedLoader
) -> Any:
    """read_text + parse_yaml, the file named by its kind in messages."""
    return parse_yaml(read_text(path, kind), f"{kind.noun} {path}", fix, loader)
