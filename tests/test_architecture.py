"""Imports point down the flow of data: scenario -> model -> results -> experiment -> plots -> ... -> cli.

Each top-level part of the package has a layer; a module may import its own
part and the parts below it, never one above. Imports inside
``if TYPE_CHECKING:`` count too: a type that points up is still a back-edge.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "escalation_sim"

#: Lowest first. A part may import only parts at its own index or below.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "workers"),
    ("scenario",),
    ("model",),
    ("results",),
    ("experiment", "preload"),
    ("plots",),
    ("play",),
    ("app",),
    ("api",),
    ("cli", "__main__", "__init__"),
)
RANK = {part: i for i, parts in enumerate(LAYERS) for part in parts}


def part_of(module_path: Path, root: Path) -> str:
    """The top-level part a file belongs to: its first folder, or the module's name."""
    rel = module_path.relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def imported_parts(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, part) for every ``escalation_sim.<part>`` import in a module."""
    found = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "escalation_sim":
                names = [f"escalation_sim.{a.name}" for a in node.names]
            else:
                names = [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            bits = name.split(".")
            if bits[0] == "escalation_sim" and len(bits) > 1:
                found.append((node.lineno, bits[1]))
    return found


def back_edges(root: Path) -> list[str]:
    """Every import in the package under ``root`` that points up the layers."""
    problems = []
    for path in sorted(root.rglob("*.py")):
        here = part_of(path, root)
        if here not in RANK:
            problems.append(f"{path.relative_to(root)}: part {here!r} has no layer in LAYERS")
            continue
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for line, there in imported_parts(tree):
            if there == "__version__":
                continue
            if there not in RANK:
                problems.append(f"{path.relative_to(root)}:{line}: unknown part {there!r}")
            elif RANK[there] > RANK[here]:
                problems.append(
                    f"{path.relative_to(root)}:{line}: {here} imports {there}, which sits above it"
                )
    return problems


def test_package_imports_point_down_the_layers() -> None:
    assert back_edges(PACKAGE) == []


def test_every_part_of_the_package_has_a_layer() -> None:
    parts = {part_of(p, PACKAGE) for p in PACKAGE.rglob("*.py")}
    assert parts <= set(RANK), sorted(parts - set(RANK))


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("model/extra.py", "from escalation_sim.results import RunResult\n"),
        ("results.py", "from escalation_sim import plots\n"),
        ("scenario/extra.py", "import escalation_sim.model.forces\n"),
        (
            "model/typed.py",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from escalation_sim.experiment import ensemble\n",
        ),
    ],
)
def test_a_deliberate_back_edge_is_caught(tmp_path: Path, where: str, line: str) -> None:
    root = tmp_path / "escalation_sim"
    for path in PACKAGE.rglob("*.py"):
        dest = root / path.relative_to(PACKAGE)
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(path.read_text("utf-8"), "utf-8")
    target = root / where
    target.parent.mkdir(parents=True, exist_ok=True)
    previous = target.read_text("utf-8") if target.exists() else ""
    target.write_text(previous + "\n" + line, "utf-8")
    problems = back_edges(root)
    assert len(problems) == 1 and where in problems[0], problems
