import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import Dataset
from ecgbench.run.splits import make_splits
from ecgbench.run.store import RunStore


def dataset(n_per_class=(500, 40, 80, 9, 90), predefined=False):
    y = np.concatenate([np.full(n, c) for c, n in enumerate(n_per_class)])
    y = np.random.default_rng(1).permutation(y)
    X = np.random.default_rng(2).random((len(y), 187)).astype(np.float32)
    split = (np.arange(0, 600), np.arange(600, len(y))) if predefined else None
    return Dataset("toy", X, y, tuple("NSVFQ"), predefined_split=split)


def shares(y, idx):
    return np.bincount(y[idx], minlength=5) / len(idx)


def test_holdout_is_disjoint_complete_and_stratified():
    d = dataset()
    (s,) = make_splits(d, protocol="holdout", seed=0, test_size=0.2, val_size=0.1)
    parts = [s.train, s.val, s.test]
    assert sum(len(p) for p in parts) == len(d.y)
    assert len(np.unique(np.concatenate(parts))) == len(d.y)
    assert len(s.test) == pytest.approx(0.2 * len(d.y), abs=5)
    assert np.allclose(shares(d.y, s.test), shares(d.y, np.arange(len(d.y))), atol=0.01)
    assert np.allclose(shares(d.y, s.val), shares(d.y, s.train), atol=0.02)
    assert set(d.y[s.val]) == set(range(5))  # even the 9-beat class reaches validation


def test_splits_are_reproducible_for_a_seed_and_differ_between_seeds():
    d = dataset()
    a, b, c = (make_splits(d, protocol="holdout", seed=s)[0] for s in (0, 0, 1))
    assert np.array_equal(a.test, b.test) and np.array_equal(a.val, b.val)
    assert not np.array_equal(a.test, c.test)


def test_predefined_split_keeps_the_datasets_own_test_part_and_validates_from_train_only():
    d = dataset(predefined=True)
    (s,) = make_splits(d)  # auto picks the dataset's own files
    assert s.protocol == "predefined"
    assert np.array_equal(np.sort(s.test), np.arange(600, len(d.y)))
    assert np.all(s.val < 600) and np.all(s.train < 600)
    assert len(np.intersect1d(s.train, s.val)) == 0


def test_kfold_tests_every_beat_exactly_once():
    d = dataset()
    splits = make_splits(d, protocol="kfold", n_folds=4, seed=3)
    assert [s.name for s in splits] == ["fold1", "fold2", "fold3", "fold4"]
    tested = np.concatenate([s.test for s in splits])
    assert np.array_equal(np.sort(tested), np.arange(len(d.y)))
    for s in splits:
        assert len(np.intersect1d(s.test, np.concatenate([s.train, s.val]))) == 0


def with_records(d, n_records=10):
    """``d`` with its beats dealt to ``n_records`` records in runs, as consecutive beats of one patient are."""
    d.groups = np.arange(len(d.y)) * n_records // len(d.y)
    return d


def test_group_kfold_tests_every_record_once_and_keeps_each_record_on_one_side():
    d = with_records(dataset())
    splits = make_splits(d, protocol="group-kfold", n_folds=5, seed=0, val_size=0.2)
    assert [s.name for s in splits] == [f"fold{k}" for k in range(1, 6)]
    assert np.array_equal(np.sort(np.concatenate([s.test for s in splits])), np.arange(len(d.y)))
    for s in splits:
        test, val, train = (set(d.groups[part]) for part in (s.test, s.val, s.train))
        assert test and val and train
        assert not test & train and not test & val and not val & train
        assert len(s.test) + len(s.val) + len(s.train) == len(d.y)


def test_group_kfold_needs_records_and_no_more_folds_than_records():
    with pytest.raises(EcgbenchError, match="dataset 'toy' has no record ids"):
        make_splits(dataset(), protocol="group-kfold")
    with pytest.raises(EcgbenchError, match="group-kfold needs 2 to 4 folds .*got n_folds = 5"):
        make_splits(with_records(dataset(), 4), protocol="group-kfold", n_folds=5)


def test_a_single_beat_class_stays_in_training():
    d = dataset(n_per_class=(50, 1, 20, 20, 20))
    (s,) = make_splits(d, protocol="holdout")
    lonely = np.flatnonzero(d.y == 1)
    assert np.isin(lonely, s.train).all()


def test_bad_options_are_named():
    with pytest.raises(EcgbenchError, match="unknown split protocol 'random'"):
        make_splits(dataset(), protocol="random")
    with pytest.raises(EcgbenchError, match="no train/test files of its own"):
        make_splits(dataset(), protocol="predefined")
    with pytest.raises(EcgbenchError, match="between 0 and 1"):
        make_splits(dataset(), test_size=1.5)


def test_saved_indices_round_trip(tmp_path):
    splits = make_splits(dataset(), protocol="kfold", n_folds=3)
    store = RunStore(tmp_path)
    store.save_splits("toy", splits)
    for s in splits:
        saved = store.load_split("toy", s.name)
        for part in ("train", "val", "test"):
            assert np.array_equal(saved[part], getattr(s, part))


def test_validation_by_group_keeps_every_record_on_one_side():
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(30), 40)
    y = np.where(rng.random(len(groups)) < 0.1, rng.integers(1, 5, len(groups)), 0)
    train_part = np.arange(0, 800)  # records 0..19 train, 20..29 test
    d = Dataset(
        "toy",
        np.zeros((len(y), 187)),
        y,
        tuple("NSVFQ"),
        groups=groups,
        predefined_split=(train_part, np.arange(800, len(y))),
        validation_by_group=True,
    )
    (s,) = make_splits(d, val_size=0.2)
    assert set(groups[s.val]).isdisjoint(groups[s.train])
    assert set(groups[s.val]) | set(groups[s.train]) == set(range(20))  # validation records come from training
    assert len(s.val) / 800 == pytest.approx(0.2, abs=0.06)
    assert set(y[s.val]) == set(range(5))
    (again,) = make_splits(d, val_size=0.2)
    assert np.array_equal(s.val, again.val)


def test_max_train_beats_subsamples_training_only():
    d = dataset()
    (full,) = make_splits(d, protocol="holdout", seed=0)
    (capped,) = make_splits(d, protocol="holdout", seed=0, max_train_beats=200)
    assert len(capped.train) == pytest.approx(200, abs=3)
    assert np.isin(capped.train, full.train).all()
    assert np.array_equal(capped.test, full.test) and np.array_equal(capped.val, full.val)
    assert set(d.y[capped.train]) == set(range(5))
