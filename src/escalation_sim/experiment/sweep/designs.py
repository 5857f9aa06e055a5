"""Designs of a sweep: how each parameter varies, and the points grid, lhs, sobol and morris make.

Each design is a section of the sweep file (``design: {method: ..., ...}``)
and knows how many points it makes (:meth:`points`, without sampling, so a
size can be checked before anything is allocated) and how to sample them
(:meth:`sample`, deterministic given the seed):

* ``grid``: every combination of each parameter's ``values``, or ``steps``
  evenly spaced points of its ``range``;
* ``lhs``: a Latin hypercube of ``samples`` points;
* ``sobol``: Saltelli's scheme through SALib, ``samples`` x (D+2) points, or
  x (2D+2) with ``second_order``;
* ``morris``: ``trajectories`` x (D+1) points on a ``levels``-level grid.

A parameter with ``values`` is sampled by index in the sampling designs;
integer fields of the scenario are rounded.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

METHODS = ("grid", "lhs", "sobol", "morris")


class Strict(BaseModel):
    """A section of a sweep file: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ParameterSpec(Strict):
    """How one parameter varies: a list of ``values``, or a ``range`` [low, high]."""

    values: list[Any] | None = Field(None, min_length=1)
    range: tuple[float, float] | None = None
    steps: Annotated[int, Field(ge=2)] | None = None
    integer: bool | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> ParameterSpec:
        if (self.values is None) == (self.range is None):
            raise ValueError("give exactly one of 'values' (a list) or 'range' ([low, high])")
        if self.range is not None and not self.range[0] < self.range[1]:
            raise ValueError(f"range must be [low, high] with low < high, got {list(self.range)}")
        if self.steps is not None and self.range is None:
            raise ValueError("'steps' goes with 'range' (a list of values needs no steps)")
        return self

    @property
    def levels(self) -> int:
        """Number of grid levels."""
        return len(self.values) if self.values is not None else (self.steps or 2)


@dataclass
class Parameter:
    """A resolved parameter: its path, kind and bounds."""

    path: str
    spec: ParameterSpec
    integer: bool
    line: int | None

    @property
    def bounds(self) -> tuple[float, float]:
        """Bounds in the sampling space (index space for ``values``)."""
        if self.spec.values is not None:
            return 0.0, float(len(self.spec.values))
        lo, hi = self.spec.range  # type: ignore[misc]
        return float(lo), float(hi)

    def value(self, x: float) -> Any:
        """The scenario value for a sample ``x``."""
        if self.spec.values is not None:
            return self.spec.values[min(math.floor(float(x)), len(self.spec.values) - 1)]
        return math.floor(float(x) + 0.5) if self.integer else float(x)

    def levels(self) -> list[tuple[float, Any]]:
        """Grid levels: (sample, value) pairs."""
        if self.spec.values is not None:
            return [(float(i), v) for i, v in enumerate(self.spec.values)]
        lo, hi = self.spec.range  # type: ignore[misc]
        return [(float(x), self.value(x)) for x in np.linspace(lo, hi, self.spec.steps or 2)]


@dataclass
class Design:
    """The points of a sweep.

    Attributes:
        X: Samples as SALib sees them, one row per point.
        values: The scenario value of each parameter at each point.
        problem: SALib's problem definition.
    """

    X: np.ndarray
    values: list[dict[str, Any]]
    problem: dict[str, Any]

    @property
    def points(self) -> int:
        """Number of design points."""
        return len(self.values)


def salib_problem(params: Sequence[Parameter]) -> dict[str, Any]:
    """SALib's problem definition of the parameters."""
    return {
        "num_vars": len(params),
        "names": [p.path for p in params],
        "bounds": [list(p.bounds) for p in params],
    }


def _design(X: Any, params: Sequence[Parameter], problem: dict[str, Any]) -> Design:
    # ``problem`` is the dict SALib sampled with: it notes what it did there (sample_scaled,
    # groups), and the analysis and problem.json take it as it left it.
    values = [{p.path: p.value(x) for p, x in zip(params, row, strict=True)} for row in X]
    return Design(np.asarray(X, dtype=float), values, problem)


class GridDesign(Strict):
    """Every combination of the parameters' values (``steps`` points of each range)."""

    method: Literal["grid"]

    def points(self, parameters: Mapping[str, ParameterSpec]) -> int:
        """Number of points (the product of each parameter's levels)."""
        return math.prod(p.levels for p in parameters.values())

    def sample(self, params: Sequence[Parameter], seed: int) -> Design:
        """The grid's points, first parameter slowest."""
        combos = list(itertools.product(*[p.levels() for p in params]))
        X = np.array([[x for x, _ in c] for c in combos], dtype=float)
        values = [{p.path: v for p, (_, v) in zip(params, c, strict=True)} for c in combos]
        return Design(X.reshape(len(combos), len(params)), values, salib_problem(params))


class LhsDesign(Strict):
    """A Latin hypercube of ``samples`` points."""

    method: Literal["lhs"]
    samples: Annotated[int, Field(ge=2)]
    seed: Annotated[int, Field(ge=0)] | None = None

    def points(self, parameters: Mapping[str, ParameterSpec]) -> int:
        """Number of points (``samples``)."""
        return self.samples

    def sample(self, params: Sequence[Parameter], seed: int) -> Design:
        """SALib's Latin hypercube."""
        from SALib.sample import latin

        problem = salib_problem(params)
        return _design(latin.sample(problem, self.samples, seed=seed), params, problem)


class SobolDesign(Strict):
    """Saltelli's sampling for Sobol' indices: ``samples`` × (D+2) points (× (2D+2) with S2)."""

    method: Literal["sobol"]
    samples: Annotated[int, Field(ge=2)]
    second_order: bool = False
    seed: Annotated[int, Field(ge=0)] | None = None

    @field_validator("samples")
    @classmethod
    def _power_of_two(cls, samples: int) -> int:
        if samples & (samples - 1):
            lower = 1 << (samples.bit_length() - 1)
            raise ValueError(
                f"samples must be a power of 2 for Sobol' sequences (got {samples}; "
                f"try {lower} or {2 * lower})"
            )
        return samples

    def points(self, parameters: Mapping[str, ParameterSpec]) -> int:
        """Number of points: ``samples`` × (D+2), or × (2D+2) with second-order indices."""
        k = len(parameters)
        return self.samples * (2 * k + 2 if self.second_order else k + 2)

    def sample(self, params: Sequence[Parameter], seed: int) -> Design:
        """SALib's Saltelli sample (a scrambled Sobol' sequence)."""
        from SALib.sample import sobol

        problem = salib_problem(params)
        X = sobol.sample(problem, self.samples, calc_second_order=self.second_order, seed=seed)
        return _design(X, params, problem)


class MorrisDesign(Strict):
    """Morris trajectories: ``trajectories`` × (D+1) points on a ``levels``-level grid."""

    method: Literal["morris"]
    trajectories: Annotated[int, Field(ge=2)]
    levels: Annotated[int, Field(ge=2)] = 4
    seed: Annotated[int, Field(ge=0)] | None = None

    @field_validator("levels")
    @classmethod
    def _even_levels(cls, levels: int) -> int:
        if levels % 2:
            raise ValueError(f"levels must be even (got {levels})")
        return levels

    def points(self, parameters: Mapping[str, ParameterSpec]) -> int:
        """Number of points: ``trajectories`` × (D+1)."""
        return self.trajectories * (len(parameters) + 1)

    def sample(self, params: Sequence[Parameter], seed: int) -> Design:
        """SALib's Morris trajectories."""
        from SALib.sample import morris

        problem = salib_problem(params)
        X = morris.sample(problem, self.trajectories, num_levels=self.levels, seed=seed)
        return _design(X, params, problem)


DesignSpec = Annotated[
    GridDesign | LhsDesign | SobolDesign | MorrisDesign, Field(discriminator="method")
]

#: The design section's model of each method (for messages about unknown fields).
DESIGNS: dict[str, type[Strict]] = {
    "grid": GridDesign,
    "lhs": LhsDesign,
    "sobol": SobolDesign,
    "morris": MorrisDesign,
}
