"""Per-beat context (RR intervals, morphology against the record, the signal before the R peak): the features,
how they reach the models, and the peak-memory probe."""

from pathlib import Path

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.memory import PeakMemory
from ecgbench.data import BEAT_LENGTH, Dataset, load_dataset
from ecgbench.data.context import (
    MORPHOLOGY_FEATURES,
    NEIGHBOUR_FEATURES,
    PRE_R_FEATURES,
    QRS_FEATURES,
    check_groups,
    context_names,
    morphology_features,
    neighbour_correlations,
    neighbour_features,
    pre_r_samples,
    qrs_measures,
    relative_to_record,
    unlike_nearby,
)
from ecgbench.data.rr import RR_FEATURES, rr_features
from ecgbench.models import Model, build, register
from ecgbench.models.features import balanced_sample
from ecgbench.models.rocket import column_mean_std
from ecgbench.run.runner import model_input


def test_a_regular_rhythm_has_neutral_ratios():
    features = rr_features(np.arange(30) * 0.8)
    assert features.shape == (30, len(RR_FEATURES))
    assert np.allclose(features, 1.0)


def test_a_premature_beat_comes_early_and_is_followed_by_a_pause():
    times = np.arange(30) * 1.0
    times[15] -= 0.35  # premature by 35%
    features = dict(zip(RR_FEATURES, rr_features(times)[15], strict=True))
    assert features["pre_local"] < 0.7 and features["post_local"] > 1.25
    assert features["pre_post"] == pytest.approx(0.65 / 1.35, rel=1e-5)
    neighbour = dict(zip(RR_FEATURES, rr_features(times)[5], strict=True))
    assert neighbour["pre_post"] == pytest.approx(1.0)


def test_the_ratios_do_not_depend_on_the_heart_rate():
    times = np.cumsum(np.random.default_rng(0).uniform(0.6, 1.2, 50))
    assert np.allclose(rr_features(times), rr_features(times * 1.7), atol=1e-5)


@pytest.mark.parametrize("n", [0, 1, 2])
def test_short_records_get_features_of_the_right_shape(n):
    features = rr_features(np.arange(n) * 0.9)
    assert features.shape == (n, len(RR_FEATURES)) and np.isfinite(features).all()


def test_the_synthetic_dataset_carries_rr_context():
    dataset = load_dataset("synthetic", n_beats=600, n_patients=6)
    assert dataset.context.shape == (600, len(RR_FEATURES))
    assert dataset.context_names == RR_FEATURES


def test_a_context_of_the_wrong_shape_is_refused():
    with pytest.raises(ValueError, match="context"):
        Dataset("bad", np.zeros((3, 5)), np.zeros(3), ("a",), context=np.zeros((3, 2)), context_names=("x",))


def test_context_columns_reach_only_the_models_that_take_them():
    from ecgbench import models

    dataset = load_dataset("synthetic", n_beats=600, n_patients=6)
    X, n_context = model_input(dataset, "cnn")
    assert n_context == len(RR_FEATURES)
    assert np.array_equal(X[:, -n_context:], dataset.context) and np.array_equal(X[:, :-n_context], dataset.X)

    @register("no-context-for-test")
    class Plain(Model):
        pass

    try:
        X, n_context = model_input(dataset, "no-context-for-test")
        assert n_context == 0 and X.shape == dataset.X.shape
        with pytest.raises(EcgbenchError, match="context"):
            build("no-context-for-test", n_classes=5, n_context=2)
    finally:
        models.MODELS.remove("no-context-for-test")


def test_the_balanced_selection_sample_favours_no_class():
    y = np.repeat([0, 1, 2, 3, 4], [7000, 200, 500, 50, 600])
    sample = balanced_sample(y, 1000, np.random.default_rng(0))
    assert len(sample) == 1000 and len(np.unique(sample)) == 1000
    assert np.bincount(y[sample]).tolist() == [250, 200, 250, 50, 250]


def test_chunked_standardisation_matches_numpy():
    features = np.random.default_rng(0).normal(3, 2, (1000, 7)).astype(np.float32)
    features[:, 3] = 5.0  # a constant column gets scale 1, not a division by zero
    mean, std = column_mean_std(features, [slice(0, 300), slice(300, 1000)])
    assert np.allclose(mean, features.mean(0), atol=1e-4)
    assert np.allclose(std[[0, 1, 2, 4, 5, 6]], features.std(0)[[0, 1, 2, 4, 5, 6]], rtol=1e-4)
    assert std[3] == 1.0


def test_peak_memory_sees_a_large_allocation():
    with PeakMemory() as small:
        np.ones(1000)
    with PeakMemory() as large:
        block = np.ones(40_000_000)  # 320 MB
        block[::4096] = 2.0
    assert large.mb > small.mb + 200 if large.scope == "work" else large.mb > 300


@pytest.mark.parametrize(
    ("run", "out"),
    [("runs/r", "runs"), ("r/r", "."), ("r", "r/cells")],
    ids=["copy-is-the-run", "copy-holds-the-run", "copy-inside-the-run"],
)
def test_the_peak_memory_report_refuses_an_out_whose_copy_would_overlap_the_run(run, out, tmp_path, capsys):
    """benchmarks/peak_memory.py empties its copy's folder (OUT/RUN-NAME) first: an --out where that copy would be
    the run, hold it or lie inside it is refused (exit 2, one line), and the run is left whole (a measured run was
    lost that way)."""
    import runpy

    main = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "peak_memory.py"))["main"]
    run, out = tmp_path / run, tmp_path / out
    (run / "cells").mkdir(parents=True)
    (run / "manifest.json").write_text("{}")
    with pytest.raises(SystemExit) as stop:
        main([str(run), "--out", str(out)])
    assert stop.value.code == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: --out {out}:") and "would overlap the run" in line
    assert (run / "manifest.json").read_text() == "{}" and (run / "cells").is_dir()


def _allocate(mb: int) -> None:
    block = np.ones(mb * 1024 * 1024 // 8)
    block[::512] = 2.0  # touched, so resident


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="per-process peaks need Linux's /proc")
def test_peak_memory_counts_the_worker_processes_the_work_started(monkeypatch):
    from ecgbench.core import threads

    monkeypatch.setattr(threads, "_threads", 2)
    with threads.pinned():  # a first pool starts the resource trackers that outlive it: not the work's
        list(threads.process_pool().map(_allocate, [1, 1]))
    peaks = []
    for mb in (1, 300):
        with threads.pinned(), PeakMemory() as peak:  # the runner's order: the pool ends after the peak is read
            list(threads.process_pool().map(_allocate, [mb, 1]))
        peaks.append(peak.mb)
    assert peaks[1] > peaks[0] + 250
    with PeakMemory() as without_pool:
        pass
    assert without_pool.mb < peaks[0]  # no pool: the workers' memory is not there


@pytest.mark.slow
def test_tsfresh_features_extracted_in_chunks_match_one_pass():
    from ecgbench.models.features import extract

    X = np.random.default_rng(0).random((25, 187)).astype(np.float32)
    settings = {
        "mean": None,
        "maximum": None,
        "quantile": [{"q": 0.1}],
        "fft_coefficient": [{"coeff": 1, "attr": "abs"}],
    }
    whole, columns = extract(X, settings)
    chunked, chunk_columns = extract(X, settings, chunk_size=7)
    assert chunk_columns == columns and whole.shape == (25, 4)
    np.testing.assert_array_equal(chunked, whole)
    reordered, _ = extract(X, settings, columns=columns[::-1], chunk_size=7)
    np.testing.assert_array_equal(reordered, whole[:, ::-1])


# ------------------------------------------------------------------------------ morphology and pre-R groups


def _bump_beats(n: int, rng) -> np.ndarray:
    t = np.arange(BEAT_LENGTH)
    beat = np.exp(-0.5 * ((t - 5) / 3) ** 2) + 0.3 * np.exp(-0.5 * ((t - 60) / 10) ** 2)
    return beat + rng.normal(0, 0.01, (n, BEAT_LENGTH))


def test_a_record_of_identical_beats_has_neutral_morphology():
    X = np.tile(_bump_beats(1, np.random.default_rng(0)), (10, 1))
    features = dict(zip(MORPHOLOGY_FEATURES, morphology_features(X).T, strict=True))
    assert np.allclose(features["corr_record"], 1) and np.allclose(features["corr_record_early"], 1)
    assert np.allclose(features["rms_from_record"], 0, atol=1e-6) and np.allclose(features["max_from_record"], 0)


def test_a_beat_unlike_its_record_stands_out_whatever_the_record_looks_like():
    rng = np.random.default_rng(1)
    for usual in (_bump_beats(30, rng), 0.5 - _bump_beats(30, rng)):  # two patients, opposite morphologies
        X = usual.copy()
        X[7] = 0.5 - X[7]  # one beat upside down, as a ventricular beat can be
        features = dict(zip(MORPHOLOGY_FEATURES, morphology_features(X).T, strict=True))
        others = np.arange(30) != 7
        assert features["corr_record"][7] < 0 < features["corr_record"][others].min()
        assert features["corr_record_early"][7] < 0
        assert features["rms_from_record"][7] > 5 * features["rms_from_record"][others].max()
        assert features["max_from_record"][7] > 5 * features["max_from_record"][others].max()


def test_morphology_of_an_empty_record_has_the_right_shape():
    assert morphology_features(np.zeros((0, BEAT_LENGTH))).shape == (0, len(MORPHOLOGY_FEATURES))


def test_pre_r_samples_are_the_signal_before_each_peak():
    scaled = np.linspace(0, 1, 400)
    samples = pre_r_samples(scaled, np.array([100, 5]))
    assert samples.shape == (2, len(PRE_R_FEATURES)) == (2, 16)
    np.testing.assert_allclose(samples[0], scaled[100 - 32 : 100 : 2], rtol=1e-6)
    np.testing.assert_allclose(samples[1], scaled[np.clip(np.arange(5 - 32, 5, 2), 0, None)], rtol=1e-6)
    assert PRE_R_FEATURES[0] == "pre_r_256ms" and PRE_R_FEATURES[-1] == "pre_r_16ms"


@pytest.mark.parametrize(
    ("groups", "problem"),
    [(["rr", "qrs_width"], "unknown group(s) 'qrs_width'"), (["rr", "rr"], "a group named twice")],
)
def test_unknown_or_repeated_context_groups_are_refused_by_name(groups, problem):
    known = r"dataset option context: .*known groups: rr, morphology, pre_r, qrs, neighbours"
    with pytest.raises(EcgbenchError, match=known) as err:
        check_groups(groups)
    assert problem in str(err.value)


def _qrs_signal(widths, heights, period=100, fs=125):
    """A flat line with one triangular QRS per ``period`` samples; each (half-)width in samples and height as given."""
    signal = np.zeros(period * (len(widths) + 1))
    peaks = period * (np.arange(len(widths)) + 1)
    for peak, half, height in zip(peaks, widths, heights, strict=True):
        signal[peak - half : peak + half + 1] = height * (1 - np.abs(np.arange(-half, half + 1)) / half)
    return signal, peaks


def test_qrs_measures_see_a_wide_tall_beat_among_narrow_ones():
    signal, peaks = _qrs_signal([3, 3, 8, 3, 3], [1.0, 1.0, 2.0, 1.0, 1.0])
    measures = dict(zip(QRS_FEATURES, relative_to_record(qrs_measures(signal, peaks)).T, strict=True))
    assert measures["qrs_pp_record"].tolist() == pytest.approx([1, 1, 2, 1, 1])
    assert measures["r_height_record"].tolist() == pytest.approx([1, 1, 2, 1, 1])
    assert measures["qrs_width_record"][2] > 2 and np.allclose(np.delete(measures["qrs_width_record"], 2), 1)
    assert measures["qrs_area_record"][2] == pytest.approx(2 * 8 / 3, rel=0.05)  # twice as tall, 8/3 as wide


def test_qrs_ratios_do_not_depend_on_the_gain_or_the_offset_of_the_lead():
    signal, peaks = _qrs_signal([3, 5, 3, 4, 3, 6], [1.0, 1.5, 0.8, 1.0, 1.2, 2.0])
    signal = signal + np.sin(np.arange(len(signal)) / 50)  # baseline wander
    np.testing.assert_allclose(
        relative_to_record(qrs_measures(signal, peaks)),
        relative_to_record(qrs_measures(0.004 * signal - 3.0, peaks)),
        rtol=1e-4,
        atol=1e-5,
    )


def test_qrs_measures_of_edges_and_empty_records():
    signal, _ = _qrs_signal([3], [1.0])
    assert qrs_measures(signal, np.array([0, len(signal) - 1])).shape == (2, len(QRS_FEATURES))
    assert qrs_measures(np.zeros(0), np.array([], dtype=int)).shape == (0, len(QRS_FEATURES))
    flat = relative_to_record(qrs_measures(np.zeros(500), np.array([100, 300])))
    assert np.isfinite(flat).all() and not flat.any()  # a flat lead: zeros, not a division by zero


def test_context_groups_come_in_the_order_asked():
    assert context_names(check_groups(["pre_r", "rr"])) == PRE_R_FEATURES + RR_FEATURES
    assert check_groups("rr") == ("rr",) and context_names(()) == ()


# ---------------------------------------------------------------------------------------------- neighbours


def test_a_beat_unlike_both_neighbours_has_low_correlations_with_them():
    signal, peaks = _qrs_signal([3, 3, 3, 3, 3], [1.0, 1.0, 1.0, 1.0, 1.0])
    signal[peaks[2] - 3 : peaks[2] + 4] *= -1  # the middle beat upside down
    correlations = neighbour_correlations(signal, peaks)
    assert correlations.shape == (5, 2) and correlations.dtype == np.float32
    previous, following = correlations.T
    assert previous[2] < 0 and following[2] < 0  # the odd beat against both neighbours
    assert following[1] < 0 and previous[3] < 0  # its neighbours against it
    assert following[0] == pytest.approx(1) and previous[4] == pytest.approx(1)  # alike neighbours
    assert previous[0] == 1 and following[4] == 1  # no beat before the first or after the last


def test_neighbour_correlations_do_not_depend_on_the_gain_or_the_offset():
    signal, peaks = _qrs_signal([3, 5, 3, 8, 3], [1.0, 1.5, 0.8, 2.0, 1.0])
    np.testing.assert_allclose(
        neighbour_correlations(signal, peaks), neighbour_correlations(0.004 * signal - 3.0, peaks), atol=1e-4
    )
    assert neighbour_correlations(np.zeros(0), np.array([], dtype=int)).shape == (0, 2)


def test_unlike_nearby_counts_the_unusual_beats_around_each_beat():
    corr = np.full(60, 0.95)
    corr[20:30] = 0.1  # a run of ten unusual beats
    share = unlike_nearby(corr, nearby=10)
    assert share[25] == pytest.approx(10 / 21) and share[50] == 0
    assert share[0] == pytest.approx(0) and share[10] == pytest.approx(1 / 21)
    assert unlike_nearby(corr[:3], nearby=10).tolist() == [0, 0, 0]  # fewer beats at the ends: a share of those
    edge = unlike_nearby(np.r_[0.1, np.full(30, 0.95)], nearby=10)
    assert edge[0] == pytest.approx(1 / 11)  # 11 beats from the first beat to 10 after it


def test_neighbour_features_put_the_neighbours_record_correlations_beside_each_beat():
    class Beats:  # the two fields neighbour_features reads from a RecordBeats
        X = _bump_beats(30, np.random.default_rng(2))
        neighbours = np.ones((30, 2), dtype=np.float32)

    Beats.X[7] = 0.5 - Beats.X[7]
    features = dict(zip(NEIGHBOUR_FEATURES, neighbour_features(Beats).T, strict=True))
    corr_record = morphology_features(Beats.X)[:, 0]
    assert features["corr_record_previous"][8] == corr_record[7] < 0
    assert features["corr_record_next"][6] == corr_record[7]
    assert features["corr_record_previous"][0] == corr_record[0] and features["corr_record_next"][29] == corr_record[29]
    assert features["unlike_nearby"][7] == pytest.approx(1 / 18)  # beats 0 to 17: 7 is near the record's start
    assert features["unlike_nearby"][29] == 0


def _run_with_one_cell(root: Path, labels, proba, accuracy: str, fit_seconds: str = "1.5") -> Path:
    import pandas as pd

    cell = root / "cells" / "d" / "holdout" / "m" / "seed0"
    cell.mkdir(parents=True)
    table = {"index": np.arange(len(labels)), "y_pred": np.asarray(labels, dtype=np.int16)}
    table.update({f"p_{c}": np.asarray(column, dtype=np.uint16) for c, column in zip("NS", proba, strict=True)})
    pd.DataFrame(table).to_parquet(cell / "predictions.parquet")
    header = "dataset,split,model,seed,accuracy,fit_seconds"
    (root / "results.csv").write_text(f"{header}\nd,holdout,m,0,{accuracy},{fit_seconds}\n")
    return root


def test_same_predictions_counts_differing_labels_probability_steps_and_scores(tmp_path):
    """benchmarks/same_predictions.py, which the identity claims of docs/decisions.md rest on: a label, a
    probability one stored step apart and a score that differ are each counted; the fit time is not a score."""
    import json
    import runpy

    main = runpy.run_path(str(Path(__file__).resolve().parents[1] / "benchmarks" / "same_predictions.py"))["main"]
    a = _run_with_one_cell(tmp_path / "a", [0, 1, 0], [[65535, 0, 65535], [0, 65535, 0]], "0.9")
    b = _run_with_one_cell(tmp_path / "b", [0, 0, 0], [[65535, 65535, 65534], [0, 0, 1]], "0.8", "2.5")
    assert main([str(a), str(b), "--out", str(tmp_path / "out")]) == 0
    (cell,) = json.loads((tmp_path / "out" / "same_predictions.json").read_text())["cells"]
    assert cell["labels_differ"] == 1 and cell["beats_with_proba_differences"] == 2 and cell["proba_max_steps"] == 65535
    assert cell["scores_differ"] == ["accuracy"]
    assert main([str(a), str(a), "--out", str(tmp_path / "same")]) == 0
    (cell,) = json.loads((tmp_path / "same" / "same_predictions.json").read_text())["cells"]
    assert (cell["labels_differ"], cell["beats_with_proba_differences"], cell["scores_differ"]) == (0, 0, [])
