"""``python -m ecgbench data export``: a dataset written in the Kaggle CSV layout (:mod:`ecgbench.data.kaggle`
reads it back), with the record id of every row beside it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ecgbench.core.io import atomic_write
from ecgbench.data import Dataset

log = logging.getLogger(__name__)


def export_csv(dataset: Dataset, out_dir: str | Path) -> list[Path]:
    """Write ``dataset`` in the Kaggle CSV layout: 187 values and the label per row, no header, ``%.18e``.

    One file per side of the predefined split (``<name>_train.csv``, ``<name>_test.csv``), else ``<name>.csv``;
    beside each, where the dataset has groups, ``<stem>_groups.csv`` with the record id of every row (the Kaggle
    layout has no record column). Returns the written paths.
    """
    written = []
    for rows, beats, groups in _parts(dataset, Path(out_dir)):
        written.append(atomic_write(beats, _beats_writer(dataset.X[rows], dataset.y[rows])))
        if groups is not None:
            written.append(atomic_write(groups, _groups_writer(dataset.groups[rows])))
    log.info("exported %s beats of %s to %s", f"{len(dataset.y):,}", dataset.name, out_dir)
    return written


def export_paths(dataset: Dataset, out_dir: str | Path) -> list[Path]:
    """The files :func:`export_csv` would write, for checking them before anything is written."""
    return [p for _, beats, groups in _parts(dataset, Path(out_dir)) for p in (beats, groups) if p is not None]


def _parts(dataset: Dataset, out_dir: Path) -> list[tuple[np.ndarray, Path, Path | None]]:
    """(rows, beats file, record-id file or None) per exported file."""
    if dataset.predefined_split is None:
        parts = [(dataset.name, np.arange(len(dataset.y)))]
    else:
        parts = [
            (f"{dataset.name}_{side}", np.asarray(idx))
            for side, idx in zip(("train", "test"), dataset.predefined_split, strict=True)
        ]
    return [
        (rows, out_dir / f"{stem}.csv", out_dir / f"{stem}_groups.csv" if dataset.groups is not None else None)
        for stem, rows in parts
    ]


def _beats_writer(X: np.ndarray, y: np.ndarray):
    # %.18e prints every float32 value exactly, so the files read back to the same arrays.
    table = np.column_stack([X.astype(np.float64), y.astype(np.float64)])
    return lambda tmp: np.savetxt(tmp, table, fmt="%.18e", delimiter=",")


def _groups_writer(groups: np.ndarray):
    return lambda tmp: np.savetxt(tmp, np.asarray(groups, dtype=np.int64), fmt="%d")
