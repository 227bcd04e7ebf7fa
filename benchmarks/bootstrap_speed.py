"""Speed of the cluster bootstrap (``ecgbench.core.statistics``) on one core, at the size of an inter-patient test set.

    python benchmarks/bootstrap_speed.py                       # 50,000 beats, 3 seeds, 22 records, 2,000 resamples
    python benchmarks/bootstrap_speed.py --beats 100000 --seeds 5 --repeats 10

(``ecgbench`` must be importable: installed from this checkout, or ``PYTHONPATH=.`` from its root.)

Simulated labels (5 classes, MIT-BIH-like priors) and predictions (about 90 % right); the BLAS pool is limited to
one thread. Times, best and median of ``--repeats``: the patient-level bootstrap of one cell, the beat-level one,
and the paired patient-level bootstrap of two cells. Prints them and writes them, with the command, commit, versions
and machine (ecgbench.core.environment), into ``--out`` (default results/bootstrap-speed).

This is a benchmark, not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import shlex
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from ecgbench.core.environment import environment
from ecgbench.core.io import write_json, write_text
from ecgbench.core.statistics import cluster_bootstrap, paired_bootstrap

CLASSES = ("N", "S", "V", "F", "Q")


def simulate(n_beats: int, n_seeds: int, n_groups: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    groups = rng.integers(0, n_groups, n_beats)
    y_true = rng.choice(len(CLASSES), n_beats, p=[0.89, 0.03, 0.06, 0.01, 0.01])
    wrong = rng.integers(0, len(CLASSES), (n_seeds, n_beats))
    pred_a = np.where(rng.random((n_seeds, n_beats)) < 0.9, y_true, wrong)
    pred_b = np.where(rng.random((n_seeds, n_beats)) < 0.92, y_true, wrong)
    return y_true, pred_a, pred_b, groups


def timed(repeats: int, fn) -> tuple[float, float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times), statistics.median(times)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=50_000)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--groups", type=int, default=22)
    parser.add_argument("--resamples", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("results/bootstrap-speed"))
    args = parser.parse_args(argv)

    y_true, pred_a, pred_b, groups = simulate(args.beats, args.seeds, args.groups)
    cases = {
        "patient-level bootstrap, one cell": lambda: cluster_bootstrap(
            y_true, pred_a, groups, classes=CLASSES, n_resamples=args.resamples
        ),
        "beat-level bootstrap, one cell": lambda: cluster_bootstrap(
            y_true, pred_a, None, classes=CLASSES, n_resamples=args.resamples
        ),
        "paired patient-level bootstrap, two cells": lambda: paired_bootstrap(
            y_true, pred_a, pred_b, groups, classes=CLASSES, n_resamples=args.resamples
        ),
    }
    with threadpool_limits(limits=1):
        times = {name: timed(args.repeats, fn) for name, fn in cases.items()}
    env = environment()
    command = "python benchmarks/bootstrap_speed.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    machine = env["machine"]
    lines = [
        "# Bootstrap speed (simulated predictions)",
        "",
        f"- command: `{command}`",
        f"- commit: `{env['commit']}`{' (with uncommitted changes)' if env['dirty'] else ''}",
        f"- machine: {machine['processor']}, {machine['cpu_count']} CPUs, BLAS limited to 1 thread; "
        f"numpy {env['versions']['numpy']}",
        f"- case: {args.beats:,} beats, {args.seeds} seeds, {args.groups} records, {args.resamples:,} resamples; "
        f"best / median of {args.repeats}",
        "",
        "| case | best (ms) | median (ms) |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {best * 1e3:.1f} | {median * 1e3:.1f} |" for name, (best, median) in times.items()]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    seconds = {name: {"best": best, "median": median} for name, (best, median) in times.items()}
    case = {**vars(args), "out": str(args.out)}
    write_json(args.out / "bootstrap_speed.json", {**env, "command": command, "case": case, "seconds": seconds})
    write_text(args.out / "bootstrap_speed.md", text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
