"""Scaling benchmark: one grid of cells run serially and on a local Dask cluster, in one invocation.

    python benchmarks/scaling.py                              # 3 models x 4 seeds = 12 cells, 2 workers of 1 thread
    python benchmarks/scaling.py --workers 4 --threads 2 --seeds 0 1 2 3 4 5
    python benchmarks/scaling.py --models minirocket rocket --seeds 0 1 --quick --out /tmp/scaling   # a smoke check

The grid: the embedded SYNTHETIC dataset (``--n-beats`` beats) x ``--models`` x ``--seeds``. It runs twice into
fresh run folders under ``--out``/runs: first with the serial executor at ``--threads`` threads per cell, then
with ``--workers`` Dask worker processes of one cell at a time, each cell at ``--threads`` threads (the workers
load their own data, as on a cluster). Writes ``scaling.json`` and ``scaling.md`` into ``--out`` (default
results/scaling): both wall times, the speed-up, every cell's own time (fit + predict) under each executor, whether
the two runs' predictions are identical, and the machine (ecgbench.core.environment). Run it on a quiet machine: other
load on the cores changes the speed-up.

From a checkout, put it first on the path (``PYTHONPATH=. python benchmarks/scaling.py``); the JSON names the
ecgbench it ran. This is a benchmark, not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import sys
import time
from pathlib import Path

import ecgbench
from ecgbench.core.environment import git_commit, machine, now, versions
from ecgbench.core.io import write_json, write_text
from ecgbench.core.progress import setup_logging
from ecgbench.core.threads import set_threads
from ecgbench.run.executors import DaskExecutor, local_cluster
from ecgbench.run.store import CellKey, RunStore
from ecgbench.run.suite import Suite
from ecgbench.workflow import run_suite


def grid(args) -> Suite:
    suite = Suite(
        datasets=["synthetic"],
        models=args.models,
        seeds=args.seeds,
        dataset_params={"synthetic": {"n_beats": args.n_beats}},
    )
    if args.quick:
        suite.make_quick()
        suite.dataset_params = {}
    return suite


def timed_run(suite: Suite, folder: Path, command: str, executor=None) -> tuple[float, dict]:
    shutil.rmtree(folder, ignore_errors=True)
    start = time.perf_counter()
    failures = run_suite(suite, folder, None, command, executor)
    wall = time.perf_counter() - start
    if failures:
        raise SystemExit(f"{len(failures)} cell(s) failed in {folder}: {failures}")
    store = RunStore(folder)
    cells = {CellKey.of(c).id: c["fit_seconds"] + c["predict_seconds"] for c in store.cells()}
    return wall, cells


def identical(a: Path, b: Path, cells) -> bool:
    return all(
        (RunStore(a).predictions(CellKey.from_id(c))).equals(RunStore(b).predictions(CellKey.from_id(c))) for c in cells
    )


def markdown(result: dict) -> str:
    m, r = result["machine"], result
    lines = [
        "# Scaling: serial vs a local Dask cluster",
        "",
        f"- command: `{r['command']}`",
        f"- commit: `{r['commit']}`{' (dirty)' if r['dirty'] else ''}",
        f"- when: {r['finished']}",
        f"- machine: {m['processor']}, {m['cpu_count']} CPUs, accelerator: {m['accelerator']}; {m['platform']}",
        f"- grid: {r['cells']} cells (synthetic x {', '.join(r['models'])} x seeds {r['seeds']}"
        f"{', quick' if r['quick'] else ''}); {r['threads']} thread(s) per cell",
        f"- predictions identical between the two executors: {'yes' if r['identical'] else 'NO'}",
        "",
        "| executor | wall (s) | sum of cell times (s) | speed-up |",
        "|---|---|---|---|",
        f"| serial | {r['serial']['wall_seconds']:.1f} | {sum(r['serial']['cells'].values()):.1f} | 1.00 |",
        f"| {r['workers']} workers | {r['parallel']['wall_seconds']:.1f} | "
        f"{sum(r['parallel']['cells'].values()):.1f} | {r['speedup']:.2f} |",
        "",
        "Cell times (fit + predict, s): a cell's own time grows under the cluster where the workers compete for "
        "cores or memory bandwidth.",
        "",
        "| cell | serial | workers |",
        "|---|---|---|",
        *(f"| {c} | {r['serial']['cells'][c]:.2f} | {r['parallel']['cells'][c]:.2f} |" for c in r["serial"]["cells"]),
        "",
    ]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["minirocket", "rocket", "tsfresh-xgboost"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--n-beats", type=int, default=4000, help="synthetic beats (default 4000)")
    parser.add_argument("--quick", action="store_true", help="quick-sized cells (smoke check)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1, help="threads per cell, both executors (default 1)")
    parser.add_argument("--out", type=Path, default=Path("results/scaling"))
    args = parser.parse_args(argv)
    setup_logging()
    set_threads(args.threads)
    command = "python benchmarks/scaling.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    suite = grid(args)
    serial_wall, serial_cells = timed_run(suite, args.out / "runs" / "serial", command)
    executor = DaskExecutor(local_cluster(args.workers, args.threads), args.threads)
    parallel_wall, parallel_cells = timed_run(suite, args.out / "runs" / "workers", command, executor)
    code = git_commit()
    result = {
        "command": command,
        "finished": now(),
        **code,
        "ecgbench": str(Path(ecgbench.__file__).parent),
        "machine": machine(),
        "versions": versions(),
        "models": args.models,
        "seeds": args.seeds,
        "quick": args.quick,
        "cells": len(serial_cells),
        "workers": args.workers,
        "threads": args.threads,
        "serial": {"wall_seconds": serial_wall, "cells": serial_cells},
        "parallel": {"wall_seconds": parallel_wall, "cells": parallel_cells},
        "speedup": serial_wall / parallel_wall,
        "identical": identical(args.out / "runs" / "serial", args.out / "runs" / "workers", serial_cells),
    }
    write_json(args.out / "scaling.json", result)
    write_text(args.out / "scaling.md", markdown(result))
    print(markdown(result))
    print(f"written: {args.out / 'scaling.json'}, {args.out / 'scaling.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
