"""Reading YAML safely while remembering where each value was written.

The YAML is composed into nodes (never constructed into arbitrary objects, so a
scenario file is only ever data) and turned into plain dicts, lists and
scalars. Alongside, a map from each value's path to ``(file, line)`` lets
validation errors point at the line a user has to fix.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from escalation_sim.errors import Problem, ScenarioError

PathKey = tuple[str | int, ...]
Locations = dict[PathKey, tuple[str, int | None]]


def _to_python(
    node: yaml.Node, path: PathKey, label: str, locs: Locations, loader: yaml.SafeLoader
) -> Any:
    """Turn a composed node into plain data, recording each value's line.

    Scalars go through SafeLoader's constructors (ints, floats, bools, nulls,
    dates): nothing in a scenario file is ever executed.
    """
    locs[path] = (label, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError(
                    [
                        Problem(
                            label,
                            key_node.start_mark.line + 1,
                            _dotted(path),
                            "keys must be plain names",
                        )
                    ]
                )
            key = loader.construct_object(key_node)
            key = str(key) if not isinstance(key, str) else key
            if key in out:
                raise ScenarioError(
                    [
                        Problem(
                            label,
                            key_node.start_mark.line + 1,
                            _dotted((*path, key)),
                            "duplicate key (each key may appear once in a mapping)",
                        )
                    ]
                )
            out[key] = _to_python(value_node, (*path, key), label, locs, loader)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_to_python(v, (*path, i), label, locs, loader) for i, v in enumerate(node.value)]
    return loader.construct_object(node)


def _dotted(path: PathKey) -> str:
    return ".".join(str(p) for p in path)


def parse_yaml_text(text: str, label: str) -> tuple[Any, Locations]:
    """Parse YAML text into plain Python data and a map of value locations.

    Args:
        text: The YAML document.
        label: How to name the source in messages (usually the file path).

    Returns:
        The data (``None`` for an empty document) and the locations map.

    Raises:
        ScenarioError: The text is not valid YAML, or repeats a key.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError([Problem(label, line, "", f"not valid YAML: {exc.problem}")]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(label, None, "", f"not valid YAML: {exc}")]) from None
    locs: Locations = {}
    if node is None:
        return None, locs
    try:
        data = _to_python(node, (), label, locs, yaml.SafeLoader(""))
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else None
        raise ScenarioError(
            [Problem(label, line, "", f"unreadable value: {exc.problem}")]
        ) from None
    return data, locs


def read_yaml_file(path: str | Path) -> tuple[Any, Locations]:
    """Read a YAML file; see :func:`parse_yaml_text`.

    Raises:
        ScenarioError: The file is missing, unreadable or not valid YAML.
    """
    label = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(label, None, "", "file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(label, None, "", f"cannot read file: {exc}")]) from None
    return parse_yaml_text(text, label)
