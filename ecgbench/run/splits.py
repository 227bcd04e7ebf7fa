"""Splits: computed once per dataset and split seed, shared by every model and model seed.

Protocols:
- ``predefined``: the dataset's own train/test files (Kaggle MIT-BIH);
- ``holdout``: a stratified random hold-out of ``test_size`` of the beats;
- ``kfold``: stratified k-fold, one split per fold;
- ``group-kfold``: k-fold by whole groups (records), stratified as far as whole records allow, one split per fold:
  inter-patient cross-validation, for choosing a model on the training records of an inter-patient protocol
  (dataset ``mitdb-ds1``) without ever looking at its test records;
- ``auto`` (default): ``predefined`` where the dataset has its own files, else ``holdout``.

Every split also carves a stratified validation part of ``val_size`` from its training part only: models use it
for early stopping and model selection. The test part is not shown to a model before its final prediction.
Datasets with ``validation_by_group`` (inter-patient protocols), and every ``group-kfold`` split, get a validation
part of whole records, so that no patient crosses from validation into training.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import SPLIT_PROTOCOLS
from ecgbench.data import Dataset


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


def group_partition(y: np.ndarray, groups: np.ndarray, fraction: float, rng: np.random.Generator, tries: int = 200):
    """Split indices into (kept, held) by whole groups, with about ``fraction`` of the beats held out.

    Of ``tries`` random orders of the groups, the one whose held part best matches the class shares of ``y``
    (every class present where possible) wins: with a few dozen records, a single random draw often misses the
    rare classes entirely.
    """
    names = np.unique(groups)
    target = np.bincount(y, minlength=y.max() + 1) / len(y)
    best, best_score = None, np.inf
    for _ in range(tries):
        order = rng.permutation(names)
        sizes = np.cumsum([np.sum(groups == g) for g in order])
        count = max(1, min(int(np.searchsorted(sizes, fraction * len(y))) + 1, len(names) - 1))
        held = np.isin(groups, order[:count])
        shares = np.bincount(y[held], minlength=len(target)) / held.sum()
        missing = np.sum((shares == 0) & (target > 0))
        score = missing + np.abs(shares - target).sum() + abs(held.mean() - fraction)
        if score < best_score:
            best, best_score = held, score
    return np.flatnonzero(~best), np.flatnonzero(best)


def group_folds(dataset: Dataset, n_folds: int, seed: int) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(name, train, test)`` per fold, every group (record) in exactly one test part."""
    if dataset.groups is None:
        raise EcgbenchError(f"dataset {dataset.name!r} has no record ids, so group-kfold cannot split it by record")
    n_groups = len(np.unique(dataset.groups))
    if not 2 <= n_folds <= n_groups:
        raise EcgbenchError(
            f"group-kfold needs 2 to {n_groups} folds for dataset {dataset.name!r} ({n_groups} "
            f"records); got n_folds = {n_folds}"
        )
    folds = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    return [
        (f"fold{k + 1}", tr, te)
        for k, (tr, te) in enumerate(folds.split(np.zeros(len(dataset.y)), dataset.y, dataset.groups))
    ]


def make_splits(
    dataset: Dataset,
    protocol: str = "auto",
    seed: int = 0,
    test_size: float = 0.2,
    val_size: float = 0.1,
    n_folds: int = 5,
    max_train_beats: int | None = None,
) -> list[Split]:
    """The splits of ``dataset``. ``max_train_beats`` caps every training part by a stratified subsample (for runs
    that must be affordable on a small CPU); the validation and test parts stay whole."""
    if protocol not in SPLIT_PROTOCOLS:
        raise EcgbenchError(f"unknown split protocol {protocol!r}; known protocols: {', '.join(SPLIT_PROTOCOLS)}")
    if not 0 < test_size < 1 or not 0 < val_size < 1:
        raise EcgbenchError(f"test_size and val_size must lie between 0 and 1 (got {test_size}, {val_size})")
    if protocol == "auto":
        protocol = "predefined" if dataset.predefined_split is not None else "holdout"
    rng = np.random.default_rng(seed)
    y = dataset.y
    largest = int(np.bincount(y).max()) if len(y) else 0
    if protocol in ("kfold", "group-kfold") and n_folds > largest:
        # scikit-learn's stratified folds need one class with a beat per fold (a tiny file, or max_beats / --quick)
        raise EcgbenchError(
            f"dataset {dataset.name!r}: {protocol} with n_folds = {n_folds} needs a class with at "
            f"least {n_folds} beats, and its largest has {largest} ({len(y):,} beats in all); "
            "lower n_folds, or give it more beats (raise max_beats, or run without --quick)"
        )
    if protocol == "predefined":
        if dataset.predefined_split is None:
            raise EcgbenchError(f"dataset {dataset.name!r} has no train/test files of its own; use holdout or kfold")
        outer = [("predefined", *dataset.predefined_split)]
    elif protocol == "holdout":
        outer = [("holdout", *stratified_partition(y, test_size, rng))]
    elif protocol == "kfold":
        folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
        outer = [(f"fold{k + 1}", tr, te) for k, (tr, te) in enumerate(folds.split(np.zeros(len(y)), y))]
    else:
        outer = group_folds(dataset, n_folds, seed)
    splits = []
    for name, train_val, test in outer:
        if dataset.validation_by_group or protocol == "group-kfold":
            train_pos, val_pos = group_partition(y[train_val], dataset.groups[train_val], val_size, rng)
        else:
            train_pos, val_pos = stratified_partition(y[train_val], val_size, rng)
        if max_train_beats and len(train_pos) > max_train_beats:
            kept, _ = stratified_partition(y[train_val][train_pos], 1 - max_train_beats / len(train_pos), rng)
            train_pos = train_pos[kept]
        splits.append(
            Split(name, protocol, np.asarray(train_val)[train_pos], np.asarray(train_val)[val_pos], np.asarray(test))
        )
    return splits
