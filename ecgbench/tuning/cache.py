"""Work of a trial that does not depend on its searched parameters, done once per fold and reused.

- ROCKET / MiniRocket: the kernel features of every development beat, from the transformer fitted on the fold's
  training beats, per (fold, ``num_kernels``, seed).
- tsfresh-xgboost: the ranking of the relevant features (selected on the fold's training beats as the model
  selects them) and the values of the best ``K`` of them for every development beat, ``K`` the top of
  ``max_features``' search range; a trial with ``max_features = k <= K`` takes the first ``k`` columns, which are
  the values its own extraction would give (each feature is computed on its own, in the given column order).
  The values come through the feature cache of :mod:`ecgbench.models.feature_cache`: the folds share the
  development beats, so a fold extracts only the columns no fold before it selected.

An entry is a checksummed ``.npz`` of :mod:`ecgbench.core.cache` (``allow_pickle=False``; never a pickle; a damaged
one is recomputed) keyed by the sha256 of the data fingerprint, the fold's indices and the settings that decide
the features, written atomically. The model itself is unchanged: a trial's model is the registered class, given a
transformer (or a selection and extraction) that looks its rows up in the entry by the beat's values.
``tests/test_tuning.py`` checks that a cached trial scores as an uncached one. :data:`STATS` counts entries computed and
reused in this process.
"""

from __future__ import annotations

import fcntl
import logging
import time
from pathlib import Path

import numpy as np

from ecgbench.core.cache import entry_key, read_entry, write_entry
from ecgbench.core.io import write_text

log = logging.getLogger(__name__)

STATS = {"computed": 0, "reused": 0}


def write(path: Path, arrays: dict) -> None:
    write_entry(path, arrays)
    ignore = path.parent / ".gitignore"
    if not ignore.exists():  # gigabytes that are recomputed, never committed with the study
        write_text(ignore, "# the tuning cache: recomputed when missing, never committed\n*\n")


def cached(path: Path, compute) -> dict:
    """The entry at ``path``, computed once: the workers of a study wait for the one computing it (an flock on a
    file beside it) rather than computing the same features twice."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            entry = read_entry(path)
            if entry is not None:
                STATS["reused"] += 1
                return entry
            start = time.monotonic()
            entry = compute()
            write(path, entry)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    STATS["computed"] += 1
    log.info("tuning cache: computed %s in %.1f s", path.name, time.monotonic() - start)
    return entry


class RowIndex:
    """The position of each development beat, found by its values (the bytes of its float32 row)."""

    def __init__(self, beats: np.ndarray):
        self.positions = {row.tobytes(): i for i, row in enumerate(np.ascontiguousarray(beats, dtype=np.float32))}

    def __call__(self, beats: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(np.asarray(beats).reshape(len(beats), -1), dtype=np.float32)
        return np.fromiter((self.positions[row.tobytes()] for row in rows), dtype=np.int64, count=len(rows))


class LookupTransformer:
    """Stands in for a fitted sktime transformer: the rows of precomputed features for the beats given."""

    def __init__(self, features: np.ndarray, index: RowIndex):
        self.features, self.index = features, index

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return self.features[self.index(np.asarray(X)[:, 0, :])]


class FoldCache:
    """The cache of one study (``folder``) over one development set (its beats, fingerprint and folds)."""

    def __init__(self, folder: Path, beats: np.ndarray, fingerprint: str):
        self.folder, self.beats, self.fingerprint = Path(folder), beats, fingerprint
        self._index = None

    @property
    def index(self) -> RowIndex:
        if self._index is None:
            self._index = RowIndex(self.beats)
        return self._index

    def path(self, family: str, key: str) -> Path:
        return self.folder / f"{family}-{key[:24]}.npz"

    # ---- ROCKET / MiniRocket ---------------------------------------------------------------------------------
    def kernel_features(self, model, train: np.ndarray) -> np.ndarray:
        """Kernel features (float16, as the model stores them) of every development beat, from ``model``'s
        transformer fitted on the fold's training beats ``train`` (indices)."""
        key = entry_key(
            fingerprint=self.fingerprint,
            model=model.name,
            train=train,
            seed=model.seed,
            num_kernels=model.params["num_kernels"],
        )

        def compute():
            transformer = model.make_transformer().fit(self.beats[train][:, None, :].astype(np.float64))
            return {"features": model.kernel_features(self.beats, transformer)}

        return cached(self.path(model.name, key), compute)["features"]

    def hook_kernel_model(self, model, train: np.ndarray) -> None:
        features = self.kernel_features(model, train)
        model.make_transformer = lambda: LookupTransformer(features, self.index)

    # ---- tsfresh-xgboost -------------------------------------------------------------------------------------
    def tsfresh_features(self, model, train: np.ndarray, y_train: np.ndarray, top: int) -> tuple[list, np.ndarray]:
        """The ``top`` best-ranked columns as ``model.select`` ranks them on the fold's training beats, and their
        values for every development beat (float32)."""
        from ecgbench.core.threads import pinned
        from ecgbench.models.feature_cache import cached_extract

        p = model.params
        key = entry_key(
            fingerprint=self.fingerprint,
            model=model.name,
            train=train,
            seed=model.seed,
            top=top,
            selection_beats=p["selection_beats"],
            fdr_level=p["fdr_level"],
        )

        def compute():
            from ecgbench.models import build

            ranker = build(
                model.name,
                n_classes=model.n_classes,
                seed=model.seed,
                max_features=top,
                selection_beats=p["selection_beats"],
                fdr_level=p["fdr_level"],
            )
            with pinned():
                ranker.select(self.beats[train], y_train)
                # through the feature cache: every fold's entry holds the same development beats, so a fold extracts
                # only the columns that no fold before it selected (and a new machine's study, only once)
                values = cached_extract(self.beats, ranker.columns, ranker.extract_columns)
            return {"columns": np.array(ranker.columns, dtype=str), "features": values}

        entry = cached(self.path(model.name, key), compute)
        return [str(c) for c in entry["columns"]], entry["features"]

    def hook_tsfresh_model(self, model, train: np.ndarray, y_train: np.ndarray, top: int) -> bool:
        """Give ``model`` the cached selection and features; False where its settings are not the cached ones."""
        p = model.params
        if p["full_efficient_set"] or p["max_features"] > top:
            return False
        columns, features = self.tsfresh_features(model, train, y_train, top)
        k = p["max_features"]

        def select(X, y):
            from tsfresh.feature_extraction.settings import from_columns

            model.columns = columns[:k]
            model.settings = from_columns(model.columns)["ecg"]

        def lookup(X, label):
            return features[self.index(X)][:, : len(model.columns)]

        model.select, model.features = select, lookup
        return True
