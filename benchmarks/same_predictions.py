"""Whether two runs' cells predicted the same: cell by cell, the predicted labels, the stored probabilities and the
scores of ``results.csv``.

    python benchmarks/same_predictions.py results/mitdb-inter /tmp/rerun/mitdb-inter --out results/some/folder

A change meant to keep every reference score (a faster extraction, a new executor) is checked by rerunning the
reference suite's cells at the new commit and comparing them with the committed run. Cells are matched by their
path under ``cells/`` (dataset, split, model, seed); only cells present in both runs are compared. Probabilities
are stored quantised (``docs/results-format.md``), so they are compared in those stored units. Writes
``same_predictions.md`` and ``same_predictions.json`` into ``--out``. It reads the runs; it runs nothing.
"""

from __future__ import annotations

import argparse
import csv
import shlex
import sys
from pathlib import Path

import numpy as np

from ecgbench.core.environment import environment
from ecgbench.core.io import write_json, write_text

# results.csv columns that describe the process, not what it predicted
NOT_SCORES = {
    "run_id",
    "commit",
    "schema_version",
    "fit_seconds",
    "predict_seconds",
    "beats_per_second",
    "peak_memory_mb",
}


def cells(run: Path) -> dict[str, Path]:
    return {str(p.parent.relative_to(run / "cells")): p for p in sorted((run / "cells").rglob("predictions.parquet"))}


def scores(run: Path) -> dict[tuple, dict]:
    with open(run / "results.csv", newline="", encoding="utf-8") as f:
        return {(r["dataset"], r["split"], r["model"], r["seed"]): r for r in csv.DictReader(f)}


def differing_scores(a: dict, b: dict) -> list[str] | None:
    """The score columns on which two rows of results.csv differ; None where a run has no row for the cell."""
    if not (a and b):
        return None
    return sorted(k for k in a if k not in NOT_SCORES and k in b and a[k] != b[k])


def compare_cell(a: Path, b: Path) -> dict:
    import pandas as pd

    left, right = pd.read_parquet(a), pd.read_parquet(b)
    if len(left) != len(right) or not np.array_equal(left["index"], right["index"]):
        return {"beats": len(left), "same_beats": False}
    proba = [c for c in left.columns if c.startswith("p_") and c in right.columns]
    steps = np.abs(left[proba].to_numpy(np.int64) - right[proba].to_numpy(np.int64))
    return {
        "beats": len(left),
        "same_beats": True,
        "labels_differ": int((left["y_pred"].to_numpy() != right["y_pred"].to_numpy()).sum()),
        "proba_max_steps": int(steps.max()) if steps.size else 0,
        "beats_with_proba_differences": int((steps > 0).any(axis=1).sum()),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    command = "python benchmarks/same_predictions.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    left, right = cells(args.run_a), cells(args.run_b)
    scores_a, scores_b = scores(args.run_a), scores(args.run_b)
    rows = []
    for cell in sorted(set(left) & set(right)):
        row = {"cell": cell, **compare_cell(left[cell], right[cell])}
        dataset, split, model, seed = cell.split("/")
        key = (dataset, split, model, seed.removeprefix("seed"))
        a, b = scores_a.get(key, {}), scores_b.get(key, {})
        row["scores_differ"] = differing_scores(a, b)
        rows.append(row)
    result = {**environment(), "command": command, "run_a": str(args.run_a), "run_b": str(args.run_b), "cells": rows}
    write_json(args.out / "same_predictions.json", result)
    write_text(args.out / "same_predictions.md", markdown(result))
    print(f"written: {args.out / 'same_predictions.md'}")
    return 0


def markdown(result: dict) -> str:
    lines = [
        "# Same predictions?",
        "",
        f"- command: `{result['command']}`",
        f"- commit: `{result['commit']}`",
        f"- `{result['run_a']}` against `{result['run_b']}`; probabilities in their stored units (1/65535)",
        "",
        "| cell | beats | labels that differ | beats whose probabilities differ | largest difference (units) "
        "| scores that differ |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in result["cells"]:
        if not r["same_beats"]:
            lines.append(f"| {r['cell']} | {r['beats']} | not the same test beats | | | |")
            continue
        lines.append(
            f"| {r['cell']} | {r['beats']:,} | {r['labels_differ']} | {r['beats_with_proba_differences']} | "
            f"{r['proba_max_steps']} | {differing(r['scores_differ'])} |"
        )
    return "\n".join(lines) + "\n"


def differing(names: list[str] | None) -> str:
    return "no scores row" if names is None else ", ".join(names) or "none"


if __name__ == "__main__":
    sys.exit(main())
