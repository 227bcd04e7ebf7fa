"""``compare``: two runs side by side over the (dataset, model) pairs they share (or two models of one run): the
means per metric, and the evidence — paired patient-level bootstrap differences B − A with Holm-corrected verdicts,
McNemar's exact test beside them for every seed — where both sides scored the same test beats."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.reports.evidence import (
    N_RESAMPLES,
    VERDICT_NOTE,
    fmt,
    intervals,
    mcnemar,
    paired_table,
    paired_with_binary,
    seed_pairs,
    shown_metrics,
    unit_text,
)
from ecgbench.reports.results import BINARY_COLUMNS, SCORE_COLUMNS, proven_results
from ecgbench.reports.view import Pooled, RunView


def compare_runs(run_a: RunView, run_b: RunView) -> pd.DataFrame:
    """Long table (dataset, model, metric, A, B, difference) over the (dataset, model) pairs both runs share.

    Seeds and folds are averaged first, so runs with different seeds still compare.
    """
    tables = []
    for run in (run_a, run_b):
        table = proven_results(run)  # the cells' proven numbers, never results.csv as written
        metrics = [
            c
            for c in table.columns
            if c in SCORE_COLUMNS
            or c.startswith("f1_")
            and c not in SCORE_COLUMNS
            or c in BINARY_COLUMNS
            or c in ("fit_seconds", "beats_per_second")
        ]
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
                rows.append(
                    {"dataset": dataset, "model": model, "metric": metric, "a": va, "b": vb, "difference": vb - va}
                )
    return pd.DataFrame(rows)


def comparison_markdown(diff: pd.DataFrame, name_a: str, name_b: str) -> str:
    lines = [f"# ecgbench: `{name_a}` (A) vs `{name_b}` (B)", "", "Means over seeds and folds; difference = B − A.", ""]
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


# ---- evidence: paired patient-level differences ---------------------------------------------------------------------


def comparison_pairs(
    run_a: RunView, run_b: RunView, model_a: str | None = None, model_b: str | None = None
) -> list[tuple[str, str, str]]:
    """(dataset, model of A, model of B): every shared (dataset, model) pair, or with ``model_a`` and ``model_b``
    those two models on every dataset where A has the one and B the other."""
    cells_a = {(c["dataset"], c["model"]) for c in run_a.cells}
    cells_b = {(c["dataset"], c["model"]) for c in run_b.cells}
    if model_a or model_b:
        if not (model_a and model_b):
            raise EcgbenchError("--model-a and --model-b go together")
        pairs = [(d, model_a, model_b) for d, m in sorted(cells_a) if m == model_a and (d, model_b) in cells_b]
        if not pairs:
            raise EcgbenchError(
                f"no dataset on which {run_a.root.name} has {model_a} and {run_b.root.name} has {model_b}"
            )
        return pairs
    pairs = [(d, m, m) for d, m in sorted(cells_a & cells_b)]
    if not pairs:
        raise EcgbenchError(f"{run_a.root.name} and {run_b.root.name} share no (dataset, model) pair to compare")
    return pairs


def pairing(run_a: RunView, run_b: RunView, dataset: str, a: Pooled, b: Pooled) -> tuple[bool, str]:
    """Whether A and B scored the same test beats, and what that rests on (or why they are not paired)."""
    if run_a.root.resolve() != run_b.root.resolve():
        splits_a, splits_b = sorted(a.beats["split"].unique()), sorted(b.beats["split"].unique())
        if splits_a != splits_b:
            return False, f"the runs score different splits ({', '.join(splits_a)} vs {', '.join(splits_b)})"
        for split in splits_a:
            tests = [run.store.load_split(dataset, split, run.manifest)["test"] for run in (run_a, run_b)]
            if not np.array_equal(*tests):
                return False, (
                    f"the saved test indices of split {split} differ (another split seed or other data): "
                    "not the same test beats"
                )
        fingerprints = [run.dataset_info(dataset).fingerprint for run in (run_a, run_b)]
        if all(fingerprints) and fingerprints[0] != fingerprints[1]:
            return False, "the datasets' fingerprints differ: the same indices name other beats"
    else:
        fingerprints = ["same run", "same run"]
    if not a.same_beats(b):
        return False, "the predictions' test beats (index, y_true) differ"
    if not all(fingerprints):
        return True, (
            "paired on the same saved test indices; a run lacks the data fingerprint (converted from an "
            "older schema), so the predictions' index and y_true columns were compared instead, and agree"
        )
    return True, "paired: same saved test indices and data fingerprint" if fingerprints[
        0
    ] != "same run" else "paired: two models of one run, on the same test beats"


def mcnemar_seeds_text(a: Pooled, b: Pooled) -> str:
    """Which seeds McNemar's test compares, and which seeds it leaves out (those without a counterpart)."""
    pairs = seed_pairs(a, b)
    tested = ", ".join(f"{x}" if x == y else f"A {x} / B {y}" for x, y in pairs)
    untested = [
        (side, [s for s in g.seeds if s not in {pair[i] for pair in pairs}])
        for i, (side, g) in enumerate((("A", a), ("B", b)))
    ]
    left = "; ".join(f"{side}'s {', '.join(map(str, seeds))}" for side, seeds in untested if seeds)
    return f"McNemar per seed: {tested}" + (f" (seeds without a counterpart, not tested: {left})" if left else "")


def evidence_markdown(run_a: RunView, run_b: RunView, pairs: list[tuple[str, str, str]]) -> list[str]:
    """Per dataset, the paired differences B − A (patient-level bootstrap, McNemar beside, Holm-corrected verdicts
    over the rows shown); pairs that did not score the same beats get each side's own interval and the reason."""
    paired_rows, unpaired, notes, metrics = [], [], [], []
    for dataset, model_a, model_b in pairs:
        a, b = run_a.pooled(dataset, model_a), run_b.pooled(dataset, model_b)
        ok, why = pairing(run_a, run_b, dataset, a, b)
        label = f"{dataset}: {model_a}" if model_a == model_b else f"{dataset}: {model_a} (A) vs {model_b} (B)"
        notes.append(
            f"- {label}: {why}; resampling {a.unit}s ({unit_text(a)}); seeds A {len(a.seeds)}, "
            f"B {len(b.seeds)}" + (f"; {mcnemar_seeds_text(a, b)}" if ok else "")
        )
        if ok:
            result, shown = paired_with_binary(a, b)  # two classes: sensitivity, specificity, ROC AUC too
            paired_rows.append((label, a.unit, result, mcnemar(a, b)))
            metrics += [m for m in shown if m not in metrics]  # datasets of other classes: each row its own
        else:
            unpaired.append((label, a, b))
    lines = ["## Evidence: differences B − A", "", *notes, ""]
    if paired_rows:
        lines += [
            f"Paired bootstrap over the same resampled patients (or beats), {N_RESAMPLES:,} resamples, "
            "95% percentile interval of B − A; with several seeds each side is its mean over seeds.",
            "",
            *paired_table(paired_rows, metrics),
            "",
            VERDICT_NOTE,
            "",
        ]
    if unpaired:
        lines += [
            "Not paired (see why above): each side's own interval; overlapping intervals do not show that "
            "there is no difference, nor do disjoint ones test it.",
            "",
            "| comparison | metric | A [95% interval] | B [95% interval] |",
            "|---|---|---|---|",
        ]
        for label, a, b in unpaired:
            ia, ib = intervals(a), intervals(b)
            for name, heading in shown_metrics(a.classes):
                lines.append(f"| {label} | {heading} | {fmt(ia[name])} | {fmt(ib[name])} |")
        lines.append("")
    return lines
