"""Tests of ecgbench/data/export.py: datasets written in the Kaggle CSV layout read back unchanged."""

from __future__ import annotations

import numpy as np

from ecgbench.data import AAMI_CLASSES
from ecgbench.data import cross_database as cross
from ecgbench.data import wfdb_dataset as wd
from ecgbench.data.export import export_csv
from ecgbench.data.kaggle import read_beats_csv


def test_export_round_trips_through_the_kaggle_reader(databases, tmp_path):
    root, _ = databases
    dataset = cross.load_cross_database(root, train="alpha", test="beta")
    paths = export_csv(dataset, tmp_path / "export")
    assert [p.name for p in paths] == [
        "wfdb-cross_train.csv",
        "wfdb-cross_train_groups.csv",
        "wfdb-cross_test.csv",
        "wfdb-cross_test_groups.csv",
    ]
    for (beats, groups), rows in zip((paths[:2], paths[2:]), dataset.predefined_split, strict=True):
        X, y = read_beats_csv(beats, len(AAMI_CLASSES))
        np.testing.assert_array_equal(X, dataset.X[rows])  # %.18e prints float32 exactly
        np.testing.assert_array_equal(y, dataset.y[rows])
        np.testing.assert_array_equal(np.loadtxt(groups, dtype=np.int64, ndmin=1), dataset.groups[rows])
    first_value = paths[0].read_text().split(",", 1)[0]
    assert len(first_value.split("e")[0].split(".")[1]) == 18  # Kaggle's %.18e


def test_export_without_a_split_writes_one_file_and_its_groups(databases, tmp_path):
    root, _ = databases
    dataset = wd.load_wfdb_database(root / "alpha")
    paths = export_csv(dataset, tmp_path / "export")
    assert [p.name for p in paths] == ["alpha.csv", "alpha_groups.csv"]
    X, y = read_beats_csv(paths[0], len(AAMI_CLASSES))
    np.testing.assert_array_equal(X, dataset.X)
    np.testing.assert_array_equal(y, dataset.y)
    np.testing.assert_array_equal(np.loadtxt(paths[1], dtype=np.int64), dataset.groups)
