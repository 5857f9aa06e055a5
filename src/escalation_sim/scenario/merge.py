"""Merging a scenario over its base, and ``--set key.path=value`` overrides."""

from __future__ import annotations

import copy
from typing import Any

from escalation_sim.errors import Problem, ScenarioError
from escalation_sim.scenario.source import Locations, PathKey, parse_yaml_text


def _drop_under(locs: Locations, path: PathKey) -> None:
    n = len(path)
    for key in [k for k in locs if k[:n] == path]:
        del locs[key]


def deep_merge(
    base: dict[str, Any], base_locs: Locations, over: dict[str, Any], over_locs: Locations
) -> tuple[dict[str, Any], Locations]:
    """Merge ``over`` onto ``base``: mappings merge key by key, anything else is replaced.

    A key set to ``null`` in ``over`` removes that key from the result, so a
    scenario can drop an actor, a weapon or a force group of its base.

    Returns:
        The merged data and the merged locations (each value located where it
        was last written).
    """
    merged = copy.deepcopy(base)
    replaced: set[PathKey] = set()  # subtrees that ``over`` wrote whole
    both: set[PathKey] = set()  # mappings present in both, merged key by key

    def walk(dst: dict[str, Any], src: dict[str, Any], path: PathKey) -> None:
        for key, value in src.items():
            here = (*path, key)
            if value is None and key in dst and path:
                del dst[key]
            elif isinstance(value, dict) and isinstance(dst.get(key), dict):
                both.add(here)
                walk(dst[key], value, here)
            else:
                dst[key] = copy.deepcopy(value)
                replaced.add(here)

    walk(merged, over, ())

    # One pass over the result: each value is located where it was last written.
    locs: Locations = {}

    def locate(node: Any, path: PathKey, from_over: bool) -> None:
        if from_over or (path in both and path in over_locs):
            where = over_locs.get(path)
        else:
            where = base_locs.get(path)
        if where is not None:
            locs[path] = where
        if isinstance(node, dict):
            for key, value in node.items():
                here = (*path, key)
                locate(value, here, from_over or here in replaced)
        elif isinstance(node, list):
            for i, value in enumerate(node):
                locate(value, (*path, i), from_over)

    locate(merged, (), False)
    return merged, locs


def _split_path(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for part in path.split("."):
        parts.append(int(part) if part.isdigit() else part)
    return parts


def _child(node: Any, part: str | int) -> Any:
    """The value under ``part``, creating a missing mapping key (``None``: cannot descend)."""
    if isinstance(node, dict) and not isinstance(part, int):
        return node.setdefault(part, {})
    if isinstance(node, list) and isinstance(part, int) and part < len(node):
        return node[part]
    return None


def _why_not(node: Any, part: str | int, child: Any) -> str:
    """Why ``--set`` cannot go through ``part`` of ``node``: what was expected instead."""
    if isinstance(node, list) and not (isinstance(part, int) and part < len(node)):
        if not node:
            return "no such item: the list is empty"
        if not isinstance(part, int):
            return f"this is a list: expected an item number (0..{len(node) - 1}), got {part!r}"
        return f"no item {part}: the list has {len(node)} item(s)"
    if isinstance(node, dict) and isinstance(part, int):
        return f"this is a mapping: expected a key name, got {part}"
    shown = type(child if isinstance(node, dict | list) else node).__name__
    return f"cannot go inside this value (a {shown}, not a mapping or list)"


#: Longest ``--set`` key path (characters, and dotted parts): the deepest scenario field has 8.
MAX_OVERRIDE_KEY_CHARS = 1_000
MAX_OVERRIDE_PARTS = 32


def apply_override(
    data: dict[str, Any], locs: Locations, assignment: str, *, source: str | None = None
) -> None:
    """Apply one ``key.path=value`` override in place; the value is read as YAML.

    Args:
        data: The merged scenario data, changed in place.
        locs: Its locations, updated so problems point at this override.
        assignment: ``key.path=value``.
        source: How to name the override in messages (default ``--set KEY.PATH``;
            ``--days`` for the horizon option), so errors name what the user typed.

    Raises:
        ScenarioError: The assignment is malformed or its path does not fit the data.
    """
    label = "--set" if source is None else source
    key, sep, raw = assignment.partition("=")
    key = key.strip()
    if len(key) > MAX_OVERRIDE_KEY_CHARS or key.count(".") >= MAX_OVERRIDE_PARTS:
        raise ScenarioError(
            [
                Problem(
                    label,
                    None,
                    "",
                    f"a key path of {len(key):,} characters and {key.count('.') + 1:,} parts; "
                    f"at most {MAX_OVERRIDE_KEY_CHARS:,} characters and {MAX_OVERRIDE_PARTS} "
                    "parts are allowed",
                )
            ]
        )
    if not sep or not key or any(not p for p in key.split(".")):
        raise ScenarioError(
            [Problem(label, None, key, f"expected KEY.PATH=VALUE, got {assignment!r}")]
        )
    where_set = f"--set {key}" if source is None else source
    value, _ = parse_yaml_text(raw, where_set)
    parts = _split_path(key)
    node: Any = data
    for i, part in enumerate(parts[:-1]):
        where = ".".join(str(p) for p in parts[: i + 1])
        created = isinstance(node, dict) and part not in node
        child = _child(node, part)
        if not isinstance(child, dict | list):
            raise ScenarioError([Problem(label, None, where, _why_not(node, part, child))])
        if created:  # a new mapping: problems inside it belong to this override
            locs[tuple(parts[: i + 1])] = (where_set, None)
        node = child
    last = parts[-1]
    if (isinstance(node, dict) and not isinstance(last, int)) or (
        isinstance(node, list) and isinstance(last, int) and last < len(node)
    ):
        node[last] = value
    else:
        raise ScenarioError([Problem(label, None, key, _why_not(node, last, None))])
    path = tuple(parts)
    _drop_under(locs, path)
    locs[path] = (where_set, None)
