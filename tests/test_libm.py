"""The model's exp, expm1 and log1p give the C library's bits, whatever SIMD numpy uses.

numpy's float64 ``exp``/``log``/``expm1``/``log1p``/``power`` take its own
AVX-512 code where the CPU has it and the C library elsewhere; the model takes
these functions from :mod:`escalation_sim.model.libm` so that a run's results
do not depend on the machine. Two scans keep it so: no such numpy function is
called in the model's code, and no array is raised to a power numpy would
vectorise (``x ** 1.7``: any exponent but 2, 0.5, -1, 1 and 0; the powers of
Python scalars are listed once read). The last tests run the model in a fresh process
with numpy's vector code switched off (``NPY_DISABLE_CPU_FEATURES``: what a
machine without AVX-512 or AVX2 runs) and require the same outputs.
"""

from __future__ import annotations

import ast
import contextlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from escalation_sim.model import kernels, libm

ROOT = Path(__file__).resolve().parents[1]
MODEL = ROOT / "src" / "escalation_sim" / "model"

FUNCTIONS = [(libm.exp, math.exp), (libm.expm1, math.expm1), (libm.log1p, math.log1p)]


def _values(rng: np.random.Generator) -> np.ndarray:
    edges = [
        0.0,
        -0.0,
        1e-300,
        -1e-300,
        5e-324,
        1e-12,
        -1e-12,
        1.0,
        -1.0,
        -0.999999999999,
        700.0,
        709.78,
        710.0,
        1e308,
        -745.2,
        -746.0,
        -1e308,
        math.inf,
        -math.inf,
        math.nan,
    ]
    return np.r_[
        edges, rng.uniform(-40, 5, 50_000), -rng.uniform(0, 1, 50_000), rng.normal(0, 1e-6, 10_000)
    ]


def _reference(f, x: np.ndarray) -> np.ndarray:
    out = []
    for v in x.tolist():
        try:
            out.append(f(v))
        except OverflowError:
            out.append(math.inf)
        except ValueError:  # log1p at or below -1
            out.append(-math.inf if v == -1.0 else math.copysign(math.nan, -1.0))
    return np.array(out)


@pytest.mark.parametrize(("ours", "theirs"), FUNCTIONS, ids=["exp", "expm1", "log1p"])
def test_both_paths_give_the_c_librarys_bits(ours, theirs) -> None:
    x = _values(np.random.default_rng(3))
    ref = _reference(theirs, x)
    with np.errstate(all="ignore"):
        fallback = None
        with kernels.disabled():
            fallback = ours(x)
        compiled = ours(x)
    np.testing.assert_array_equal(fallback.view(np.int64), ref.view(np.int64))
    if kernels.available():
        np.testing.assert_array_equal(compiled.view(np.int64), ref.view(np.int64))


def test_numba_is_kept_from_intel_svml(monkeypatch) -> None:
    """SVML would replace the C library's functions in the kernels: switched off, or kernels off."""
    assert os.environ.get("NUMBA_DISABLE_INTEL_SVML") in ("1", "true", "True", "yes")
    if not kernels.available():
        pytest.skip("numba is not installed")
    import numba

    assert kernels.calls_the_c_library() and kernels._initially_on() == kernels.enabled()
    monkeypatch.setattr(numba.config, "USING_SVML", True, raising=False)
    assert not kernels.calls_the_c_library()
    with pytest.warns(RuntimeWarning, match="SVML"):
        assert kernels._initially_on() is False


def test_run_metadata_records_what_decides_the_last_bits() -> None:
    from escalation_sim.results import run_metadata
    from escalation_sim.scenario.loader import load_scenario

    machine = run_metadata(load_scenario(ROOT / "scenarios" / f"{RUNS[0][0]}.yaml"), 0)["machine"]
    assert machine["fma"] in ("yes", "no") and machine["c_library"]
    assert machine["processor"] and machine["platform"]


@pytest.mark.parametrize("compiled", [True, False], ids=["kernels", "numpy path"])
def test_an_elements_result_does_not_depend_on_its_array(compiled) -> None:
    """What the phases rely on when they take these functions of other arrays of the same values.

    Sensor cover on slots takes fewer values than every cell; resolution takes the
    cover of the targets' cells where planning took the candidates'; the kernels
    read a cover table where numpy takes the cells shots land on (repeated, in shot
    order); perception takes the noise factor of a row of a buffer; strike
    resolution the fall-off of the track errors, not of the miss distances. Each
    value's result must be the same in any array: subsets, repeats, reorderings,
    row views, every length up to 70 and longer ones.
    """
    rng = np.random.default_rng(8)
    with contextlib.nullcontext() if compiled else kernels.disabled():
        for fn, _ in FUNCTIONS:
            for n in [*range(1, 71), 500, 7268]:
                for scale in (1e-9, 1.0, 30.0):
                    v = -np.minimum(rng.random(n) * scale, 1.0 - 1e-12)
                    whole = fn(v).view(np.int64)
                    idx = np.sort(rng.choice(n, int(rng.integers(1, n + 1)), replace=False))
                    rep = rng.integers(0, n, int(rng.integers(1, 60)))
                    order = rng.permutation(n)
                    buffer = np.zeros((3, n + 5))
                    buffer[2, :n] = v
                    for got, want in (
                        (fn(v[idx]), whole[idx]),
                        (fn(v[idx[:1]]), whole[idx[:1]]),
                        (fn(v[rep]), whole[rep]),
                        (fn(v[order]), whole[order]),
                        (fn(buffer[:, :n][2]), whole),
                    ):
                        np.testing.assert_array_equal(got.view(np.int64), want, err_msg=str(fn))


@pytest.mark.parametrize("shape", [(0,), (3, 4), (), (2, 0, 5)])
def test_shapes_are_kept(shape) -> None:
    x = np.random.default_rng(5).uniform(-1, 0, shape)
    for ours, _ in FUNCTIONS:
        out = ours(x)
        assert out.shape == np.shape(x) and out.dtype == np.float64
        with kernels.disabled():
            np.testing.assert_array_equal(ours(x), out)


def test_the_model_takes_no_dispatched_transcendental_from_numpy() -> None:
    """Every exp/log/power the model computes on arrays goes through ``libm``.

    ``np.log2`` of a power of two (``theater.lowest_bit``, rounded to an integer)
    is exact whatever the code, and is allowed.
    """
    pattern = re.compile(
        r"\bnp\.(exp|expm1|log|log1p|log10|exp2|power|float_power|tanh|"
        r"sinh|cosh|arcsin|arccos|arctan|arctan2|cbrt)\("
    )
    allowed = {("theater.py", "np.log2(")}
    found = []
    for path in sorted(MODEL.rglob("*.py")):
        for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "``" in code:  # a docstring naming what a kernel mirrors
                continue
            for m in pattern.finditer(code):
                if (path.name, m.group(0)) not in allowed:
                    found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    assert not found, "use escalation_sim.model.libm:\n" + "\n".join(found)


#: Exponents numpy computes exactly on an array, the same on every machine: ``x ** 2`` is
#: ``square``, ``** 0.5`` ``sqrt``, ``** -1`` ``reciprocal`` (its fast paths), 1 and 0 trivial.
EXACT_EXPONENTS = (0, 1, 2, -1, 0.5)

#: Powers the model takes of Python scalars (``float ** float`` calls the C library's ``pow``
#: on every machine; a numpy scalar's too) or in a kernel (numba calls the C library's
#: ``pow``, SVML kept off), by file and expression: each was read and found scalar.
SCALAR_POWERS = {
    ("agents.py", "0.5 ** (s.age_days / half)"),  # precedents' salience: Python floats
    ("agents.py", "(1.0 - (1.0 - theta) * prm.bluff_rate) ** days"),  # one actor's figures
    ("agents.py", "(1.0 - self.params.pressure_decay) ** days"),
    ("agents.py", "(1.0 - prm.pressure_decay) ** days"),
    ("agents.py", "0.5 ** (days / prm.threat_half_life_days)"),
    ("decisions/models.py", "hold ** days"),  # one probability of a Python list
    ("forces.py", "(1.0 - pb.response_prob) ** self.step_days"),  # a scenario figure
    ("forces.py", "(1.0 - p_kill) ** int(self.rf_salvoes[k])"),  # an element of .tolist()
    ("kernels/fire.py", "(1.0 - p_kill) ** float(sorties)"),  # that one, in its kernel
    ("ladder.py", "(1.0 - min(climb, 1.0)) ** days"),  # one actor's chances
    ("ladder.py", "(1.0 - min(descend, 1.0)) ** days"),
}
POWER_CALLS = ("np.power", "np.float_power", "numpy.power", "pow", "operator.pow")


def _constant(node: ast.expr) -> object:
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def _powers(source: str) -> list[tuple[int, str]]:
    """``(line, expression)`` of each power in ``source`` that numpy could vectorise.

    Every ``a ** b``, ``a **= b``, ``pow(a, b)`` and ``np.power``/``np.float_power``
    call, apart from an exponent numpy computes exactly (:data:`EXACT_EXPONENTS`)
    and integer constants (``2 ** 63``). Which operands are arrays is not known
    from the text, so scalar ones are listed in :data:`SCALAR_POWERS`.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Pow):
            base = node.left if isinstance(node, ast.BinOp) else node.target
            exponent = node.right if isinstance(node, ast.BinOp) else node.value
        elif isinstance(node, ast.Call) and ast.unparse(node.func) in POWER_CALLS:
            if len(node.args) < 2:
                continue
            base, exponent = node.args[0], node.args[1]
        else:
            continue
        power = _constant(exponent)
        if type(power) in (int, float) and power in EXACT_EXPONENTS:
            continue
        if type(power) is int and type(_constant(base)) is int:
            continue
        found.append((node.lineno, ast.unparse(node)))
    return found


def _model_powers(folder: Path) -> list[str]:
    """The vectorisable powers in the code under ``folder`` not listed as scalar."""
    out = []
    for path in sorted(folder.rglob("*.py")):
        name = path.relative_to(folder).as_posix()
        for line, expr in _powers(path.read_text("utf-8")):
            if (name, expr) not in SCALAR_POWERS:
                out.append(f"{name}:{line}: {expr}")
    return out


def test_the_model_takes_no_power_of_an_array_that_numpy_would_vectorise() -> None:
    """numpy's array ``**`` and ``np.power`` take its vector code too (``x ** 1.7``: 5 %).

    An array power with another exponent goes through ``libm`` (an ``exp`` of a
    ``log``, or the scalars in a loop); a scalar one is listed in
    :data:`SCALAR_POWERS` once read. Entries no longer in the code are listed too,
    so the list stays what the code holds.
    """
    found = _model_powers(MODEL)
    assert not found, (
        "a power numpy may vectorise: route it through escalation_sim.model.libm, or, if "
        "its operands are Python scalars, add it to SCALAR_POWERS:\n" + "\n".join(found)
    )
    present = {
        (p.relative_to(MODEL).as_posix(), expr)
        for p in MODEL.rglob("*.py")
        for _, expr in _powers(p.read_text("utf-8"))
    }
    assert present >= SCALAR_POWERS, f"no longer in the code: {sorted(SCALAR_POWERS - present)}"


PLANTED = """
import numpy as np
from numpy import power

def f(x, n, k):
    a = np.arange(3.0) ** 1.5
    b = x ** n
    x **= 0.25
    c = np.power(x, 3)
    d = np.float_power(x, k)
    e = pow(x, 1.0 / 3.0)
    g = x ** 3
    h = (x + 1.0) ** -0.5
    safe = x ** 2 + x ** 0.5 + x ** -1 + x ** 1 + x ** 0 + 10 ** 9 + 2 ** 63 + np.power(x, 2)
    return a, b, c, d, e, g, h, safe
"""


def test_the_power_scan_finds_each_kind_of_planted_power(tmp_path: Path) -> None:
    found = sorted(expr for _, expr in _powers(PLANTED))
    assert found == sorted(
        [
            "np.arange(3.0) ** 1.5",
            "x ** n",
            "x **= 0.25",
            "np.power(x, 3)",
            "np.float_power(x, k)",
            "pow(x, 1.0 / 3.0)",
            "x ** 3",
            "(x + 1.0) ** (-0.5)",
        ]
    )
    (tmp_path / "kernels").mkdir()
    (tmp_path / "kernels" / "planted.py").write_text(PLANTED, "utf-8")
    (tmp_path / "clean.py").write_text("y = 2.0 ** 0.5\n", "utf-8")
    assert len(_model_powers(tmp_path)) == 8
    assert all(line.startswith("kernels/planted.py:") for line in _model_powers(tmp_path))


_POWER = """
import hashlib, numpy as np
x = np.random.default_rng(1).uniform(0, 1, 200_000)
print(hashlib.sha256((x ** 1.7).tobytes()).hexdigest())
print(hashlib.sha256(np.array([v ** 1.7 for v in x.tolist()]).tobytes()).hexdigest())
"""


def test_numpys_array_power_depends_on_its_vector_code() -> None:
    """Why the scan above exists: ``x ** 1.7`` on an array is the C library's only without it."""
    plain = _numpy_without_vector_code()
    vector = dict(os.environ)
    vector.pop("NPY_DISABLE_CPU_FEATURES", None)
    (a_vec, c_vec), (a_plain, c_plain) = [
        subprocess.run(
            [sys.executable, "-c", _POWER], capture_output=True, text=True, env=e, timeout=120,
            check=True,
        ).stdout.split()
        for e in (vector, plain)
    ]  # fmt: skip
    assert c_vec == c_plain == a_plain  # the C library's pow, and numpy's baseline loop
    from numpy._core._multiarray_umath import __cpu_features__

    if __cpu_features__.get("AVX512_SKX"):  # numpy's own pow is AVX-512 code
        assert a_vec != c_vec


def _numpy_without_vector_code() -> dict[str, str]:
    """The environment of a process whose numpy runs only its baseline code."""
    from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__

    present = [t for t in __cpu_dispatch__ if __cpu_features__.get(t)]
    if not present:
        pytest.skip("numpy dispatches no vector code on this CPU: it runs the baseline already")
    return {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(present)}


_DIGESTS = """
import hashlib, json, sys, tempfile
from pathlib import Path
from escalation_sim import run, write_run
out = {}
for name, seed in json.loads(sys.argv[1]):
    result = run(Path(sys.argv[2]) / "scenarios" / f"{name}.yaml", seed=seed, days=60)
    with tempfile.TemporaryDirectory() as tmp:
        d = write_run(result, Path(tmp) / "run", plot=False)
        out[f"{name}@{seed}"] = {f: hashlib.sha256((d / f).read_bytes()).hexdigest()
                                 for f in ("timeseries.csv", "events.jsonl", "summary.json")}
print(json.dumps(out))
"""

#: Runs whose outputs changed with numpy's vector code before the model used ``libm``.
RUNS = [("may30_kharkiv_counterfire", 0), ("adaptive_policy", 0), ("us_widening_schedule", 7)]


def _digests(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _DIGESTS, json.dumps(RUNS), str(ROOT)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(
    "numba_off", ["0", pytest.param("1", marks=pytest.mark.slow)], ids=["kernels", "numpy path"]
)
def test_runs_are_the_same_without_numpys_vector_code(numba_off) -> None:
    plain = _numpy_without_vector_code()
    vector = {**os.environ, kernels.ENV_DISABLE: numba_off}
    vector.pop("NPY_DISABLE_CPU_FEATURES", None)
    assert _digests({**plain, kernels.ENV_DISABLE: numba_off}) == _digests(vector)


_KEPT = """
import hashlib, numpy as np
rng = np.random.default_rng(11)
x, y = rng.uniform(-50, 50, 100_000), rng.uniform(0.01, 500, 100_000)
for f in (np.hypot(x, y), np.sqrt(y), np.sin(x), np.cos(x), np.cumsum(x), np.sum(x) + 0 * x,
          np.bincount(rng.integers(0, 50, 100_000), weights=x)):
    print(hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest())
"""


def test_the_numpy_functions_the_model_keeps_do_not_depend_on_vector_code() -> None:
    """``hypot``, ``sqrt``, ``sin``, ``cos``, sums and ``bincount`` give the same bits either way."""
    plain = _numpy_without_vector_code()
    vector = dict(os.environ)
    vector.pop("NPY_DISABLE_CPU_FEATURES", None)
    runs = [
        subprocess.run(
            [sys.executable, "-c", _KEPT],
            capture_output=True,
            text=True,
            env=e,
            timeout=120,
            check=True,
        ).stdout
        for e in (plain, vector)
    ]
    assert runs[0] == runs[1] and runs[0].count("\n") == 7
