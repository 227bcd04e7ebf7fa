"""Splits: computed once per dataset and split seed, shared by every model and model seed.

Protocols:
- ``predefined``: the dataset's own train/test files (Kaggle MIT-BIH);
- ``holdout``: a stratified random hold-out of ``test_size`` of the beats;
- ``kfold``: stratified k-fold, one split per fold;
- ``auto`` (default): ``predefined`` where the dataset has its own files, else ``holdout``.

Every split also carves a stratified validation part of ``val_size`` from its training part only: models use it
for early stopping and model selection. The test part is not shown to a model before its final prediction.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.model_selection import StratifiedKFold

from ecgbench.data import Dataset
from ecgbench.errors import EcgbenchError
from ecgbench.io import atomic_write

PROTOCOLS = ("auto", "predefined", "holdout", "kfold")


@dataclass(frozen=True)
class Split:
    name: str  # "predefined", "holdout", or "fold1" .. "foldK"
    protocol: str
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def stratified_partition(y: np.ndarray, fraction: float, rng: np.random.Generator):
    """Split indices into (kept, held) with ``fraction`` of every class held out (rounded, never the last beat).

    Written out instead of using scikit-learn's splitters because those refuse classes with a single beat, which
    small or quick runs do meet.
    """
    kept, held = [], []
    for c in np.unique(y):
        members = rng.permutation(np.flatnonzero(y == c))
        n_held = min(int(round(fraction * len(members))), len(members) - 1)
        held.append(members[:n_held])
        kept.append(members[n_held:])
    return np.sort(np.concatenate(kept)), np.sort(np.concatenate(held))


def make_splits(
    dataset: Dataset,
    protocol: str = "auto",
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.1,
    n_folds: int = 5,
) -> list[Split]:
    if protocol not in PROTOCOLS:
        raise EcgbenchError(f"unknown split protocol {protocol!r}; known protocols: {', '.join(PROTOCOLS)}")
    if not 0 < test_size < 1 or not 0 < val_size < 1:
        raise EcgbenchError(f"test_size and val_size must lie between 0 and 1 (got {test_size}, {val_size})")
    if protocol == "auto":
        protocol = "predefined" if dataset.predefined_split is not None else "holdout"
    rng = np.random.default_rng(seed)
    y = dataset.y
    if protocol == "predefined":
        if dataset.predefined_split is None:
            raise EcgbenchError(f"dataset {dataset.name!r} has no train/test files of its own; use holdout or kfold")
        outer = [("predefined", *dataset.predefined_split)]
    elif protocol == "holdout":
        outer = [("holdout", *stratified_partition(y, test_size, rng))]
    else:
        folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        outer = [(f"fold{k + 1}", tr, te) for k, (tr, te) in enumerate(folds.split(np.zeros(len(y)), y))]
    splits = []
    for name, train_val, test in outer:
        train_pos, val_pos = stratified_partition(y[train_val], val_size, rng)
        splits.append(Split(name, protocol, np.asarray(train_val)[train_pos], np.asarray(train_val)[val_pos],
                            np.asarray(test)))
    return splits


def save_splits(path: Path, splits: list[Split]) -> None:
    """Save every split's indices, so that any report can be recomputed on exactly the same beats."""
    arrays = {f"{s.name}_{part}": getattr(s, part) for s in splits for part in ("train", "val", "test")}

    def write(tmp: Path):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, write)
