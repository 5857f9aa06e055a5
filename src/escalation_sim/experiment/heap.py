"""glibc's heap while a chunk of runs executes: large blocks reused, not mapped afresh.

Dask's nanny starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``
(``distributed.nanny.pre-spawn-environ``) so that freed memory goes back to the
operating system at once. Setting any of glibc's thresholds by hand also switches
off glibc's own adaptation of its *mmap threshold*: every block of 128 KiB or more
is then mapped with ``mmap`` when allocated and unmapped when freed, so each such
array a run makes arrives as fresh, zero-filled pages, one page fault each. A run
of the default scenario makes such arrays every step: in a Dask worker it took
about eight times the page faults of the same run in a local pool worker (785
against 80-109 per 60-day run, measured with ``getrusage``) and several times its
kernel time, on top of the model's own work.

:func:`run_heap` sets, for the duration of one task, the thresholds glibc itself
arrives at after its first large allocations (mmap threshold at its adaptive
ceiling, trim threshold twice that), and on the way out puts back the fixed values
the environment asked for and returns free memory to the system, so a shared
cluster's other work between our tasks keeps the behaviour Dask chose. Where the
environment sets no threshold (a local pool, this process) it does nothing: glibc
adapts by itself there. Heap placement never changes a number a run computes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys
import threading
from collections.abc import Iterator

#: ``mallopt`` parameters (glibc's ``malloc.h``).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: glibc's default mmap and trim thresholds (put back where the environment set only the other).
DEFAULT_MMAP_THRESHOLD = 128 * 1024
DEFAULT_TRIM_THRESHOLD = 128 * 1024
#: The ceiling of glibc's adaptive mmap threshold on 64-bit (``DEFAULT_MMAP_THRESHOLD_MAX``).
RUN_MMAP_THRESHOLD = 32 * 1024 * 1024
#: Environment variables with which glibc's thresholds are fixed by hand.
THRESHOLD_VARIABLES = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")


def _glibc() -> ctypes.CDLL | None:
    """The C library, if it is glibc (only glibc has these thresholds)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version  # noqa: B018  (musl and others lack it)
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
    except (OSError, AttributeError):
        return None
    return libc


def _fixed_by_environment() -> dict[str, int] | None:
    """The thresholds the environment fixed (``None``: none, glibc adapts by itself)."""
    found: dict[str, int] = {}
    for name in THRESHOLD_VARIABLES:
        value = os.environ.get(name)
        if value is None:
            continue
        try:
            found[name] = int(value)
        except ValueError:
            continue  # glibc ignores a value it cannot read: so do we
    return found or None


#: Tasks inside :func:`run_heap` now (a Dask worker with several threads runs several).
_active = 0
_lock = threading.Lock()


@contextlib.contextmanager
def run_heap() -> Iterator[bool]:
    """Large blocks kept for reuse while the block runs, where the environment fixed them.

    Tasks running at once in threads share the setting: the environment's values come
    back when the last of them ends.

    Yields:
        Whether the thresholds are the runs' ones (``False``: nothing to do here).
    """
    global _active
    fixed = _fixed_by_environment()
    libc = _glibc() if fixed is not None else None
    if fixed is None or libc is None:
        yield False
        return
    with _lock:
        if _active == 0:
            libc.mallopt(M_MMAP_THRESHOLD, RUN_MMAP_THRESHOLD)
            libc.mallopt(M_TRIM_THRESHOLD, 2 * RUN_MMAP_THRESHOLD)
        _active += 1
    try:
        yield True
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                libc.mallopt(
                    M_MMAP_THRESHOLD, fixed.get("MALLOC_MMAP_THRESHOLD_", DEFAULT_MMAP_THRESHOLD)
                )
                libc.mallopt(
                    M_TRIM_THRESHOLD, fixed.get("MALLOC_TRIM_THRESHOLD_", DEFAULT_TRIM_THRESHOLD)
                )
                libc.malloc_trim(0)
