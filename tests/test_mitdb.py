"""Tests of ecgbench/data/mitdb.py on the real MIT-BIH database (read from ``$ECGBENCH_DATA/mitdb``; they skip
where it is absent): the beats of single records, the mitdb-intra / mitdb-inter / mitdb-ds1 datasets, their
pinned class counts and checksum, and the beat cache on real records."""

from __future__ import annotations

import numpy as np
import pytest

import ecgbench.data as data
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import sha256_array
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH, resolve_data_dir
from ecgbench.data import mitdb as mb
from ecgbench.data import records as rec
from ecgbench.data import wfdb_dataset as wd
from ecgbench.data.context import (
    NEIGHBOUR_FEATURES,
    PRE_R_FEATURES,
    QRS_FEATURES,
    neighbour_features,
    relative_to_record,
)
from ecgbench.data.kaggle import MITBIH_TEST, MITBIH_TRAIN
from ecgbench.run.splits import make_splits

pytestmark = pytest.mark.slow  # builds the MIT-BIH datasets from the real records

# Beat counts per AAMI class (N, S, V, F, Q) as rebuilt here; see the table in docs/datasets.md.
DS1_COUNTS = (45_866, 944, 3_788, 415, 8)
DS2_COUNTS = (44_259, 1_837, 3_221, 388, 7)
MITDB_COUNTS = (90_631, 2_781, 7_236, 803, 8_043)
RECORD_100_COUNTS = (2_239, 33, 1, 0, 0)
# The inter-patient suite's context groups, and sha256_array(X, y, groups, context) of mitdb-inter with them,
# computed before the data/ modules were split by concept: a change to any beat or context value shows here.
SUITE_CONTEXT = ["rr", "morphology", "pre_r", "qrs", "neighbours"]
MITDB_INTER_SHA256 = "8220e4e08daf775ebab6763f983c926d31b793bdc18665a8b01c7ed5b27a649e"


@pytest.fixture(scope="module")
def mitdb_dir():
    pytest.importorskip("wfdb")
    folder = resolve_data_dir() / "mitdb"
    if rec.records_problem(folder, mb.MITDB_RECORDS) is not None:
        pytest.skip(
            f"MIT-BIH records not found in $ECGBENCH_DATA/mitdb ({folder}): run with ECGBENCH_DATA=../shared/data"
        )
    return folder


@pytest.fixture(scope="module")
def mitdb_build(mitdb_dir, module_cache):
    """``mitdb-intra`` built from the records into an empty cache."""
    return data.load_dataset("mitdb-intra", mitdb_dir.parent)


@pytest.fixture(scope="module")
def mitdb_inter(mitdb_build, mitdb_dir):
    return data.load_dataset("mitdb-inter", mitdb_dir.parent)


def test_record_100_gives_2273_beats(mitdb_dir, tmp_cache):
    beats = wd.rebuild_record(mitdb_dir, "100")
    assert len(beats) == 2_273
    assert tuple(np.bincount(beats.labels, minlength=5)) == RECORD_100_COUNTS
    assert beats.lead == "MLII" and beats.fs == 360
    assert beats.X.shape == (2_273, BEAT_LENGTH) and beats.X.dtype == np.float32
    # Each beat starts at its R peak, near the top of its [0, 1]-scaled window.
    assert np.median(beats.X[:, 0]) > 0.8


def test_the_signal_before_each_r_peak_continues_the_beat_before_it(mitdb_dir, tmp_cache):
    beats = wd.rebuild_record(mitdb_dir, "100")
    assert beats.pre_r.shape == (len(beats), len(PRE_R_FEATURES)) and beats.pre_r.dtype == np.float32
    # Where two beats share a 10 s window (one scaling), the sample 16 ms before a beat's R peak is a sample of
    # the beat before it: an independent check that the pre-R samples sit where they should.
    r = np.rint(beats.samples * 125 / beats.fs).astype(int)
    gap = np.diff(r) - 2
    same_window = (r[1:] // 1250 == r[:-1] // 1250) & (gap < BEAT_LENGTH)
    rows = np.flatnonzero(same_window)
    previous = beats.X[rows, gap[rows]]
    inside = previous != 0  # past its span, a beat is zero padding
    assert inside.sum() > 2000
    np.testing.assert_allclose(beats.pre_r[rows + 1, -1][inside], previous[inside], atol=1e-6)


@pytest.mark.parametrize("record", ["119", "208"])
def test_ventricular_beats_have_wider_qrs_complexes_than_their_records_usual_beat(mitdb_dir, tmp_cache, record):
    beats = wd.rebuild_record(mitdb_dir, record)
    assert beats.qrs.shape == (len(beats), len(QRS_FEATURES)) and beats.qrs.dtype == np.float32
    ratios = dict(zip(QRS_FEATURES, relative_to_record(beats.qrs).T, strict=True))
    normal, ventricular = beats.labels == 0, beats.labels == 2
    assert normal.sum() > 1000 and ventricular.sum() > 400  # both records have many of each
    for name in ("qrs_width_record", "qrs_area_record"):
        assert np.median(ratios[name][ventricular]) > 2 * np.median(ratios[name][normal]), name


@pytest.mark.parametrize("record", ["106", "119"])
def test_ventricular_beats_look_unlike_the_beats_beside_them(mitdb_dir, tmp_cache, record):
    # 119 is in ventricular bigeminy for long stretches, 106 has isolated premature ventricular beats and couplets.
    beats = wd.rebuild_record(mitdb_dir, record)
    assert beats.neighbours.shape == (len(beats), 2) and beats.neighbours.dtype == np.float32
    features = dict(zip(NEIGHBOUR_FEATURES, neighbour_features(beats).T, strict=True))
    normal, ventricular = beats.labels == 0, beats.labels == 2
    for name in ("corr_previous", "corr_next"):
        assert np.median(features[name][normal]) > 0.9, name
        assert np.median(features[name][ventricular]) < np.median(features[name][normal]) - 0.3, name


def test_full_build_counts_groups(mitdb_build):
    dataset = mitdb_build
    assert dataset.name == "mitdb-intra" and dataset.classes == AAMI_CLASSES
    assert dataset.X.shape == (sum(MITDB_COUNTS), BEAT_LENGTH) and dataset.X.dtype == np.float32
    assert dataset.X.min() >= 0 and dataset.X.max() <= 1
    assert tuple(np.bincount(dataset.y, minlength=5)) == MITDB_COUNTS
    assert sorted(np.unique(dataset.groups).tolist()) == [int(r) for r in mb.MITDB_RECORDS]
    assert dataset.predefined_split is None and not dataset.validation_by_group
    assert "intra-patient" in dataset.provenance["protocol"]
    assert dataset.provenance["synthetic"] is False and dataset.provenance["n_files"] == 3 * 48
    assert dataset.provenance["params"]["rr_factor"] == 1.2


def test_ds1_and_ds2_class_counts_are_stable(mitdb_inter):
    train, test = mitdb_inter.predefined_split
    assert tuple(np.bincount(mitdb_inter.y[train], minlength=5)) == DS1_COUNTS
    assert tuple(np.bincount(mitdb_inter.y[test], minlength=5)) == DS2_COUNTS


def test_inter_patient_beats_and_suite_context_are_pinned(mitdb_build, mitdb_dir):
    dataset = data.load_dataset("mitdb-inter", mitdb_dir.parent, context=SUITE_CONTEXT)  # from the module's cache
    assert dataset.context.shape == (sum(DS1_COUNTS) + sum(DS2_COUNTS), 36)
    assert sha256_array(dataset.X, dataset.y, dataset.groups, dataset.context) == MITDB_INTER_SHA256


def test_inter_patient_sides_share_no_record_and_leave_out_paced_records(mitdb_inter):
    train, test = mitdb_inter.predefined_split
    train_records, test_records = set(mitdb_inter.groups[train]), set(mitdb_inter.groups[test])
    assert train_records == {int(r) for r in mb.DS1} and test_records == {int(r) for r in mb.DS2}
    assert not train_records & test_records
    assert not {int(r) for r in mb.PACED_RECORDS} & set(mitdb_inter.groups)
    assert len(train) + len(test) == len(mitdb_inter.y)
    assert mitdb_inter.validation_by_group and "inter-patient" in mitdb_inter.provenance["protocol"]


def test_inter_patient_validation_comes_from_whole_ds1_records(mitdb_inter):
    (split,) = make_splits(mitdb_inter, protocol="auto", seed=0)
    groups = mitdb_inter.groups
    assert set(groups[split.val]) <= {int(r) for r in mb.DS1}
    assert not set(groups[split.val]) & set(groups[split.train])
    np.testing.assert_array_equal(split.test, mitdb_inter.predefined_split[1])


def test_ds1_cross_validation_never_loads_ds2_and_tests_every_ds1_record_once(mitdb_build, mitdb_dir):
    ds1 = data.load_dataset("mitdb-ds1", mitdb_dir.parent)
    assert set(ds1.groups) == {int(r) for r in mb.DS1}
    assert tuple(np.bincount(ds1.y, minlength=5)) == DS1_COUNTS
    folds = make_splits(ds1, protocol="group-kfold", n_folds=5, val_size=0.15, seed=0)
    tested = [r for s in folds for r in np.unique(ds1.groups[s.test])]
    assert sorted(tested) == sorted(int(r) for r in mb.DS1)
    for s in folds:  # no patient on two sides of a fold, validation included
        test, val, train = (set(ds1.groups[part]) for part in (s.test, s.val, s.train))
        assert not test & train and not test & val and not val & train


def test_dropping_the_last_beat_of_each_record_gives_the_kaggle_totals(mitdb_build, mitdb_dir):
    kaggle_totals = tuple(np.add(MITBIH_TRAIN.class_counts, MITBIH_TEST.class_counts))
    dataset = data.load_dataset("mitdb-intra", mitdb_dir.parent, drop_last_beat=True)  # from the module's cache
    assert tuple(np.bincount(dataset.y, minlength=5)) == kaggle_totals


def test_second_load_comes_from_the_cache(mitdb_build, mitdb_dir, module_cache, monkeypatch, log_lines):
    first = mitdb_build

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt a record although its beats were cached")

    monkeypatch.setattr(wd, "rebuild_record", no_rebuild)
    again = data.load_dataset("mitdb-intra", mitdb_dir.parent)
    np.testing.assert_array_equal(again.X, first.X)
    np.testing.assert_array_equal(again.y, first.y)
    np.testing.assert_array_equal(again.groups, first.groups)
    assert again.provenance == first.provenance
    assert any("from the cache" in line and "109,494" in line for line in log_lines)
    assert len(list((module_cache / "beats").glob("mitdb_*.npz"))) == 48


def test_cache_is_invalidated_by_a_parameter_or_a_file_change(mitdb_dir, tmp_path, tmp_cache, rebuilds):
    first = wd.load_wfdb_database(mitdb_dir, ["100"])
    assert rebuilds == ["100"]
    same = wd.load_wfdb_database(mitdb_dir, ["100"])
    assert rebuilds == ["100"]  # from the cache
    np.testing.assert_array_equal(same.X, first.X)

    longer = wd.load_wfdb_database(mitdb_dir, ["100"], rr_factor=1.5)
    assert rebuilds == ["100", "100"]
    assert (longer.X != 0).sum() > (first.X != 0).sum()

    # An edited file (here a comment added to a copy of the header) changes the key as well.
    copy = tmp_path / "mitdb"
    copy.mkdir()
    for ext in ("hea", "dat", "atr"):
        (copy / f"100.{ext}").write_bytes((mitdb_dir / f"100.{ext}").read_bytes())
    wd.load_wfdb_database(copy, ["100"])
    assert rebuilds == ["100"] * 2  # same bytes, same key: the cache is shared across folders
    with open(copy / "100.hea", "a") as fh:
        fh.write("# edited\n")
    wd.load_wfdb_database(copy, ["100"])
    assert rebuilds == ["100"] * 3
    assert not list(mitdb_dir.parent.glob("**/*.npz")), "nothing may be written into the data folder"


def test_mitdb_datasets_are_registered_with_how_to_get_them(tmp_path):
    for name in ("mitdb-intra", "mitdb-inter", "mitdb-ds1"):
        spec = data.dataset_spec(name)
        assert "run `python -m ecgbench data fetch mitdb`" in spec.missing(tmp_path)
        assert not spec.is_available(tmp_path)
        with pytest.raises(EcgbenchError, match="python -m ecgbench data fetch mitdb"):
            data.require_available(name, tmp_path)
