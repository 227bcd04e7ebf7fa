"""Tests of ecgbench/data/wfdb_beats.py: beats rebuilt from WFDB records the Kaggle way, the cache, the
mitdb-intra / mitdb-inter / wfdb-cross datasets and the CSV export.

Tests on the real MIT-BIH database read it from ``$ECGBENCH_DATA/mitdb`` and skip where it is absent; the
cross-database tests write small WFDB records of their own (128 Hz and 250 Hz).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import ecgbench.data as data
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH, resolve_data_dir
from ecgbench.data import synthetic as syn
from ecgbench.data import wfdb_beats as wb
from ecgbench.data.context import (
    MORPHOLOGY_FEATURES,
    NEIGHBOUR_FEATURES,
    PRE_R_FEATURES,
    QRS_FEATURES,
    neighbour_features,
    relative_to_record,
)
from ecgbench.data.kaggle import MITBIH_TEST, MITBIH_TRAIN, read_beats_csv
from ecgbench.data.rr import RR_FEATURES
from ecgbench.errors import EcgbenchError
from ecgbench.io import sha256_array
from ecgbench.splits import make_splits

N, S, V, F, Q = range(5)

# Beat counts per AAMI class (N, S, V, F, Q) as rebuilt here; see the table in the module docstring.
DS1_COUNTS = (45_866, 944, 3_788, 415, 8)
DS2_COUNTS = (44_259, 1_837, 3_221, 388, 7)
MITDB_COUNTS = (90_631, 2_781, 7_236, 803, 8_043)
RECORD_100_COUNTS = (2_239, 33, 1, 0, 0)
# The inter-patient suite's context groups, and sha256_array(X, y, groups, context) of mitdb-inter with them,
# computed before the data/ modules were split by concept: a change to any beat or context value shows here.
SUITE_CONTEXT = ["rr", "morphology", "pre_r", "qrs", "neighbours"]
MITDB_INTER_SHA256 = "8220e4e08daf775ebab6763f983c926d31b793bdc18665a8b01c7ed5b27a649e"


# ------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def wfdb():
    return pytest.importorskip("wfdb")


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    cache = tmp_path / "beat-cache"
    monkeypatch.setenv("ECGBENCH_CACHE", str(cache))
    return cache


class LogLines(logging.Handler):
    """Collects the "ecgbench" logger's messages (the CLI turns its propagation off, so caplog may miss them)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines():
    logger = logging.getLogger("ecgbench")
    handler, old_level = LogLines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.fixture
def rebuilds(monkeypatch):
    """Records rebuilt from their files (not taken from the cache) during a test."""
    calls: list[str] = []
    rebuild = wb.rebuild_record

    def counting_rebuild(folder, record, *args, **kwargs):
        calls.append(record)
        return rebuild(folder, record, *args, **kwargs)

    monkeypatch.setattr(wb, "rebuild_record", counting_rebuild)
    return calls


@pytest.fixture(scope="module")
def mitdb_dir():
    pytest.importorskip("wfdb")
    folder = resolve_data_dir() / "mitdb"
    if not wb.has_records(folder, wb.MITDB_RECORDS):
        pytest.skip(
            f"MIT-BIH records not found in $ECGBENCH_DATA/mitdb ({folder}): run with ECGBENCH_DATA=../shared/data"
        )
    return folder


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One cache for the module's full 48-record build, so that the build runs once."""
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("mitdb-beat-cache")
        patch.setenv("ECGBENCH_CACHE", str(cache))
        yield cache


@pytest.fixture(scope="module")
def mitdb_build(mitdb_dir, module_cache):
    """``mitdb-intra`` built from the records into an empty cache."""
    return data.load_dataset("mitdb-intra", mitdb_dir.parent)


@pytest.fixture(scope="module")
def mitdb_inter(mitdb_build, mitdb_dir):
    return data.load_dataset("mitdb-inter", mitdb_dir.parent)


# ------------------------------------------------------------------------------------- AAMI mapping


def test_aami_mapping_is_pinned():
    assert wb.AAMI_MAP == {
        "N": ("N", "L", "R", "e", "j"),
        "S": ("A", "a", "J", "S"),
        "V": ("V", "E"),
        "F": ("F",),
        "Q": ("/", "f", "Q"),
    }
    assert tuple(wb.AAMI_MAP) == AAMI_CLASSES


def test_non_beat_annotations_get_no_class():
    labels = wb.aami_labels(["N", "+", "A", "~", "V", "!", "x", "|", '"', "F", "f", "/", "Q", "[", "]", "B"])
    assert labels.tolist() == [N, -1, S, -1, V, -1, -1, -1, -1, F, Q, Q, Q, -1, -1, -1]


# ---------------------------------------------------------------------------------------- extraction


def test_segmentation_matches_the_synthetic_extraction():
    # The synthetic dataset's loop and this vectorised version must cut the same beats wherever no beat
    # reaches the record end (where this one zero pads; see the module docstring).
    rng = np.random.default_rng(0)
    signal = np.cumsum(rng.normal(size=20_000))
    r_peaks = np.cumsum(rng.integers(40, 160, size=150)) + 10
    r_peaks = r_peaks[r_peaks < len(signal) - 300]
    expected = syn.extract_beats(signal, r_peaks)
    got = wb.segment_beats(signal, r_peaks, window=1250)
    np.testing.assert_array_equal(got, expected.astype(np.float32))


def test_window_median_rr_equals_numpy_median_per_window():
    rng = np.random.default_rng(1)
    r_peaks = np.cumsum(rng.integers(30, 200, size=400))
    window_of = r_peaks // 1250
    n_windows = window_of.max() + 1
    got = wb.window_median_rr(r_peaks, window_of, n_windows, fallback=-1.0)
    for w in range(n_windows):
        rr = np.diff(r_peaks[window_of == w])
        assert got[w] == (np.median(rr) if len(rr) else -1.0)


def test_beats_stop_at_the_window_end_and_the_record_end():
    signal = np.sin(np.arange(2_600) / 7.0)
    r_peaks = np.array([100, 200, 300, 1_230, 2_400, 2_500, 2_590])  # 1230: 20 samples before a window end
    beats = wb.segment_beats(signal, r_peaks, window=1_250, rr_factor=1.2)
    lengths = (beats != 0).sum(1)
    assert lengths[0] == 120  # 1.2 x the window's median RR of 100
    assert lengths[3] <= 20 and not beats[3, 20:].any()
    assert lengths[6] <= 10 and not beats[6, 10:].any()  # kept, zero padded at the record end
    assert beats.shape == (7, BEAT_LENGTH) and beats.min() >= 0 and beats.max() <= 1


def test_lead_choice_prefers_mlii_then_lead_ii_then_the_first():
    assert wb.choose_lead(["V5", "MLII"]) == 1
    assert wb.choose_lead(["I", "II", "III"]) == 1
    assert wb.choose_lead(["ECG1", "ECG2"]) == 0


# ------------------------------------------------------------------------------- MIT-BIH (real data)


def test_record_100_gives_2273_beats(mitdb_dir, tmp_cache):
    beats = wb.rebuild_record(mitdb_dir, "100")
    assert len(beats) == 2_273
    assert tuple(np.bincount(beats.labels, minlength=5)) == RECORD_100_COUNTS
    assert beats.lead == "MLII" and beats.fs == 360
    assert beats.X.shape == (2_273, BEAT_LENGTH) and beats.X.dtype == np.float32
    # Each beat starts at its R peak, near the top of its [0, 1]-scaled window.
    assert np.median(beats.X[:, 0]) > 0.8


def test_the_signal_before_each_r_peak_continues_the_beat_before_it(mitdb_dir, tmp_cache):
    beats = wb.rebuild_record(mitdb_dir, "100")
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
    beats = wb.rebuild_record(mitdb_dir, record)
    assert beats.qrs.shape == (len(beats), len(QRS_FEATURES)) and beats.qrs.dtype == np.float32
    ratios = dict(zip(QRS_FEATURES, relative_to_record(beats.qrs).T, strict=True))
    normal, ventricular = beats.labels == 0, beats.labels == 2
    assert normal.sum() > 1000 and ventricular.sum() > 400  # both records have many of each
    for name in ("qrs_width_record", "qrs_area_record"):
        assert np.median(ratios[name][ventricular]) > 2 * np.median(ratios[name][normal]), name


@pytest.mark.parametrize("record", ["106", "119"])
def test_ventricular_beats_look_unlike_the_beats_beside_them(mitdb_dir, tmp_cache, record):
    # 119 is in ventricular bigeminy for long stretches, 106 has isolated premature ventricular beats and couplets.
    beats = wb.rebuild_record(mitdb_dir, record)
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
    assert sorted(np.unique(dataset.groups).tolist()) == [int(r) for r in wb.MITDB_RECORDS]
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
    assert train_records == {int(r) for r in wb.DS1} and test_records == {int(r) for r in wb.DS2}
    assert not train_records & test_records
    assert not {int(r) for r in wb.PACED_RECORDS} & set(mitdb_inter.groups)
    assert len(train) + len(test) == len(mitdb_inter.y)
    assert mitdb_inter.validation_by_group and "inter-patient" in mitdb_inter.provenance["protocol"]


def test_inter_patient_validation_comes_from_whole_ds1_records(mitdb_inter):
    (split,) = make_splits(mitdb_inter, protocol="auto", seed=0)
    groups = mitdb_inter.groups
    assert set(groups[split.val]) <= {int(r) for r in wb.DS1}
    assert not set(groups[split.val]) & set(groups[split.train])
    np.testing.assert_array_equal(split.test, mitdb_inter.predefined_split[1])


def test_ds1_cross_validation_never_loads_ds2_and_tests_every_ds1_record_once(mitdb_build, mitdb_dir):
    ds1 = data.load_dataset("mitdb-ds1", mitdb_dir.parent)
    assert set(ds1.groups) == {int(r) for r in wb.DS1}
    assert tuple(np.bincount(ds1.y, minlength=5)) == DS1_COUNTS
    folds = make_splits(ds1, protocol="group-kfold", n_folds=5, val_size=0.15, seed=0)
    tested = [r for s in folds for r in np.unique(ds1.groups[s.test])]
    assert sorted(tested) == sorted(int(r) for r in wb.DS1)
    for s in folds:  # no patient on two sides of a fold, validation included
        test, val, train = (set(ds1.groups[part]) for part in (s.test, s.val, s.train))
        assert not test & train and not test & val and not val & train


def test_dropping_the_last_beat_of_each_record_gives_the_kaggle_totals(mitdb_build, mitdb_dir):
    kaggle_totals = tuple(np.add(MITBIH_TRAIN.class_counts, MITBIH_TEST.class_counts))
    dataset = wb.load_mitdb_intra(mitdb_dir.parent, drop_last_beat=True)  # from the module's cache
    assert tuple(np.bincount(dataset.y, minlength=5)) == kaggle_totals


def test_second_load_comes_from_the_cache(mitdb_build, mitdb_dir, module_cache, monkeypatch, log_lines):
    first = mitdb_build

    def no_rebuild(*args, **kwargs):
        raise AssertionError("rebuilt a record although its beats were cached")

    monkeypatch.setattr(wb, "rebuild_record", no_rebuild)
    again = wb.load_mitdb_intra(mitdb_dir.parent)
    np.testing.assert_array_equal(again.X, first.X)
    np.testing.assert_array_equal(again.y, first.y)
    np.testing.assert_array_equal(again.groups, first.groups)
    assert again.provenance == first.provenance
    assert any("from the cache" in line and "109,494" in line for line in log_lines)
    assert len(list(module_cache.glob("mitdb_*.npz"))) == 48


def test_cache_is_invalidated_by_a_parameter_or_a_file_change(mitdb_dir, tmp_path, tmp_cache, rebuilds):
    first = wb.load_wfdb_database(mitdb_dir, ["100"])
    assert rebuilds == ["100"]
    same = wb.load_wfdb_database(mitdb_dir, ["100"])
    assert rebuilds == ["100"]  # from the cache
    np.testing.assert_array_equal(same.X, first.X)

    longer = wb.load_wfdb_database(mitdb_dir, ["100"], rr_factor=1.5)
    assert rebuilds == ["100", "100"]
    assert (longer.X != 0).sum() > (first.X != 0).sum()

    # An edited file (here a comment added to a copy of the header) changes the key as well.
    copy = tmp_path / "mitdb"
    copy.mkdir()
    for ext in ("hea", "dat", "atr"):
        (copy / f"100.{ext}").write_bytes((mitdb_dir / f"100.{ext}").read_bytes())
    wb.load_wfdb_database(copy, ["100"])
    assert rebuilds == ["100"] * 2  # same bytes, same key: the cache is shared across folders
    with open(copy / "100.hea", "a") as fh:
        fh.write("# edited\n")
    wb.load_wfdb_database(copy, ["100"])
    assert rebuilds == ["100"] * 3
    assert not list(mitdb_dir.parent.glob("**/*.npz")), "nothing may be written into the data folder"


# -------------------------------------------------------------------------- small WFDB databases


def _ecg(fs: float, beats: list[tuple[float, str]], duration_s: float) -> np.ndarray:
    """A lead with a narrow spike per N beat and a wide one followed by a deep T wave per V beat."""
    t = np.arange(int(duration_s * fs)) / fs
    signal = 0.05 * np.sin(2 * np.pi * 0.3 * t)  # baseline wander
    for at, symbol in beats:
        if symbol == "V":
            signal += 1.5 * np.exp(-0.5 * ((t - at) / 0.04) ** 2) - 0.8 * np.exp(-0.5 * ((t - at - 0.2) / 0.06) ** 2)
        else:
            signal += np.exp(-0.5 * ((t - at) / 0.012) ** 2) + 0.2 * np.exp(-0.5 * ((t - at - 0.25) / 0.04) ** 2)
    return signal


def _write_record(wfdb, folder: Path, name: str, fs: int, seed: int, ecg_lead: int = 0, lead_names=("ECG1", "ECG2")):
    """A 30 s record: N beats with every fifth one V, annotated, plus non-beat annotations; returns its beats."""
    rng = np.random.default_rng(seed)
    duration = 30.0
    times = 0.4 + np.cumsum(rng.uniform(0.7, 0.9, 40))
    times = times[times < duration - 0.3]
    beats = [(at, "V" if i % 5 == 4 else "N") for i, at in enumerate(times)]
    leads = np.column_stack([rng.normal(0, 0.02, int(duration * fs)) for _ in lead_names])
    leads[:, ecg_lead] += _ecg(fs, beats, duration)
    wfdb.wrsamp(name, fs=fs, units=["mV"] * len(lead_names), sig_name=list(lead_names), p_signal=leads,
                fmt=["16"] * len(lead_names), write_dir=str(folder))
    samples = [int(round(at * fs)) for at, _ in beats]
    extra = [(5, "+"), (int(10.1 * fs), "~"), (int(20.05 * fs), "x")]  # rhythm, noise, blocked P: not beats
    annotations = sorted([*zip(samples, [s for _, s in beats], strict=True), *extra])
    wfdb.wrann(name, "atr", np.array([a for a, _ in annotations]), symbol=[s for _, s in annotations],
               write_dir=str(folder))
    return beats


@pytest.fixture
def databases(wfdb, tmp_path, tmp_cache):
    """``alpha``: two records at 128 Hz with a RECORDS file; ``beta``: two at 250 Hz, lead II second, none."""
    alpha, beta = tmp_path / "alpha", tmp_path / "beta"
    alpha.mkdir()
    beta.mkdir()
    truth = {
        ("alpha", "100"): _write_record(wfdb, alpha, "100", 128, seed=0),
        ("alpha", "101"): _write_record(wfdb, alpha, "101", 128, seed=1),
        ("beta", "b1"): _write_record(wfdb, beta, "b1", 250, seed=2, ecg_lead=1, lead_names=("V1", "II")),
        ("beta", "b2"): _write_record(wfdb, beta, "b2", 250, seed=3, ecg_lead=1, lead_names=("V1", "II")),
    }
    (alpha / "RECORDS").write_text("100\n101\n")
    return tmp_path, truth


def _labels(beats) -> list[int]:
    return [AAMI_CLASSES.index(symbol) for _, symbol in beats]


def test_records_come_from_the_records_file_else_the_headers(databases):
    root, _ = databases
    assert wb.list_records(root / "alpha") == ["100", "101"]
    assert wb.list_records(root / "beta") == ["b1", "b2"]


@pytest.mark.parametrize("database", ["alpha", "beta"])
def test_beats_come_out_at_125_hz_with_their_labels_and_groups(databases, database):
    root, truth = databases
    dataset = wb.load_wfdb_database(root / database)
    records = [r for db, r in truth if db == database]
    expected = [label for r in records for label in _labels(truth[database, r])]
    assert dataset.X.shape == (len(expected), BEAT_LENGTH) and dataset.y.tolist() == expected
    # Every beat starts at its R peak, the top of its spike: positions map correctly to 125 Hz, and in beta
    # the ECG is read from lead II, not from the first (noise-only) lead. The annotation is rounded to the
    # source rate, then to 125 Hz, so a peak may lie up to ~0.75 sample after the beat's first sample.
    peak_at = dataset.X[:, :6].argmax(1)
    assert set(peak_at) <= {0, 1} and np.mean(peak_at == 0) > 0.75
    # A beat spans 1.2 x ~0.8 s at 125 Hz, then zeros (last beats are cut at the record end).
    lengths = (dataset.X != 0).sum(1)
    assert np.median(lengths) == pytest.approx(1.2 * 0.8 * 125, abs=8)
    assert not dataset.X[:, 140:].any()
    groups = [100, 101] if database == "alpha" else [0, 1]  # record numbers where the names are numbers
    sizes = [len(truth[database, r]) for r in records]
    assert dataset.groups.tolist() == np.repeat(groups, sizes).tolist()


def test_context_groups_become_columns_computed_per_record(databases):
    root, _ = databases
    default = wb.load_wfdb_database(root / "alpha")
    assert default.context_names == RR_FEATURES
    every = wb.load_wfdb_database(root / "alpha", context=["rr", "morphology", "pre_r", "qrs"])
    assert every.context_names == RR_FEATURES + MORPHOLOGY_FEATURES + PRE_R_FEATURES + QRS_FEATURES
    assert every.context.shape == (len(every.y), 31) and np.isfinite(every.context).all()
    np.testing.assert_array_equal(every.context[:, :6], default.context)
    assert every.provenance["params"]["context"] == ["rr", "morphology", "pre_r", "qrs"]
    # A record's context comes from that record alone: loading it without the other changes nothing.
    alone = wb.load_wfdb_database(root / "alpha", ["101"], context=["rr", "morphology", "pre_r", "qrs"])
    np.testing.assert_array_equal(every.context[every.groups == 101], alone.context)
    assert wb.load_wfdb_database(root / "alpha", context=[]).context is None


def test_an_unknown_context_group_is_refused_by_name(databases):
    root, _ = databases
    with pytest.raises(EcgbenchError, match="dataset option context: unknown group.*'qrs_width'.*known groups"):
        wb.load_wfdb_database(root / "alpha", context=["rr", "qrs_width"])


def test_a_damaged_cache_entry_is_rebuilt(databases, tmp_cache, rebuilds, log_lines):
    root, _ = databases
    first = wb.load_wfdb_database(root / "alpha", ["100"])
    (entry,) = tmp_cache.glob("alpha_100_*.npz")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    again = wb.load_wfdb_database(root / "alpha", ["100"])
    assert rebuilds == ["100", "100"]
    np.testing.assert_array_equal(again.X, first.X)
    assert any("ignoring unreadable cache file" in line for line in log_lines)


@pytest.mark.parametrize("params", [{"rr_factor": 0}, {"window_s": -1.0}, {"window_s": float("nan")}])
def test_bad_extraction_parameters_are_refused(databases, params):
    root, _ = databases
    with pytest.raises(EcgbenchError, match="must be positive"):
        wb.load_wfdb_database(root / "alpha", **params)


def test_cross_database_trains_on_one_and_tests_on_the_other(databases):
    root, truth = databases
    dataset = data.load_dataset("wfdb-cross", root, train="alpha", test="beta")
    train, test = dataset.predefined_split
    n_alpha = len(truth["alpha", "100"]) + len(truth["alpha", "101"])
    np.testing.assert_array_equal(train, np.arange(n_alpha))
    np.testing.assert_array_equal(test, np.arange(n_alpha, len(dataset.y)))
    assert dataset.y[test].tolist() == _labels(truth["beta", "b1"]) + _labels(truth["beta", "b2"])
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
        wb.load_cross_database(root, train="alpha", test="incartdb")


def test_cross_database_refuses_the_same_records_on_both_sides(databases):
    root, _ = databases
    with pytest.raises(EcgbenchError, match="share records 101"):
        wb.load_cross_database(root, train="alpha", test="alpha", train_records=["100", "101"], test_records=["101"])
    ok = wb.load_cross_database(root, train="alpha", test="alpha", train_records=["100"], test_records=["101"])
    assert set(ok.groups[ok.predefined_split[0]]) == {0} and set(ok.groups[ok.predefined_split[1]]) == {1}


def test_mitdb_datasets_are_registered_with_how_to_get_them(tmp_path):
    for name in ("mitdb-intra", "mitdb-inter", "mitdb-ds1"):
        spec = data.dataset_spec(name)
        assert spec.how_to_get == "run `python -m ecgbench data fetch mitdb`"
        assert not spec.is_available(tmp_path)
        with pytest.raises(EcgbenchError, match="python -m ecgbench data fetch mitdb"):
            data.require_available(name, tmp_path)


# --------------------------------------------------------------------------------------------- export


def test_export_round_trips_through_the_kaggle_reader(databases, tmp_path):
    root, _ = databases
    dataset = wb.load_cross_database(root, train="alpha", test="beta")
    paths = wb.export_csv(dataset, tmp_path / "export")
    assert [p.name for p in paths] == ["wfdb-cross_train.csv", "wfdb-cross_train_groups.csv",
                                       "wfdb-cross_test.csv", "wfdb-cross_test_groups.csv"]
    for (beats, groups), rows in zip((paths[:2], paths[2:]), dataset.predefined_split, strict=True):
        X, y = read_beats_csv(beats, len(AAMI_CLASSES))
        np.testing.assert_array_equal(X, dataset.X[rows])  # %.18e prints float32 exactly
        np.testing.assert_array_equal(y, dataset.y[rows])
        np.testing.assert_array_equal(np.loadtxt(groups, dtype=np.int64, ndmin=1), dataset.groups[rows])
    first_value = paths[0].read_text().split(",", 1)[0]
    assert len(first_value.split("e")[0].split(".")[1]) == 18  # Kaggle's %.18e


def test_export_without_a_split_writes_one_file_and_its_groups(databases, tmp_path):
    root, _ = databases
    dataset = wb.load_wfdb_database(root / "alpha")
    paths = wb.export_csv(dataset, tmp_path / "export")
    assert [p.name for p in paths] == ["alpha.csv", "alpha_groups.csv"]
    X, y = read_beats_csv(paths[0], len(AAMI_CLASSES))
    np.testing.assert_array_equal(X, dataset.X)
    np.testing.assert_array_equal(y, dataset.y)
    np.testing.assert_array_equal(np.loadtxt(paths[1], dtype=np.int64), dataset.groups)
