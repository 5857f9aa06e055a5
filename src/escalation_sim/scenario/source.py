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
    node: yaml.Node,
    path: PathKey,
    label: str,
    locs: Locations,
    loader: yaml.SafeLoader,
    open_nodes: frozenset[int] = frozenset(),
) -> Any:
    """Turn a composed node into plain data, recording each value's line.

    Scalars go through SafeLoader's constructors (ints, floats, bools, nulls,
    dates): nothing in a scenario file is ever executed. A mapping entry is
    located at its key's line (where a user looks for the field), a list item
    where it starts.
    """
    locs.setdefault(path, (label, node.start_mark.line + 1))
    if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
        if id(node) in open_nodes:
            raise ScenarioError(
                [
                    Problem(
                        label,
                        node.start_mark.line + 1,
                        _dotted(path),
                        "an alias refers to a value that contains it (recursive data)",
                    )
                ]
            )
        open_nodes = open_nodes | {id(node)}
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
            key = _construct_scalar(key_node, path, label, loader)
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
            here = (*path, key)
            locs[here] = (label, key_node.start_mark.line + 1)
            out[key] = _to_python(value_node, here, label, locs, loader, open_nodes)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(v, (*path, i), label, locs, loader, open_nodes)
            for i, v in enumerate(node.value)
        ]
    return _construct_scalar(node, path, label, loader)


def _construct_scalar(node: yaml.Node, path: PathKey, label: str, loader: yaml.SafeLoader) -> Any:
    """Construct one scalar; a value its tag cannot read (``2024-13-45``, ``!!int x``) is an error."""
    try:
        return loader.construct_object(node)
    except yaml.constructor.ConstructorError:
        raise
    except (ValueError, TypeError, AttributeError, OverflowError) as exc:
        shown = repr(node.value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        kind = str(node.tag).rsplit(":", 1)[-1]
        detail = f" ({exc})" if isinstance(exc, ValueError) and len(str(exc)) <= 80 else ""
        raise ScenarioError(
            [
                Problem(
                    label,
                    node.start_mark.line + 1,
                    _dotted(path),
                    f"cannot read {shown} as YAML {kind}{detail}",
                )
            ]
        ) from None


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
        message = f"not valid YAML: {exc.problem}"
        if exc.context and exc.context_mark is not None and exc.context_mark is not mark:
            message += f" ({exc.context} started at line {exc.context_mark.line + 1})"
        raise ScenarioError([Problem(label, line, "", message)]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = f"character #x{exc.character:04x} is not allowed ({exc.reason})"
        if isinstance(exc.character, bytes):
            problem = f"bytes are not text in {exc.encoding} ({exc.reason})"
        raise ScenarioError([Problem(label, line, "", f"not valid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ScenarioError([Problem(label, None, "", f"not valid YAML: {first}")]) from None
    except RecursionError:
        raise ScenarioError([Problem(label, None, "", "not usable: nested too deeply")]) from None
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
    except RecursionError:
        raise ScenarioError([Problem(label, None, "", "not usable: nested too deeply")]) from None
    return data, locs


def read_yaml_file(path: str | Path, label: str | None = None) -> tuple[Any, Locations]:
    """Read a YAML file; see :func:`parse_yaml_text`.

    Args:
        path: The file to read.
        label: How to name it in messages (default: the path as given).

    Raises:
        ScenarioError: The file is missing, unreadable or not valid YAML.
    """
    label = str(path) if label is None else label
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError([Problem(label, None, "", "file not found")]) from None
    except (OSError, ValueError) as exc:  # ValueError: undecodable bytes, a NUL in the name
        raise ScenarioError([Problem(label, None, "", f"cannot read file: {exc}")]) from None
    return parse_yaml_text(text, label)
