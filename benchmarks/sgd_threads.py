"""ROCKET/MiniRocket's SGD logistic regression on one thread and on two: seconds an epoch and whether the weights
are the same.

    python benchmarks/sgd_threads.py                    # 20,000 beats x 10,000 features, random values
    python benchmarks/sgd_threads.py --beats 40000 --repeats 3

One epoch as ``RandomKernelModel._fit`` runs it (``SGDClassifier.partial_fit`` on mini-batches of 2,000 float32
rows, sample weights, five classes), with ``n_jobs`` 1 and 2 alternating, ``--repeats`` times each, for plain and
averaged SGD. The features are random numbers (labelled so): only the cost is measured. Writes ``sgd_threads.md``
and ``sgd_threads.json`` into ``--out`` (default results/rocket-threads/sgd). A benchmark: it asserts nothing.
Measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from ecgbench.core.environment import environment
from ecgbench.core.io import write_json, write_text


def epoch(X, y, weights, average: bool, n_jobs: int, batch: int = 2_000):
    """Seconds of one epoch of mini-batches, and the weights it ends with."""
    from sklearn.linear_model import SGDClassifier

    classifier = SGDClassifier(loss="log_loss", alpha=1e-4, average=average, random_state=0, n_jobs=n_jobs)
    start = time.perf_counter()
    for begin in range(0, len(y), batch):
        part = slice(begin, begin + batch)
        classifier.partial_fit(X[part], y[part], classes=np.arange(5), sample_weight=weights[part])
    return time.perf_counter() - start, classifier.coef_


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("results/rocket-threads/sgd"))
    args = parser.parse_args(argv)
    command = "python benchmarks/sgd_threads.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.beats, args.features), dtype=np.float32)
    y, weights = rng.integers(0, 5, args.beats), rng.random(args.beats)
    rows = []
    for average in (True, False):
        seconds, weights_by_jobs = {1: [], 2: []}, {}
        for _ in range(args.repeats):
            for n_jobs in (1, 2):
                elapsed, coef = epoch(X, y, weights, average, n_jobs)
                seconds[n_jobs].append(elapsed)
                weights_by_jobs[n_jobs] = coef
        rows.append(
            {
                "average": average,
                "seconds_one_thread": seconds[1],
                "seconds_two_threads": seconds[2],
                "speedup_of_least": min(seconds[1]) / min(seconds[2]),
                "same_weights": bool(np.array_equal(weights_by_jobs[1], weights_by_jobs[2])),
            }
        )
    result = {**environment(), "command": command, "beats": args.beats, "features": args.features, "rows": rows}
    write_json(args.out / "sgd_threads.json", result)
    write_text(args.out / "sgd_threads.md", markdown(result))
    print(f"written: {args.out / 'sgd_threads.md'}")
    return 0


def markdown(result: dict) -> str:
    lines = [
        "# ROCKET/MiniRocket's SGD on one thread and on two",
        "",
        f"- command: `{result['command']}`",
        f"- commit: `{result['commit']}`",
        f"- machine: {result['machine']['processor']}, {result['machine']['cpu_count']} CPUs",
        f"- data: {result['beats']:,} x {result['features']:,} RANDOM float32 features (only the cost is measured), "
        "five classes, mini-batches of 2,000, one epoch",
        "",
        "| SGD | one thread (s an epoch) | two threads (s an epoch) | speed-up (least against least) | same weights |",
        "|---|---|---|---:|---|",
    ]
    for r in result["rows"]:
        lines.append(
            f"| {'averaged' if r['average'] else 'plain'} | {', '.join(f'{s:.2f}' for s in r['seconds_one_thread'])} | "
            f"{', '.join(f'{s:.2f}' for s in r['seconds_two_threads'])} | {r['speedup_of_least']:.2f}x | "
            f"{'yes' if r['same_weights'] else 'NO'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
