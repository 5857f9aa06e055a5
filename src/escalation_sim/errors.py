"""Errors a user can act on: each names the file, the line, the field and what was expected."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input file.

    Attributes:
        file: The file (or ``--set`` / ``package defaults``) where the value comes from.
        line: 1-based line in that file, when known.
        path: Dotted field path, e.g. ``weapons.GMLRS.range_km``.
        message: What is wrong and what was expected.
    """

    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        field = f" {self.path}:" if self.path else ""
        return _one_line(f"{where}:{field} {self.message}")


def _one_line(text: str) -> str:
    """Escape newlines and other unprintable characters (a key may hold any): one problem, one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class ScenarioError(ValueError):
    """A scenario (or sweep) file that cannot be used, with every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self.render())

    def render(self) -> str:
        """All problems, one per line."""
        return "\n".join(str(p) for p in self.problems)
