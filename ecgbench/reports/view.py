"""One finished run as every report reads it: :class:`RunView`.

The summary, the evidence, ``compare``, the leaderboard, the rescoring commands and the gallery read a run only
through a view: its manifest is read once, its finished cells are listed and proven once
(:meth:`~ecgbench.run.store.RunStore.cells` reads and hashes every predictions file), each predictions file is read
once, and :meth:`RunView.pooled` pools one (dataset, model) over its splits and seeds once, however many report
sections ask for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import Evaluation
from ecgbench.data import CONDITION
from ecgbench.run.records import DatasetRecord, Manifest
from ecgbench.run.store import CellKey, RunStore

BEAT_KEY = ["split", "index", "y_true"]  # what makes two pooled predictions predictions of the same beats


@dataclass(frozen=True)
class Pooled:
    """One (dataset, model) of a run: the test beats of all its splits pooled (each split's beats predicted by that
    split's model), sorted by split then index, and every seed's predictions of them: the ``(n_seeds, n)`` array of
    :func:`~ecgbench.core.statistics.cluster_bootstrap`. The resampling unit is the record (patient) where the
    predictions carry record ids, else the beat."""

    dataset: str
    model: str
    beats: pd.DataFrame  # one row per pooled test beat: split, index, y_true and every other per-beat column saved
    # (group: the record id; the dataset's columns, such as sample and condition)
    y_pred: np.ndarray  # (n_seeds, n)
    proba: np.ndarray  # (n_seeds, n, n_classes), as read from the stored steps (float64)
    classes: tuple[str, ...]
    seeds: tuple[int, ...]
    dropped_seeds: tuple[int, ...] = ()  # seeds that did not cover the same beats as the first (left out)

    @cached_property
    def y_true(self) -> np.ndarray:
        return self.beats["y_true"].to_numpy(dtype=np.int64)

    @cached_property
    def groups(self) -> np.ndarray | None:
        """Record ids as text (ties sort as text), or None: resample beats."""
        return self.beats["group"].astype(str).to_numpy() if "group" in self.beats else None

    @cached_property
    def conditions(self) -> np.ndarray | None:
        """The noise track's condition of each beat, as text, or None."""
        return self.beats[CONDITION].to_numpy().astype(str) if CONDITION in self.beats else None

    @property
    def scores(self) -> np.ndarray | None:
        """Two classes: the ``(n_seeds, n)`` probabilities of class 1 (for the ROC AUC); else None."""
        return self.proba[:, :, 1].astype(np.float64) if len(self.classes) == 2 else None

    def probabilities(self, seed: int) -> np.ndarray:
        """One seed's ``(n, n_classes)`` probabilities, as float64."""
        return self.proba[self.seeds.index(seed)].astype(np.float64)

    @property
    def unit(self) -> str:
        return "patient" if "group" in self.beats else "beat"

    @property
    def n_units(self) -> int:
        return len(np.unique(self.groups)) if "group" in self.beats else len(self.beats)

    def same_beats(self, other: Pooled) -> bool:
        return self.beats[BEAT_KEY].equals(other.beats[BEAT_KEY])


class RunView:
    """A finished run, read once (module docstring). ``manifest``: the one the caller is about to write, where it
    differs from the stored one (the workflow writes the report before it marks the run finished)."""

    def __init__(self, store: RunStore, manifest: Manifest | None = None):
        self.store = store
        self._manifest = manifest
        self._cells: list[dict] | None = None
        self._predictions: dict[CellKey, pd.DataFrame] = {}
        self._pooled: dict[tuple[str, str], Pooled] = {}

    @property
    def root(self):
        return self.store.root

    # ---- the manifest: read through these accessors only ---------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        if self._manifest is None:
            self._manifest = self.store.read_manifest()
        return self._manifest

    def suite_models(self) -> list[str]:
        """The suite's models, in its order (the reports' order, not the alphabet)."""
        return list(self.manifest.suite["models"])

    def dataset_info(self, dataset: str) -> DatasetRecord:
        """The dataset's entry in the manifest (classes, splits, evaluation, provenance); empty where it has none."""
        return self.manifest.datasets.get(dataset, DatasetRecord())

    def datasets(self) -> list[str]:
        return list(self.manifest.datasets)

    def evaluation(self, dataset: str) -> Evaluation | None:
        recorded = self.dataset_info(dataset).evaluation
        return Evaluation(recorded) if recorded else None

    # ---- the cells ----------------------------------------------------------------------------------------------

    @property
    def cells(self) -> list[dict]:
        """The metrics of every finished, proven cell (:meth:`RunStore.cells`), listed once."""
        if self._cells is None:
            self._cells = self.store.cells()
        return self._cells

    def cells_of(self, dataset: str | None = None, model: str | None = None, seed: int | None = None) -> list[dict]:
        return [
            c
            for c in self.cells
            if (dataset is None or c["dataset"] == dataset)
            and (model is None or c["model"] == model)
            and (seed is None or c["seed"] == seed)
        ]

    def models(self, dataset: str) -> list[str]:
        """The models with a finished cell on ``dataset``, in the suite's order."""
        present = {c["model"] for c in self.cells_of(dataset)}
        return [m for m in self.suite_models() if m in present]

    def predictions(self, cell: dict) -> pd.DataFrame:
        """A finished cell's predictions, read once; shared between readers, so never to be changed in place."""
        key = CellKey.of(cell)
        if key not in self._predictions:
            self._predictions[key] = self.store.predictions(key)
        return self._predictions[key]

    def pooled(self, dataset: str, model: str) -> Pooled:
        """Every finished seed of ``model`` on ``dataset``, the splits' test beats pooled (:class:`Pooled`); a seed
        that scored other beats than the first is left out (``dropped_seeds``)."""
        if (dataset, model) not in self._pooled:
            self._pooled[dataset, model] = self._pool(dataset, model)
        return self._pooled[dataset, model]

    def _pool(self, dataset: str, model: str) -> Pooled:
        cells = self.cells_of(dataset, model)
        if not cells:
            raise EcgbenchError(f"{self.root} holds no finished cell of {model} on {dataset}")
        by_seed: dict[int, list[pd.DataFrame]] = {}
        for cell in cells:
            by_seed.setdefault(cell["seed"], []).append(self.predictions(cell).assign(split=cell["split"]))
        frames = {
            seed: pd.concat(parts).sort_values(["split", "index"], ignore_index=True)
            for seed, parts in sorted(by_seed.items())
        }
        first = next(iter(frames.values()))
        kept = {s: f for s, f in frames.items() if f[BEAT_KEY].equals(first[BEAT_KEY])}
        classes = tuple(cells[0]["classes"])
        per_beat = [c for c in first if c not in BEAT_KEY and c != "y_pred" and not c.startswith("p_")]
        return Pooled(
            dataset,
            model,
            first[[*BEAT_KEY, *per_beat]],
            np.vstack([f["y_pred"].to_numpy(dtype=np.int64) for f in kept.values()]),
            np.stack([f[[f"p_{c}" for c in classes]].to_numpy() for f in kept.values()]),
            classes,
            tuple(kept),
            tuple(s for s in frames if s not in kept),
        )
