"""The default run's wall time, cold and warm, from a fresh clone: what a newcomer waits for after the README's install.

    python benchmarks/default_run.py                        # clone HEAD into a temporary folder, time it twice
    python benchmarks/default_run.py --commit 973607b --out /tmp/before   # the same at another commit

A clone of the current commit, or of ``--commit`` (``git clone`` of this checkout, so uncommitted edits are not
measured), runs
``python -m ecgbench run --all`` twice with this interpreter, each in a fresh process and with no ``$ECGBENCH_DATA``:
the embedded synthetic data only, as on a fresh machine. The first run starts from an empty cache folder
(``$ECGBENCH_CACHE``: beats, tsfresh features, numba's compiled functions), the second reuses what the first left
there. Writes ``default-run.md`` and ``environment.json`` (command, commit, versions, machine) into ``--out``.

This is a benchmark, not a test: it measures, it asserts nothing. Measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ecgbench.core.environment import git_commit, machine, now, versions
from ecgbench.core.io import write_json, write_text

REPO = Path(__file__).resolve().parent.parent


def timed_run(clone: Path, cache: Path, run_id: str) -> float:
    """Seconds of one ``run --all`` in the clone, in a fresh process; raises if the run fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("ECGBENCH_DATA", "PYTHONPATH")}
    env.update(ECGBENCH_CACHE=str(cache), PYTHONPATH=str(clone))
    command = [sys.executable, "-m", "ecgbench", "run", "--all", "--run-id", run_id, "--results-dir", "runs"]
    start = time.perf_counter()
    subprocess.run(command, cwd=clone, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "results" / "default-run")
    parser.add_argument("--commit", default="HEAD", help="the commit to clone and time (default: HEAD)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ecgbench-default-run-") as tmp:
        clone, cache = Path(tmp) / "clone", Path(tmp) / "cache"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        subprocess.run(["git", "-C", str(clone), "checkout", "--quiet", args.commit], check=True)
        commit = subprocess.run(
            ["git", "-C", str(clone), "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
        cold = timed_run(clone, cache, "cold")
        warm = timed_run(clone, cache, "warm")
    environment = {
        "command": shlex.join(["python", *sys.argv]),
        "at": now(),
        "measured_commit": commit,
        "benchmark_commit": git_commit(),
        "versions": versions(),
        "machine": machine(),
        "data": "the embedded SYNTHETIC data (no $ECGBENCH_DATA)",
    }
    lines = [
        "# The default run from a fresh clone",
        "",
        f"`python -m ecgbench run --all` at commit {commit[:10]} on the embedded SYNTHETIC data, machine: "
        f"{machine()['processor']}, {os.cpu_count()} CPU(s) (environment.json). Cold: an empty cache folder; warm: "
        "the cache the cold run left.",
        "",
        "| run | wall seconds |",
        "|---|---:|",
        f"| cold | {cold:.1f} |",
        f"| warm | {warm:.1f} |",
        "",
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "default-run.md", "\n".join(lines))
    write_json(args.out / "environment.json", {**environment, "cold_seconds": cold, "warm_seconds": warm})
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
