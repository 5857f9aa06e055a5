"""Errors of experiments: unusable work directories, unreachable clusters, interruptions."""

from __future__ import annotations

from pathlib import Path


class ExperimentError(RuntimeError):
    """An experiment cannot start or finish as asked; the message says how to fix it.

    The command line prints it as ``error: <message>`` and exits with status 2.
    """


class ExperimentInputError(ExperimentError, ValueError):
    """A number given to an experiment is out of its bounds (runs, seeds, sizes)."""


class StaleWorkError(ExperimentError):
    """The work directory holds unfinished runs of a different experiment."""


class ExperimentInterrupted(KeyboardInterrupt):
    """The experiment was interrupted; finished runs are kept for a resume.

    Attributes:
        done: Runs finished and kept on disk.
        total: Runs the experiment asked for.
        workdir: Where the finished runs are kept (``None``: nothing kept).
    """

    def __init__(self, done: int, total: int, workdir: Path | None) -> None:
        self.done = done
        self.total = total
        self.workdir = workdir
        super().__init__(self.message())

    def message(self) -> str:
        """What happened and how to resume."""
        if self.workdir is None:
            return (
                f"interrupted after {self.done} of {self.total} runs; nothing was kept "
                "(give an output directory to make experiments resumable)"
            )
        return (
            f"interrupted: {self.done} of {self.total} runs are finished and kept in "
            f"{self.workdir}/; run the same command again to resume "
            "(add --restart to start over)"
        )
