"""What one training epoch of each deep family costs on this machine, with XLA as Keras sets it, off and forced on,
and at one and at all threads.

    python benchmarks/deep_epoch.py                          # cnn, lstm, cnn-bilstm; 34,000 training beats
    python benchmarks/deep_epoch.py --models cnn --beats 5000 --epochs 2 --out /tmp/epoch   # a smoke check

Each measurement runs in a fresh process (TensorFlow's thread pools are fixed when it starts): the registered
model, ``--beats`` training and 5,000 validation beats of random values (187 samples and 12 context columns, the
shape of mitdb-inter's beats; the values do not change the arithmetic), its default parameters, ``--epochs`` epochs
without early stopping. The first epoch includes tracing and compiling; the table reports the median of the later
ones. ``jit_compile`` is set by wrapping ``keras.Model.compile`` in the child process, so ecgbench's code is the
code measured. Writes ``deep-epoch.md`` and ``deep-epoch.json`` (command, commit, versions, machine) into ``--out``.

This is a benchmark, not a test: it measures, it asserts nothing. Measure on a quiet machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

from ecgbench.core.environment import git_commit, machine, now, versions
from ecgbench.core.io import write_json, write_text

REPO = Path(__file__).resolve().parent.parent
JIT = {"auto": "auto", "off": False, "on": True}

CHILD = """
import json, sys, time
import numpy as np
from ecgbench.core.threads import set_threads
family, jit, threads, n, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
set_threads(threads)
import keras
from ecgbench.models import build
compile_ = keras.Model.compile
def compile_with_jit(self, *args, **kwargs):
    kwargs["jit_compile"] = {"auto": "auto", "off": False, "on": True}[jit]
    return compile_(self, *args, **kwargs)
keras.Model.compile = compile_with_jit
rng = np.random.default_rng(0)
X = rng.normal(size=(n, 199)).astype(np.float32)
y = rng.integers(0, 5, n)
X_val = rng.normal(size=(5000, 199)).astype(np.float32)
y_val = rng.integers(0, 5, 5000)
model = build(family, n_classes=5, seed=0, n_context=12, epochs=epochs, patience=epochs + 1)
model.fit(X, y, X_val, y_val)
print(json.dumps([h["seconds"] for h in model.history_]))
"""


def epoch_seconds(family: str, jit: str, threads: int, beats: int, epochs: int) -> list[float]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "2"}
    argv = [sys.executable, "-c", CHILD, family, jit, str(threads), str(beats), str(epochs)]
    out = subprocess.run(argv, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["cnn", "lstm", "cnn-bilstm"])
    parser.add_argument("--beats", type=int, default=34_000, help="training beats (default 34,000: a DS1 fold)")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per measurement (default 3)")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "deep-epoch")
    args = parser.parse_args(argv)
    cpus = os.cpu_count() or 1
    settings = [("auto", cpus), ("off", cpus), ("on", cpus), ("auto", 1)]
    rows = []
    for family in args.models:
        for jit, threads in settings:
            seconds = epoch_seconds(family, jit, threads, args.beats, args.epochs)
            later = seconds[1:] or seconds
            rows.append({"model": family, "jit_compile": JIT[jit], "threads": threads, "epochs": seconds})
            print(f"{family} jit_compile={JIT[jit]!r} threads={threads}: {median(later):.1f} s an epoch", flush=True)
    record = {
        "command": shlex.join(["python", *sys.argv]),
        "at": now(),
        **git_commit(),
        "versions": versions(),
        "machine": machine(),
        "data": f"{args.beats} training and 5,000 validation beats of random values (SYNTHETIC), 12 context columns",
        "rows": rows,
    }
    lines = [
        "# One training epoch of the deep families",
        "",
        f"Machine: {machine()['processor']}, {cpus} CPU(s), no GPU (deep-epoch.json). {args.beats:,} training and "
        "5,000 validation beats of random values (SYNTHETIC: the shape of mitdb-inter's beats), default "
        "parameters (batch 128). Seconds an epoch: the median of the epochs after the first (which traces and "
        "compiles); first epoch in brackets.",
        "",
        "| model | jit_compile | threads | seconds an epoch (first) |",
        "|---|---|---:|---:|",
    ]
    for row in rows:
        later = row["epochs"][1:] or row["epochs"]
        lines.append(
            f"| {row['model']} | {row['jit_compile']!r} | {row['threads']} | "
            f"{median(later):.1f} ({row['epochs'][0]:.1f}) |"
        )
    args.out.mkdir(parents=True, exist_ok=True)
    write_text(args.out / "deep-epoch.md", "\n".join(lines) + "\n")
    write_json(args.out / "deep-epoch.json", record)
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
