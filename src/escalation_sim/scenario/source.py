"""Reading YAML safely while remembering where each value was written.

The YAML is composed into nodes (never constructed into arbitrary objects, so a
scenario file is only ever data) and turned into plain dicts, lists and
scalars. Alongside, a map from each value's path to ``(file, line)`` lets
validation errors point at the line a user has to fix.

Whatever a file holds, reading it costs bounded time and memory: only regular
files are read (never a FIFO, a device or a directory, whatever a symlink
points to), at most :data:`MAX_FILE_BYTES` of them; a document may hold at most
:data:`MAX_VALUES` values, counted as they are parsed and again as YAML aliases
are expanded (a "billion laughs" file is refused after some tens of thousands of
values, not after filling the memory), and strings of at most
:data:`MAX_SCALAR_CHARS` characters.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

from escalation_sim.errors import Problem, ScenarioError

PathKey = tuple[str | int, ...]
Locations = dict[PathKey, tuple[str, int | None]]

#: Largest scenario, sweep or move file read (bytes); the package defaults are about 30 KB.
MAX_FILE_BYTES = 1024 * 1024
#: Most values (mappings, lists and scalars; aliases count each time they are used) in a document.
MAX_VALUES = 50_000
#: Longest string value or key (characters).
MAX_SCALAR_CHARS = 100_000

try:  # libyaml parses about four times faster; the counting composer below works on either
    from yaml._yaml import CParser as _FastParser
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    _FastParser = None


class _CountingComposer(yaml.composer.Composer):
    """Composes nodes like PyYAML's composer, refusing a document of more than ``MAX_VALUES``."""

    def __init__(self, label: str) -> None:
        yaml.composer.Composer.__init__(self)
        self._label = label
        self._nodes = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node:
        self._nodes += 1
        if self._nodes > MAX_VALUES:
            mark = self.peek_event().start_mark
            raise ScenarioError(
                [
                    Problem(
                        self._label,
                        mark.line + 1 if mark is not None else None,
                        "",
                        f"too much data: more than {MAX_VALUES:,} values (a scenario needs a "
                        "few thousand)",
                    )
                ]
            )
        return super().compose_node(parent, index)


def _compose(text: str, label: str, *, fast: bool = True) -> yaml.Node | None:
    """Compose one YAML document into nodes, counting them as they are made.

    A document libyaml rejects is parsed again by PyYAML's own parser, which
    stops at the same place and words its messages the way the docs show them.
    """
    if fast and _FastParser is not None:
        try:
            return _compose_with(_fast_loader(text, label))
        except yaml.YAMLError:
            return _compose(text, label, fast=False)
    return _compose_with(_slow_loader(text, label))


def _compose_with(loader: Any) -> yaml.Node | None:
    try:
        return loader.get_single_node()
    finally:
        loader.dispose()


def _fast_loader(text: str, label: str) -> Any:
    """A counting composer on libyaml's parser (about four times faster than PyYAML's)."""

    class FastLoader(_CountingComposer, _FastParser, yaml.resolver.Resolver):
        def __init__(self, stream: str) -> None:
            _FastParser.__init__(self, stream)
            _CountingComposer.__init__(self, label)
            yaml.resolver.Resolver.__init__(self)

    return FastLoader(text)


def _slow_loader(text: str, label: str) -> Any:
    """A counting composer on PyYAML's own parser."""

    class SlowLoader(
        yaml.reader.Reader,
        yaml.scanner.Scanner,
        yaml.parser.Parser,
        _CountingComposer,
        yaml.resolver.Resolver,
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            _CountingComposer.__init__(self, label)
            yaml.resolver.Resolver.__init__(self)

    return SlowLoader(text)


class _Budget:
    """How many more values a document may expand to (aliases count each time they are used)."""

    __slots__ = ("left",)

    def __init__(self, values: int) -> None:
        self.left = values

    def spend(self, node: yaml.Node, path: PathKey, label: str) -> None:
        self.left -= 1
        if self.left < 0:
            raise ScenarioError(
                [
                    Problem(
                        label,
                        node.start_mark.line + 1,
                        _dotted(path),
                        f"too much data: more than {MAX_VALUES:,} values once aliases are "
                        "expanded (a scenario needs a few thousand)",
                    )
                ]
            )


def _to_python(
    node: yaml.Node,
    path: PathKey,
    label: str,
    locs: Locations,
    loader: yaml.SafeLoader,
    budget: _Budget,
    open_nodes: frozenset[int] = frozenset(),
) -> Any:
    """Turn a composed node into plain data, recording each value's line.

    Scalars go through SafeLoader's constructors (ints, floats, bools, nulls,
    dates): nothing in a scenario file is ever executed. A mapping entry is
    located at its key's line (where a user looks for the field), a list item
    where it starts. Every value spends one unit of ``budget``.
    """
    budget.spend(node, path, label)
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
            out[key] = _to_python(value_node, here, label, locs, loader, budget, open_nodes)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _to_python(v, (*path, i), label, locs, loader, budget, open_nodes)
            for i, v in enumerate(node.value)
        ]
    return _construct_scalar(node, path, label, loader)


def _construct_scalar(node: yaml.Node, path: PathKey, label: str, loader: yaml.SafeLoader) -> Any:
    """Construct one scalar; a value its tag cannot read (``2024-13-45``, ``!!int x``) is an error."""
    if len(node.value) > MAX_SCALAR_CHARS:
        raise ScenarioError(
            [
                Problem(
                    label,
                    node.start_mark.line + 1,
                    _dotted(path),
                    f"a value of {len(node.value):,} characters; at most {MAX_SCALAR_CHARS:,} "
                    "are allowed",
                )
            ]
        )
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
    if len(text) > MAX_FILE_BYTES:
        raise ScenarioError([Problem(label, None, "", _too_large(len(text.encode())))])
    try:
        node = _compose(text, label)
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
        data = _to_python(node, (), label, locs, yaml.SafeLoader(""), _Budget(MAX_VALUES))
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

    Only a regular file of at most :data:`MAX_FILE_BYTES` is read; a FIFO, a
    device, a directory or a symlink to one is refused before reading.

    Args:
        path: The file to read.
        label: How to name it in messages (default: the path as given).

    Raises:
        ScenarioError: The file is missing, not a regular file, too large,
            unreadable or not valid YAML.
    """
    label = str(path) if label is None else label
    return parse_yaml_text(read_text_file(path, label), label)


def _refuse(label: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(label, None, "", message)])


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_text_file(path: str | Path, label: str | None = None) -> str:
    """The UTF-8 text of a regular input file of at most :data:`MAX_FILE_BYTES`.

    The file is opened without blocking (a FIFO swapped in after the check
    cannot hang the read) and checked again once open.

    Raises:
        ScenarioError: The file is missing, not a regular file, too large,
            unreadable or not UTF-8 text; the message never shows its content.
    """
    label = str(path) if label is None else label
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise _refuse(label, "file not found") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the name
        raise _refuse(label, f"cannot read file: {_reason(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise _refuse(label, f"cannot read file: {_kind(info.st_mode)}, not a scenario file")
    if info.st_size > MAX_FILE_BYTES:
        raise _refuse(label, _too_large(info.st_size))
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise _refuse(label, f"cannot read file: {_reason(exc)}") from None
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(handle.fileno()).st_mode
        if not stat.S_ISREG(mode):
            raise _refuse(label, f"cannot read file: {_kind(mode)}, not a scenario file")
        try:
            raw = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise _refuse(label, f"cannot read file: {_reason(exc)}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _refuse(label, _too_large(len(raw)))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(
            label, f"cannot read file: not UTF-8 text (byte {exc.start + 1} is not valid UTF-8)"
        ) from None


def _too_large(size: int) -> str:
    return (
        f"file too large: {size:,} bytes; a scenario file may be at most "
        f"{MAX_FILE_BYTES // (1024 * 1024)} MiB"
    )


def _reason(exc: BaseException) -> str:
    """An OS error's reason without repeating the file name."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)
