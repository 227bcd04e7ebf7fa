"""Speed and memory benchmark: per model, fit time, prediction throughput and peak memory at growing training sizes.

    python benchmarks/speed.py                                  # 10k, 30k, 100k training beats, every model
    python benchmarks/speed.py --sizes 10000 30000 --models cnn minirocket

Beats: the real MIT-BIH beats (``mitdb-intra``, with their RR context) where the records are in the data
directory, else the embedded synthetic set (SYNTHETIC, labelled so in the output). For each training size N a
stratified sample of N beats is drawn from the beats left after a fixed 2,000-beat validation part and a fixed
5,000-beat test part. Each (model, N) measurement runs in a fresh subprocess, so that the peak resident memory
(``ecgbench.core.memory``) is that of one fit and one prediction, with the data in memory. The deep models train for a
fixed ``--epochs`` (default 2) so that their cost is comparable across sizes (early stopping would make it vary
with the data); the others run with their default parameters. Writes ``speed.csv``, ``speed.md`` and
``environment.json`` (command, commit, versions, machine, data checksum) into ``--out`` (default results/speed).

This is a benchmark, not a test: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from ecgbench.core.io import atomic_write, sha256_array, write_json, write_text
from ecgbench.data import dataset_spec, load_dataset, resolve_data_dir
from ecgbench.models import model_class, model_names
from ecgbench.models.deep import KerasModel
from ecgbench.run.splits import stratified_partition

VAL_BEATS, TEST_BEATS = 2_000, 5_000


def beats(data_dir: Path):
    name = "mitdb-intra" if dataset_spec("mitdb-intra").is_available(data_dir) else "synthetic"
    params = {} if name == "mitdb-intra" else {"n_beats": 120_000}
    dataset = load_dataset(name, data_dir, **params)
    X = dataset.X if dataset.context is None else np.hstack([dataset.X, dataset.context])
    return name, dataset, X


def parts(y: np.ndarray, size: int):
    """Fixed validation and test parts, and a stratified training sample of ``size`` beats from the rest."""
    rng = np.random.default_rng(0)
    rest, test = stratified_partition(y, TEST_BEATS / len(y), rng)
    kept, val = stratified_partition(y[rest], VAL_BEATS / len(rest), rng)
    rest, val = rest[kept], rest[val]
    if size > len(rest):
        raise SystemExit(f"error: --sizes {size} is more than the {len(rest)} beats available for training")
    if size < len(rest):
        keep, _ = stratified_partition(y[rest], 1 - size / len(rest), rng)
        rest = rest[keep]
    return rest, val, test


def measure(model: str, size: int, data_dir: Path, epochs: int) -> dict:
    """One fit and one prediction of ``model`` on ``size`` training beats (runs in its own process)."""
    from ecgbench.core.memory import PeakMemory
    from ecgbench.core.threads import pinned
    from ecgbench.models import build

    name, dataset, X = beats(data_dir)
    train, val, test = parts(dataset.y, size)
    cls = model_class(model)
    n_context = dataset.context.shape[1] if dataset.context is not None and cls.uses_context else 0
    X = X if n_context else dataset.X
    params = {"epochs": epochs, "patience": epochs} if issubclass(cls, KerasModel) else {}
    instance = build(model, n_classes=dataset.n_classes, seed=0, n_context=n_context, **params)
    with pinned() as threads, PeakMemory() as peak:
        start = time.perf_counter()
        instance.fit(X[train], dataset.y[train], X[val], dataset.y[val])
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        proba = instance.predict_proba(X[test])
        predict_seconds = time.perf_counter() - start
    return {
        "model": model,
        "train_beats": len(train),
        "fit_seconds": fit_seconds,
        "predict_beats_per_second": len(test) / predict_seconds,
        "peak_memory_mb": peak.mb,
        "peak_memory_scope": peak.scope,
        "test_accuracy": float((proba.argmax(1) == dataset.y[test]).mean()),
        "params": params,
        "threads": threads,
        "data": name,
        "synthetic": dataset.synthetic,
    }


def markdown(rows: list[dict], environment: dict, command: str) -> str:
    data = rows[0]["data"] + (" (SYNTHETIC beats: timings only, accuracy meaningless)" if rows[0]["synthetic"] else "")
    machine = environment["machine"]
    lines = [
        "# Speed and memory by training size",
        "",
        f"- command: `{command}`",
        f"- commit: `{environment['commit']}`",
        f"- machine: {machine['processor']}, {machine['cpu_count']} CPUs, {machine['accelerator']}; "
        f"{rows[0]['threads']} threads",
        f"- data: {data}; test part {TEST_BEATS:,} beats, validation {VAL_BEATS:,}",
        "- deep models: a fixed number of epochs (see `params`), so fit time is per that "
        "many epochs; the others: default parameters",
        "",
        "| model | training beats | fit (s) | fit (s) per 1k beats | predict (beats/s) | peak MB |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['train_beats']:,} | {r['fit_seconds']:.1f} | "
            f"{1000 * r['fit_seconds'] / r['train_beats']:.2f} | {r['predict_beats_per_second']:,.0f} | "
            f"{r['peak_memory_mb']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def write_outputs(out: Path, rows: list[dict], env: dict, command: str) -> None:
    import pandas as pd

    table = pd.DataFrame(rows).drop(columns=["params", "threads"])
    atomic_write(out / "speed.csv", lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
    write_text(out / "speed.md", markdown(rows, env, command))
    write_json(out / "environment.json", {**env, "rows": rows})


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 30_000, 100_000])
    parser.add_argument("--models", nargs="+", default=None, help="default: every registered model")
    parser.add_argument("--epochs", type=int, default=2, help="epochs of the deep models (default 2)")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/speed"))
    parser.add_argument("--one", nargs=2, metavar=("MODEL", "SIZE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    data_dir = resolve_data_dir(args.data_dir)
    if args.one:
        print(json.dumps(measure(args.one[0], int(args.one[1]), data_dir, args.epochs)))
        return 0
    models = args.models or model_names()
    for model in models:
        model_class(model)  # an unknown name fails here, before any work
    from ecgbench.core.environment import environment

    command = "python benchmarks/speed.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    name, dataset, _ = beats(data_dir)
    env = {**environment(), "command": command, "data": name, "data_checksum": sha256_array(dataset.X, dataset.y)}
    rows = []
    for model in models:
        for size in args.sizes:
            print(f"{model} on {size:,} beats ...", file=sys.stderr, flush=True)
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    model,
                    str(size),
                    "--epochs",
                    str(args.epochs),
                    "--data-dir",
                    str(data_dir),
                ],
                capture_output=True,
                text=True,
            )
            if child.returncode != 0:
                print(f"error: {model} on {size} beats failed:\n{child.stderr[-2000:]}", file=sys.stderr)
                return 1
            rows.append(json.loads(child.stdout.strip().splitlines()[-1]))
            r = rows[-1]
            print(
                f"  fit {r['fit_seconds']:.1f} s, {r['predict_beats_per_second']:,.0f} beats/s, "
                f"peak {r['peak_memory_mb']:,.0f} MB",
                file=sys.stderr,
                flush=True,
            )
            write_outputs(args.out, rows, env, command)  # after every measurement: an interruption keeps them
    print(f"written: {args.out / 'speed.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
