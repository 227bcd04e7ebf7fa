"""Tests of ecgbench/data/cross_database.py (``wfdb-cross``) on small WFDB databases at 128 Hz and 250 Hz
(tests/conftest.py's ``databases``)."""

from __future__ import annotations

import numpy as np
import pytest

import ecgbench.data as data
from ecgbench.core.errors import EcgbenchError
from ecgbench.data import cross_database as cross
from ecgbench.run.splits import make_splits
from tests.conftest import beat_labels


def test_cross_database_trains_on_one_and_tests_on_the_other(databases):
    root, truth = databases
    dataset = data.load_dataset("wfdb-cross", root, train="alpha", test="beta")
    train, test = dataset.predefined_split
    n_alpha = len(truth["alpha", "100"]) + len(truth["alpha", "101"])
    np.testing.assert_array_equal(train, np.arange(n_alpha))
    np.testing.assert_array_equal(test, np.arange(n_alpha, len(dataset.y)))
    assert dataset.y[test].tolist() == beat_labels(truth["beta", "b1"]) + beat_labels(truth["beta", "b2"])
    assert set(dataset.groups[train]) == {0, 1} and set(dataset.groups[test]) == {2, 3}
    assert dataset.provenance["groups"] == {0: "alpha/100", 1: "alpha/101", 2: "beta/b1", 3: "beta/b2"}
    assert dataset.validation_by_group

    (split,) = make_splits(dataset, protocol="auto", seed=0)
    assert set(dataset.groups[split.train]) | set(dataset.groups[split.val]) == {0, 1}
    assert not set(dataset.groups[split.train]) & set(dataset.groups[split.val])

    # Resampled to 125 Hz, the 128 Hz beats teach the 250 Hz ones: a nearest-centroid rule carries over.
    classes = np.unique(dataset.y[split.train])
    centroids = np.stack([dataset.X[split.train][dataset.y[split.train] == c].mean(0) for c in classes])
    distances = ((dataset.X[test][:, None, :] - centroids[None]) ** 2).sum(-1)
    assert np.mean(classes[distances.argmin(1)] == dataset.y[test]) > 0.95


def test_cross_database_names_a_missing_database_and_how_to_get_it(databases):
    root, _ = databases
    spec = data.dataset_spec("wfdb-cross")
    assert spec.is_available(root, train="alpha", test="beta")  # availability follows the parameters
    assert not spec.is_available(root, train="alpha", test="incartdb")
    assert not spec.is_available(root)  # the defaults, mitdb and svdb, are not there
    message = r"'incartdb' not found: .*/incartdb does not exist .*python -m ecgbench data fetch incartdb"
    with pytest.raises(EcgbenchError, match=message):
        cross.load_cross_database(root, train="alpha", test="incartdb")


def test_cross_database_refuses_the_same_records_on_both_sides(databases):
    root, _ = databases
    with pytest.raises(EcgbenchError, match=r"share 1 record\(s\).*alpha/101 \(train\) and alpha/101 \(test\)"):
        cross.load_cross_database(root, train="alpha", test="alpha", train_records=["100", "101"], test_records=["101"])
    ok = cross.load_cross_database(root, train="alpha", test="alpha", train_records=["100"], test_records=["101"])
    assert set(ok.groups[ok.predefined_split[0]]) == {0} and set(ok.groups[ok.predefined_split[1]]) == {1}
