"""Compiled kernels for the step's hot phases, and the switch between them and numpy.

Each hot phase of the battlefield has two implementations that give the same
numbers bit for bit: the numpy code in the phase's own module (the reference,
and the fallback), and a loop kernel here compiled by numba. Random variates are
always drawn by numpy from the model's streams before a kernel is called, so
both paths consume the same draws. The model's ``exp``, ``expm1`` and
``log1p`` on arrays are the C library's (:mod:`escalation_sim.model.libm`),
which numba's ``math`` functions call too; float powers and sums of more than
a few terms (numpy sums pairwise) are kept out of kernels or reproduced: a
kernel takes those values computed outside, or accumulates in the order numpy
does (``bincount`` and ``cumsum`` accumulate in index order).

Kernels run when numba can be imported and ``ESCALATION_SIM_NO_NUMBA`` is not
set to ``1``; :func:`disabled` switches them off in this process (the tests
compare the two paths with it). Compiled code is cached on disk, so only the
first run on a machine pays the compilation.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# With Intel's SVML present (conda's icc_rt), numba would replace the C library's exp,
# expm1 and log1p in loops by SVML's, whose last bits differ: the kernels would no
# longer give the numpy path's numbers (escalation_sim.model.libm). Asked before numba
# is imported, since numba reads its settings then.
os.environ.setdefault("NUMBA_DISABLE_INTEL_SVML", "1")

try:  # numba is a dependency, but the numpy path must work without it
    import numba
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None

ENV_DISABLE = "ESCALATION_SIM_NO_NUMBA"


def calls_the_c_library() -> bool:
    """Whether numba's compiled ``math`` functions are the C library's (no Intel SVML).

    False when numba was imported with SVML in use before this module could switch
    it off (``NUMBA_DISABLE_INTEL_SVML``): the kernels then stay off, with a warning.
    """
    return numba is not None and not getattr(numba.config, "USING_SVML", False)


def _initially_on() -> bool:
    if numba is None or os.environ.get(ENV_DISABLE, "") == "1":
        return False
    if not calls_the_c_library():
        import warnings

        warnings.warn(
            "numba uses Intel SVML, whose exp and log differ from the C library's: "
            "escalation-sim runs its numpy code instead (set NUMBA_DISABLE_INTEL_SVML=1 "
            "before importing numba to use the kernels)",
            RuntimeWarning,
            stacklevel=2,
        )
        return False
    return True


_state = {"on": _initially_on()}


def available() -> bool:
    """Whether numba can be imported here."""
    return numba is not None


def enabled() -> bool:
    """Whether the phases use the compiled kernels now (else the numpy code)."""
    return _state["on"]


@contextmanager
def disabled() -> Iterator[None]:
    """Run the numpy path in this process for the duration (restored afterwards)."""
    before = _state["on"]
    _state["on"] = False
    try:
        yield
    finally:
        _state["on"] = before


def is_interrupt(exc: BaseException) -> bool:
    """Whether ``exc`` is Ctrl-C: a ``KeyboardInterrupt``, or one raised inside a kernel.

    A signal that arrives while compiled code runs is handled when the kernel
    returns, and Python reports it as a ``SystemError`` ("returned a result with
    an exception set") whose cause is the ``KeyboardInterrupt``, or a chain of
    such errors (one per layer of numba's own calls the signal passed through);
    whoever stops cleanly on Ctrl-C must treat them alike.
    """
    seen: set[int] = set()
    while isinstance(exc, SystemError) and exc.__cause__ is not None and id(exc) not in seen:
        seen.add(id(exc))
        exc = exc.__cause__
    return isinstance(exc, KeyboardInterrupt)


def source_digest(folder: Path | None = None) -> str:
    """A digest of every kernel module's source (this folder's ``*.py``), 12 hex digits."""
    folder = folder or Path(__file__).parent
    h = hashlib.sha256()
    for path in sorted(folder.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:12]


def cache_dir() -> Path:
    """Where numba keeps the compiled kernels: a folder named after :func:`source_digest`.

    numba re-compiles a cached kernel when the file it is written in changes,
    but not when a kernel it calls from another file does (strike resolution
    calls fire's kernels, say): that would run old machine code beside new. A
    folder per version of all the kernel sources rules that out. It sits in
    ``NUMBA_CACHE_DIR`` when that is set, else beside these modules (in
    ``__pycache__``), else in the user's cache folder.
    """
    if numba is not None and numba.config.CACHE_DIR:
        base = Path(numba.config.CACHE_DIR)
    else:
        here = Path(__file__).parent
        base = here / "__pycache__"
        if not os.access(base if base.exists() else here, os.W_OK):
            base = Path.home() / ".cache" / "escalation-sim"
    return base / f"kernels-{_DIGEST}"


def kernel[F: Callable[..., Any]](fn: F) -> F:
    """Compile ``fn`` with numba (lazily, cached on disk in :func:`cache_dir`) where available.

    Without numba the plain function is returned; the phases then never call it,
    since :func:`enabled` is false.
    """
    if numba is None:  # pragma: no cover
        return fn
    # numba fixes a function's cache folder when it is decorated: point it at ours for
    # this call only, so numba's own setting stays as the user left it.
    saved = numba.config.CACHE_DIR
    numba.config.CACHE_DIR = str(cache_dir())
    try:
        return numba.njit(cache=True, nogil=True)(fn)
    finally:
        numba.config.CACHE_DIR = saved


#: Written into :func:`cache_dir` once :func:`warm_up` has compiled (or loaded) every kernel.
WARMED = "warmed"


def cache_is_cold() -> bool:
    """Whether :func:`warm_up` has not yet run for these sources on this machine (kernels on).

    True on a machine's first run after installing (``make venv`` warms the
    cache; a plain ``pip install`` does not), when the kernels are about to be
    compiled: about a minute of silence unless the caller says so. Kernels
    compiled one by one (a run's own) do not count: a run uses some, a pool's
    workers would compile the rest each at once.
    """
    return enabled() and not (cache_dir() / WARMED).exists()


def _to_stderr(message: str) -> None:
    import sys

    print(message, file=sys.stderr, flush=True)


def compile_if_cold(say: Callable[[str], None] | None = None) -> float:
    """Compile every kernel now (:func:`warm_up`) if this machine has not, saying so first.

    Called before a command's or a notebook's first run, so that the minute it
    takes is announced, not taken for a hang, and pool workers load the
    kernels instead of each compiling them. Returns the seconds it took (0.0
    when the kernels were ready or are off).

    Args:
        say: Where the two lines go (default: standard error).
    """
    if not cache_is_cold():
        return 0.0
    say = say or _to_stderr
    say(
        "compiling the model's kernels for this machine: once, about a minute "
        f"(kept in {cache_dir()})..."
    )
    seconds = warm_up()
    say(f"compiled in {seconds:.0f} s")
    return seconds


def warm_up(days: int = 20) -> float:
    """Compile every kernel (or load it from numba's cache) by running the shipped scenarios.

    ``make venv`` calls it once after installing, so that a first run, a test or
    a pool worker finds the kernels compiled. Returns the seconds it took. Does
    nothing without numba or with the kernels off.
    """
    import time

    t0 = time.perf_counter()
    if not enabled():
        return 0.0
    for old in cache_dir().parent.glob("kernels-*"):  # machine code of earlier sources
        if old != cache_dir():
            shutil.rmtree(old, ignore_errors=True)
    _run_shipped(days)
    # A cache numba could not write either stays cold: the next process compiles again.
    with contextlib.suppress(OSError):
        (cache_dir() / WARMED).touch()
    return time.perf_counter() - t0


def load_compiled() -> bool:
    """Load every kernel's machine code from the warm cache into this process.

    For a process that forks workers (the local pool's fork server): its
    children then start with the kernels loaded instead of each loading them
    at its first run. Compiles nothing: with a cold cache (or the kernels off)
    it does nothing and returns False.
    """
    if cache_is_cold() or not enabled():
        return False
    _run_shipped(days=2)  # every kernel is called in a shipped scenario's first days
    return True


def _run_shipped(days: int) -> None:
    """Run each shipped scenario for ``days`` days, with the event log (it calls every kernel)."""
    from importlib import resources

    from escalation_sim.model.model import EscalationModel
    from escalation_sim.scenario import load_scenario

    folder = resources.files("escalation_sim") / "scenario" / "data" / "scenarios"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            with resources.as_file(entry) as path:
                model = EscalationModel(load_scenario(path), seed=0, record_events=True)
            model.run_for(days)


_DIGEST = source_digest()
