"""``compare``: two runs side by side, metric by metric, over the (dataset, model) pairs they share."""

from __future__ import annotations

import pandas as pd

from ecgbench.errors import EcgbenchError
from ecgbench.reports import SCORE_COLUMNS
from ecgbench.store import RunStore


def compare_runs(run_a: RunStore, run_b: RunStore) -> pd.DataFrame:
    """Long table (dataset, model, metric, A, B, difference) over the (dataset, model) pairs both runs share.

    Seeds and folds are averaged first, so runs with different seeds still compare.
    """
    tables = []
    for run in (run_a, run_b):
        table = run.read_results()
        metrics = [c for c in table.columns if c in SCORE_COLUMNS or c.startswith("f1_") and c not in SCORE_COLUMNS
                   or c in ("fit_seconds", "beats_per_second")]
        tables.append(table.groupby(["dataset", "model"], sort=False)[metrics].mean())
    a, b = tables
    shared = a.index.intersection(b.index)
    if shared.empty:
        raise EcgbenchError(f"{run_a.root.name} and {run_b.root.name} share no (dataset, model) pair to compare")
    rows = []
    for dataset, model in shared:
        for metric in a.columns.intersection(b.columns):
            va, vb = a.loc[(dataset, model), metric], b.loc[(dataset, model), metric]
            if pd.notna(va) or pd.notna(vb):
                rows.append({"dataset": dataset, "model": model, "metric": metric, "a": va, "b": vb,
                             "difference": vb - va})
    return pd.DataFrame(rows)


def comparison_markdown(diff: pd.DataFrame, name_a: str, name_b: str) -> str:
    lines = [f"# ecgbench: `{name_a}` (A) vs `{name_b}` (B)", "",
             "Means over seeds and folds; difference = B − A.", ""]
    for dataset, rows in diff.groupby("dataset", sort=False):
        lines += [f"## {dataset}", "", "| model | metric | A | B | B − A |", "|---|---|---|---|---|"]
        for r in rows.itertuples():
            lines.append(f"| {r.model} | {r.metric} | {_fmt(r.a)} | {_fmt(r.b)} | {_fmt(r.difference, sign=True)} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value: float, sign: bool = False) -> str:
    if pd.isna(value):
        return "–"
    text = f"{value:+.4f}" if sign else f"{value:.4f}"
    return text if abs(value) < 1000 else (f"{value:+,.0f}" if sign else f"{value:,.0f}")
