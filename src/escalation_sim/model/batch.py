"""RunBatch: several runs stepped together, one phase of every run before the next phase of any.

An ensemble runs thousands of independent runs of one scenario. Stepped one
after another, each run goes through the whole schedule (fire, movement,
detection, strikes, decisions, recording) before the next run starts, so each
phase's code runs once and then waits for all the others. A batch takes each
step's phases in turn: the fire phase of every run, then the movement of every
run, and so on, so a phase's code runs several times in a row while the
processor still holds it (the likely reason for what was measured: about 5-10%
less time per run of the default scenario). Each run still goes through its
own phases in its own order, on its own state and its own random streams, so
a run in a batch gives exactly what it gives alone (``tests/test_run_batch.py``).
The gain is measured by ``benchmarks/bench_model.py`` (rows ``batchN`` against
``aloneN``, the same seeds both ways) and described in ``benchmarks/README.md``.

Mesa stays in charge of time: the batch is a :class:`mesa.Model` whose step
advances its runs, and each run's step still starts from its own time control
(``EscalationModel.start_step``: its clock, its step count, its step event); only the step's
phases wait until the batch runs them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

import mesa

from escalation_sim.model.model import EscalationModel

#: Most runs stepped together. Measured on the default scenario, the same seeds alone
#: and batched: 1.03x at 2 runs a batch, 1.05x at 4, 1.06-1.10x at 8, 1.08x at 16, and
#: 1.0-1.1x at 32 in a first prototype; 8 takes most of the gain for half the memory of 16.
MAX_BATCH_RUNS = 8
#: Most force units a batch holds, all its runs together. What a batch saves is the
#: fixed cost of a step's phases, which larger forces outweigh: at forces x10 (1,078
#: units, about 19 MB a run) a batch of 8 saved about 3%, within the noise, for 8 times
#: the memory. 1,500 lets the default scenario's runs batch by 8 (about 4 MB each) and
#: runs ten times that size run alone.
MAX_BATCH_UNITS = 1500


def batch_size(units: int) -> int:
    """Runs of ``units`` force units each to step together (1: each alone)."""
    return max(1, min(MAX_BATCH_RUNS, MAX_BATCH_UNITS // max(1, units)))


_DONE = object()


class RunBatch(mesa.Model):
    """Runs of the model stepped together, phase by phase (see the module's docstring).

    An error in one run's phase stops the batch where it is: the other runs are
    then left part-way through a step, and the batch and its runs are to be dropped.

    Args:
        runs: The runs, built and not yet stepped past each other: each step of
            the batch advances every run not yet at its horizon by one step.
    """

    def __init__(self, runs: Sequence[EscalationModel]) -> None:
        # The batch draws nothing: its own generator is seeded only so that none
        # is taken from the operating system's entropy.
        super().__init__(rng=0)
        self.runs = list(runs)

    def step(self) -> None:
        """One step of every run not yet at its horizon, phase by phase."""
        pending = [run.start_step() for run in self.runs if round(run.time) < run.n_steps]
        while pending:
            pending = [p for p in pending if next(p, _DONE) is not _DONE]

    @property
    def steps_left(self) -> int:
        """Steps until every run is at its horizon."""
        return max((run.n_steps - round(run.time) for run in self.runs), default=0)

    def run(self) -> None:
        """Run every run to its horizon, with the batch's own time control."""
        self.run_for(self.steps_left)


def run_batched(
    runs: Iterable[EscalationModel], batch_runs: int | None = None
) -> Iterator[EscalationModel]:
    """Run ``runs`` to their horizons, ``batch_runs`` at a time; yield each run once it is done.

    ``runs`` is read lazily, a batch at a time (a generator that builds each
    run keeps at most one batch in memory), and the runs come back in their
    order, a batch's runs together once the batch ends, so a caller can reduce
    and drop each before the next batch is built. ``batch_runs`` defaults to
    :func:`batch_size` of the first run's force units.
    """
    if batch_runs is not None and batch_runs < 1:
        raise ValueError(f"batch_runs must be at least 1, got {batch_runs}")
    runs = iter(runs)
    first = next(runs, None)
    if first is None:
        return
    size = batch_runs if batch_runs is not None else batch_size(first.forces.n)
    for group in itertools.batched(itertools.chain((first,), runs), size):
        batch = RunBatch(group)
        batch.run()
        yield from batch.runs


__all__ = ["MAX_BATCH_RUNS", "MAX_BATCH_UNITS", "RunBatch", "batch_size", "run_batched"]
