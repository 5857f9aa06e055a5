"""Start-up cost of the command line: CPU seconds of help and of the file-only commands.

Each command runs as a user runs it, ``python -m escalation_sim ARGS`` in a child
process, and is charged what that child cost (``resource.getrusage(RUSAGE_CHILDREN)``:
user + system CPU, so a loaded machine barely moves it, as it would wall time). Beside
each figure: a bare interpreter's start-up (``python -c pass``) measured in the same run,
and the command's CPU over it.

The aims: help "well under a second" (0.6 s of CPU), and the commands that read only
files (``--version``, ``validate``, ``schema``, ``params``) under 1 s. The tests check the
structural reason these stay cheap (``tests/test_cli_startup.py``: none of them imports
Mesa, matplotlib, pandas, scipy, SALib, numba or the model); the seconds are measured
here, on demand, where a slow machine cannot fail the suite.

Usage::

    .venv/bin/python benchmarks/bench_cli.py [--repeat 3] [--scenario PATH] [--out DIR]

Options:
    --repeat: runs of each command; the fastest is kept.
    --scenario: the file ``validate`` reads (the May-30 scenario by default).
    --out: directory for the CSV (``benchmarks/results/``, git-ignored).

Output: ``<out>/bench_cli_<UTC timestamp>.csv``, one row per command:

    timestamp .. machine   as every benchmark here (``benchlib.BASE_FIELDS``)
    command                the arguments after ``escalation-sim`` (``python -c pass``
                           for the bare interpreter)
    cpu_s                  fastest CPU seconds (user + system) of ``--repeat`` runs
    over_bare_python       cpu_s / the bare interpreter's cpu_s
    aim_s                  the command's CPU budget (empty for the bare interpreter)
    verdict                ``met`` or ``missed`` against aim_s
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
from pathlib import Path

import benchlib

#: Commands and their CPU budgets (s).
COMMANDS: tuple[tuple[tuple[str, ...], float], ...] = (
    (("--help",), 0.6),
    (("run", "--help"), 0.6),
    (("ensemble", "--help"), 0.6),
    (("--version",), 1.0),
    (("validate", "{scenario}"), 1.0),
    (("schema",), 1.0),
    (("params",), 1.0),
)

FIELDS = [*benchlib.BASE_FIELDS, "command", "cpu_s", "over_bare_python", "aim_s", "verdict"]


def child_cpu(argv: list[str]) -> float:
    """CPU seconds (user + system) of one child process running ``argv``; it must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=benchlib.ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def fastest(argv: list[str], repeat: int) -> float:
    """The fastest CPU seconds of ``repeat`` runs of ``argv``."""
    return min(child_cpu(argv) for _ in range(repeat))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    p.add_argument("--repeat", type=int, default=3, help="runs of each command (fastest kept)")
    p.add_argument("--scenario", type=Path, default=benchlib.DEFAULT_SCENARIO)
    p.add_argument("--out", type=Path, default=benchlib.RESULTS)
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = benchlib.started()
    base = benchlib.base_row(start)
    bare = fastest([sys.executable, "-c", "pass"], args.repeat)
    rows = [{**base, "command": "python -c pass", "cpu_s": round(bare, 3), "over_bare_python": 1.0}]
    print(f"{'command':<40}{'CPU s':>8}{'x bare':>8}{'aim s':>7}  verdict")
    print(f"{'python -c pass':<40}{bare:>8.3f}{1.0:>8.1f}")
    for words, aim in COMMANDS:
        cmd = [w.format(scenario=args.scenario) for w in words]
        cpu = fastest([sys.executable, "-m", "escalation_sim", *cmd], args.repeat)
        label = " ".join(words).replace("{scenario}", args.scenario.name)
        ok = benchlib.verdict(cpu, aim, at_most=True)
        ratio = cpu / bare if bare > 0 else float("nan")
        print(f"{label:<40}{cpu:>8.3f}{ratio:>8.1f}{aim:>7.1f}  {ok}")
        rows.append(
            {
                **base,
                "command": label,
                "cpu_s": round(cpu, 3),
                "over_bare_python": round(ratio, 2),
                "aim_s": aim,
                "verdict": ok,
            }
        )
    print(f"\nwritten: {benchlib.write_csv(args.out, 'bench_cli', start, FIELDS, rows)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
