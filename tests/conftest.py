"""Test-session set-up shared by every test file."""

from __future__ import annotations

import pytest


def pytest_sessionstart(session: pytest.Session) -> None:
    """Compile the model's kernels first when the cache is cold (after editing a kernel).

    Otherwise the first test to run a model would compile them, and print the
    command line's note about it into output that tests compare.
    """
    from escalation_sim.model import kernels

    kernels.compile_if_cold()


@pytest.fixture
def dask_cluster():
    """A Dask ``LocalCluster`` of 2 single-thread workers in this process, on 127.0.0.1 only."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=False,
        protocol="tcp",
        host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        yield cluster
