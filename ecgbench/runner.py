"""The runner: every (dataset, split, model, seed) cell is one idempotent unit of work.

A cell trains one model on one split and writes its predictions and metrics into its own folder; ``metrics.json``
is written last and atomically, so a cell folder with it is finished and one without it is not. Rerunning a run
(same ``--run-id``, same suite) keeps the finished cells and computes only the rest. After the cells, the run's
report is written from the cell files alone.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench import reports
from ecgbench.data import Dataset, load_dataset
from ecgbench.errors import EcgbenchError
from ecgbench.memory import PeakMemory
from ecgbench.metrics import classification_metrics, majority_baseline
from ecgbench.models import build, model_class
from ecgbench.splits import Split, make_splits, save_splits, stratified_partition
from ecgbench.suite import Suite
from ecgbench.threads import pinned

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cell:
    dataset: str
    split: str
    model: str
    seed: int

    def folder(self, run_dir: Path) -> Path:
        return reports.cell_folder(run_dir, self.dataset, self.split, self.model, self.seed)


def subsample(dataset: Dataset, max_beats: int, seed: int) -> Dataset:
    """A stratified subsample of at most ``max_beats`` beats, keeping a predefined split's sides apart."""
    if len(dataset.y) <= max_beats:
        return dataset
    rng = np.random.default_rng(seed)
    keep, _ = stratified_partition(dataset.y, 1 - max_beats / len(dataset.y), rng)
    predefined = None
    if dataset.predefined_split is not None:
        # keep is sorted, so a kept beat's new index is its position in keep
        predefined = tuple(np.searchsorted(keep, part[np.isin(part, keep)]) for part in dataset.predefined_split)
    groups = None if dataset.groups is None else dataset.groups[keep]
    context = None if dataset.context is None else dataset.context[keep]
    provenance = {**dataset.provenance, "subsample": {"max_beats": max_beats, "seed": seed}}
    return dataclasses.replace(dataset, X=dataset.X[keep], y=dataset.y[keep], groups=groups, context=context,
                               predefined_split=predefined, provenance=provenance)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def context_columns(dataset: Dataset, model_name: str) -> int:
    """How many context columns the model gets: the dataset's, where it has them and the model takes them."""
    if dataset.context is None or not model_class(model_name).uses_context:
        return 0
    return dataset.context.shape[1]


def model_input(dataset: Dataset, model_name: str) -> tuple[np.ndarray, int]:
    """The beats, followed by the dataset's context columns where the model gets them."""
    columns = context_columns(dataset, model_name)
    return (np.hstack([dataset.X, dataset.context]) if columns else dataset.X), columns


def run_cell(cell: Cell, dataset: Dataset, split: Split, params: dict, run_dir: Path, commit: str) -> dict:
    folder = cell.folder(run_dir)
    seed_everything(cell.seed)
    X, n_context = model_input(dataset, cell.model)
    model = build(cell.model, n_classes=dataset.n_classes, seed=cell.seed, n_context=n_context, **params)
    y = dataset.y
    with pinned() as threads, PeakMemory() as peak:
        start = time.perf_counter()
        model.fit(X[split.train], y[split.train], X[split.val], y[split.val])
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        proba = model.predict_proba(X[split.test])
        predict_seconds = time.perf_counter() - start
    y_pred = proba.argmax(axis=1)
    metrics = classification_metrics(y[split.test], y_pred, dataset.classes)
    metrics.update(
        dataset=cell.dataset, split=cell.split, protocol=split.protocol, model=cell.model, seed=cell.seed,
        synthetic=dataset.synthetic, classes=list(dataset.classes), params=model.params, threads=threads,
        n_train=len(split.train), n_val=len(split.val), n_test=len(split.test),
        fit_seconds=fit_seconds, predict_seconds=predict_seconds, peak_memory_mb=peak.mb, peak_memory_scope=peak.scope,
        context_features=list(dataset.context_names) if n_context else [],
        commit=commit,
        beats_per_second=len(split.test) / predict_seconds if predict_seconds > 0 else float("inf"),
        baseline_f1_macro=majority_baseline(y[split.train], y[split.test], dataset.classes)["f1_macro"],
    )
    groups = None if dataset.groups is None else dataset.groups[split.test]
    reports.write_cell(folder, split.test, y[split.test], proba, dataset.classes, metrics, groups)
    return metrics


def run_suite(suite: Suite, run_dir: Path, data_dir: Path | None, command: str) -> list[str]:
    """Run every cell of ``suite`` not yet finished in ``run_dir``; return the failed cells' descriptions."""
    manifest = reports.start_manifest(run_dir, suite, command)
    failures = []
    for dataset_name in suite.datasets:
        dataset = load_dataset(dataset_name, data_dir, **suite.params_for_dataset(dataset_name))
        if suite.max_beats:
            dataset = subsample(dataset, suite.max_beats, suite.split["seed"])
        for model_name in suite.models:  # values that depend on the data (prior_weights: one per class) fail here
            build(model_name, n_classes=dataset.n_classes, n_context=context_columns(dataset, model_name),
                  **suite.params_for_model(model_name))
        splits = make_splits(dataset, **suite.split)
        save_splits(run_dir / "splits" / f"{dataset_name}.npz", splits)
        reports.record_dataset(manifest, dataset, splits)
        label = " (SYNTHETIC)" if dataset.synthetic else ""
        log.info("dataset %s%s: %d beats %s; %s", dataset_name, label, len(dataset.y), dataset.class_counts(),
                 ", ".join(f"{s.name} split: train {len(s.train)} / val {len(s.val)} / test {len(s.test)}"
                           for s in splits))
        for split in splits:
            for model_name in suite.models:
                for seed in suite.seeds_for(model_name):
                    cell = Cell(dataset_name, split.name, model_name, seed)
                    failure = _run_or_keep(cell, dataset, split, suite.params_for_model(model_name), run_dir,
                                           manifest["commit"])
                    if failure:
                        failures.append(failure)
    reports.finish_manifest(run_dir, manifest, failures)
    reports.write_report(run_dir)
    return failures


def _run_or_keep(cell: Cell, dataset: Dataset, split: Split, params: dict, run_dir: Path,
                 commit: str) -> str | None:
    name = f"{cell.model} on {cell.dataset}/{cell.split} seed {cell.seed}"
    if reports.cell_finished(cell.folder(run_dir)):
        log.info("%s: finished earlier, kept", name)
        return None
    log.info("%s: training", name)
    start = time.monotonic()
    try:
        metrics = run_cell(cell, dataset, split, params, run_dir, commit)
    except EcgbenchError:
        raise
    except Exception as exc:  # one broken model must not cost the other cells their results
        log.error("%s failed: %s: %s", name, type(exc).__name__, exc)
        reports.write_cell_failure(cell.folder(run_dir), exc)
        return f"{name}: {type(exc).__name__}: {exc}"
    log.info("%s: accuracy %.4f, macro-F1 %.4f (%.0f s)", name, metrics["accuracy"], metrics["f1_macro"],
             time.monotonic() - start)
    return None
