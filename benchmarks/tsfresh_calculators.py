"""Where tsfresh-xgboost's extraction time goes: seconds per tsfresh calculator, for the features a fitted model
uses and for tsfresh's whole efficient set, on the same real beats.

    python benchmarks/tsfresh_calculators.py                # 1,000 MIT-BIH beats (mitdb-intra), one process
    python benchmarks/tsfresh_calculators.py --beats 3000 --model PATH/TO/tsfresh-xgboost/seed0/model

Each calculator is timed alone (``ecgbench.models.features.extract_chunk`` with that calculator only, in this
process, one thread): with every parameter tsfresh's ``EfficientFCParameters`` gives it, and with only the
parameters the model's columns need (``features.json``: ``tsfresh_columns``; default: the tsfresh-xgboost model
committed in ``results/mitdb-inter-models``). A call's fixed cost (the long table, tsfresh's grouping) is measured
with ``length`` alone, a calculator that computes nearly nothing, and is part of every row. The whole model set
and the whole efficient set are also timed in one call each. Writes ``tsfresh_calculators.md`` and
``tsfresh_calculators.json`` into ``--out`` (default results/tsfresh-speed). A benchmark: it measures, it asserts
nothing. Measure on a quiet machine. The model's columns and the selection's candidate columns are also timed with the
vectorised calculators (``ecgbench.models.fast_features``), which give the same values.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from ecgbench.core.environment import environment
from ecgbench.core.io import sha256_array, write_json, write_text
from ecgbench.core.threads import pinned, set_threads
from ecgbench.data import load_dataset, resolve_data_dir
from ecgbench.models import fast_features
from ecgbench.models.features import SLOW_CALCULATORS, candidate_columns, extract_chunk, feature_settings
from ecgbench.run.runner import subsample

MODEL = Path("results/mitdb-inter-models/cells/mitdb-inter/predefined/tsfresh-xgboost/seed0/model")


def seconds(X, settings: dict, repeats: int) -> float:
    """The least wall time of ``repeats`` extractions of ``settings`` from the beats ``X``."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        extract_chunk(X, settings)
        best = min(best, time.perf_counter() - start)
    return best


def vectorised_seconds(X, columns: list[str], repeats: int) -> float:
    """The least wall time of ``repeats`` computations of ``columns`` by the vectorised calculators."""
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fast_features.extract(X, columns)
        best = min(best, time.perf_counter() - start)
    return best


def main(argv=None) -> int:
    from tsfresh.feature_extraction import EfficientFCParameters
    from tsfresh.feature_extraction.settings import from_columns

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--beats", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3, help="timings per model calculator (the least is kept)")
    parser.add_argument("--model", type=Path, default=MODEL, help="a saved tsfresh-xgboost model folder")
    parser.add_argument("--data-dir", type=Path)
    parser.add_argument("--out", type=Path, default=Path("results/tsfresh-speed"))
    args = parser.parse_args(argv)
    command = "python benchmarks/tsfresh_calculators.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    columns = json.loads((args.model / "features.json").read_text(encoding="utf-8"))["tsfresh_columns"]
    model_settings = from_columns(columns)["ecg"]
    efficient = dict(EfficientFCParameters())
    X = subsample(load_dataset("mitdb-intra", resolve_data_dir(args.data_dir)), args.beats, 0).X
    set_threads(1)
    rows = []
    with pinned():
        extract_chunk(X[:10], {"length": None})  # tsfresh's imports, outside every timing
        fixed = seconds(X, {"length": None}, args.repeats)
        for name in sorted(efficient):
            print(f"{name} ...", file=sys.stderr, flush=True)
            in_model = name in model_settings
            rows.append(
                {
                    "calculator": name,
                    "left_out_of_selection": name in SLOW_CALCULATORS,
                    "model_columns": sum(c.split("__")[1] == name for c in columns),
                    "efficient_seconds": seconds(X, {name: efficient[name]}, 1),
                    "model_seconds": seconds(X, {name: model_settings[name]}, args.repeats) if in_model else None,
                }
            )
        whole_model = seconds(X, model_settings, args.repeats)
        whole_efficient = seconds(X, efficient, 1)
        candidates = candidate_columns(X, feature_settings())
        vectorised_model = vectorised_seconds(X, columns, args.repeats)
        vectorised_candidates = vectorised_seconds(X, candidates, args.repeats)
    result = {
        **environment(),
        "command": command,
        "n_beats": len(X),
        "data_checksum": sha256_array(X),
        "model": str(args.model),
        "n_model_columns": len(columns),
        "fixed_seconds": fixed,
        "whole_model_seconds": whole_model,
        "whole_efficient_seconds": whole_efficient,
        "n_candidate_columns": len(candidates),
        "vectorised_model_seconds": vectorised_model,
        "vectorised_candidate_seconds": vectorised_candidates,
        "rows": rows,
    }
    write_text(args.out / "tsfresh_calculators.md", markdown(result))
    write_json(args.out / "tsfresh_calculators.json", result)
    print(f"written: {args.out / 'tsfresh_calculators.md'}")
    return 0


def markdown(result: dict) -> str:
    per_1000 = 1000 / result["n_beats"]
    lines = [
        "# tsfresh: seconds per calculator",
        "",
        f"- command: `{result['command']}`",
        f"- commit: `{result['commit']}`",
        f"- machine: {result['machine']['processor']}, {result['machine']['cpu_count']} CPUs; one process, one thread",
        f"- data: {result['n_beats']:,} real MIT-BIH beats (mitdb-intra, stratified sample, seed 0), checksum "
        f"`{result['data_checksum'][:16]}`",
        f"- model: `{result['model']}` ({result['n_model_columns']} columns)",
        f"- a call's fixed cost (`length` alone): {result['fixed_seconds'] * per_1000:.2f} s per 1,000 beats, in "
        "every row",
        f"- the model's columns in one call: **{result['whole_model_seconds'] * per_1000:.2f} s** per 1,000 beats; "
        f"the whole efficient set in one call: **{result['whole_efficient_seconds'] * per_1000:.2f} s**",
        f"- the same columns by the vectorised calculators (`ecgbench.models.fast_features`, equal values: "
        f"tests/test_fast_features.py): the model's **{result['vectorised_model_seconds'] * per_1000:.3f} s** per "
        f"1,000 beats, all {result['n_candidate_columns']} candidate columns of the selection "
        f"**{result['vectorised_candidate_seconds'] * per_1000:.3f} s**",
        "",
        "tsfresh's seconds per 1,000 beats, slowest first by the model's cost, then by the efficient set's:",
        "",
        "| calculator | left out of the selection | model columns | model's parameters (s) | all parameters (s) |",
        "|---|---|---:|---:|---:|",
    ]
    order = sorted(result["rows"], key=lambda r: (-(r["model_seconds"] or 0), -r["efficient_seconds"]))
    for r in order:
        model = "" if r["model_seconds"] is None else f"{r['model_seconds'] * per_1000:.2f}"
        lines.append(
            f"| {r['calculator']} | {'yes' if r['left_out_of_selection'] else ''} | {r['model_columns'] or ''} | "
            f"{model} | {r['efficient_seconds'] * per_1000:.2f} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
