"""The flat table of a run: one row per finished cell (``results.csv``; columns in docs/results-format.md), as
the summary writes it and as ``compare`` and the leaderboard read it (:func:`proven_results`)."""

from __future__ import annotations

import io
import logging

import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.reports.view import RunView
from ecgbench.run.store import RESULTS_FLOAT_FORMAT, SCHEMA_VERSION

log = logging.getLogger(__name__)

SCORE_COLUMNS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")
COST_COLUMNS = ("fit_seconds", "predict_seconds", "beats_per_second", "peak_memory_mb")
BINARY_COLUMNS = ("sensitivity", "specificity", "roc_auc")  # class 1 (abnormal) is the positive class


def flat_row(cell: dict) -> dict:
    row = {
        key: cell[key]
        for key in ("dataset", "synthetic", "split", "protocol", "model", "seed", "n_train", "n_val", "n_test")
    }
    row.update({key: cell[key] for key in SCORE_COLUMNS})
    for name, scores in cell["per_class"].items():
        row.update({f"{metric}_{name}": scores[metric] for metric in ("precision", "recall", "f1", "support")})
    row.update({key: cell[key] for key in (*COST_COLUMNS, "baseline_f1_macro", "commit")})
    row.update({key: cell[key] for key in BINARY_COLUMNS if key in cell})  # two-class datasets only
    return row


def results_table(cells: list[dict], run_id: str) -> pd.DataFrame:
    table = pd.DataFrame([flat_row(c) for c in cells])
    table.insert(0, "run_id", run_id)
    return table


def proven_results(view: RunView) -> pd.DataFrame:
    """The run's flat table as readers use it (``compare``'s means, the leaderboard): rebuilt from the cells that
    their predictions prove (:attr:`RunView.cells <ecgbench.reports.view.RunView.cells>`), never taken from
    ``results.csv`` as written. A results.csv that is damaged is named (:meth:`RunStore.read_results`); one that
    disagrees with the cells (altered, or stale beside a cell left out) gets a warning, and its numbers are not
    used."""
    store = view.store
    on_disk = store.read_results()
    partial = view.manifest.partial_report
    if partial:
        log.warning(
            "%s holds a PARTIAL report (finish --partial): %d of %d cells finished",
            store.root,
            partial["finished_cells"],
            partial["planned_cells"],
        )
    cells = view.cells
    if not cells:
        raise EcgbenchError(f"{store.root} holds no finished cell that its predictions prove (see the warnings)")
    table = results_table(cells, store.root.name).assign(schema_version=SCHEMA_VERSION)
    # through the CSV text, as results.csv holds it, so that means match those of the written report exactly
    table = pd.read_csv(io.StringIO(table.to_csv(index=False, float_format=RESULTS_FLOAT_FORMAT)))
    if not table.equals(on_disk):
        log.warning(
            "%s does not match the run's cells (altered, or stale beside a cell left out): its numbers are "
            "not used, the cells' are; `python -m ecgbench upgrade %s` rewrites it",
            store.results_path,
            store.root,
        )
    return table
