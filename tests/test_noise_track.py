"""Tests of the noise stress track (ecgbench/data/noise_track.py, ecgbench/reports/noise_report.py) on a few real
MIT-BIH and nstdb records (read from ``$ECGBENCH_DATA``; they skip where absent), and of the cross-database
leaderboard section on the small WFDB databases of tests/conftest.py."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import ecgbench.data as data
from ecgbench.cli import main
from ecgbench.core.errors import EcgbenchError
from ecgbench.data import noise_track as nt
from ecgbench.data import resolve_data_dir
from ecgbench.data.context import context_names
from ecgbench.data.wfdb_dataset import BeatParams, read_database
from ecgbench.reports.noise_report import breaking_snr

CONTEXT = ["rr", "morphology", "pre_r", "qrs", "neighbours"]
SMALL = {
    "train_records": ["101", "106"],
    "test_records": ["100", "103"],
    "noises": ["em"],
    "snrs": [24, 12, 0],
    "context": CONTEXT,
}
PUBLISHED = Path(__file__).resolve().parent.parent / "benchmarks" / "published.toml"


@pytest.fixture(scope="module")
def data_dir():
    pytest.importorskip("wfdb")
    root = resolve_data_dir()
    if nt._missing(root, **{k: v for k, v in SMALL.items() if k != "context"}):
        pytest.skip(
            f"mitdb/ and nstdb/ records not found in $ECGBENCH_DATA ({root}): run with ECGBENCH_DATA=../shared/data"
        )
    return root


@pytest.fixture(scope="module")
def small(data_dir, module_cache):
    return data.load_dataset("mitdb-noise", data_dir, shipped=False, **SMALL)


def test_the_clean_condition_is_mitdb_inter_s_ds2_beats_in_the_noisy_segments(data_dir, module_cache, small):
    inter = data.load_dataset("mitdb-inter", data_dir, context=CONTEXT)
    test = inter.predefined_split[1]
    clean = small.columns["condition"] == "DS2/clean"
    beats, _ = read_database(data_dir / "mitdb", SMALL["test_records"], BeatParams())
    for record, record_beats in zip(SMALL["test_records"], beats, strict=True):
        in_noise = nt.in_segments(record_beats, nt._segments(data_dir / "mitdb", record, "standard"))
        rows = test[inter.groups[test] == int(record)]  # record by record, beat by beat (annotation sample)
        assert len(rows) == len(record_beats) and 0 < in_noise.sum() < len(rows)
        ours = clean & (small.groups == int(record))
        np.testing.assert_array_equal(small.X[ours], inter.X[rows][in_noise])
        np.testing.assert_array_equal(small.y[ours], inter.y[rows][in_noise])
        np.testing.assert_array_equal(small.context[ours], inter.context[rows][in_noise])
    # Training: DS1 less 118 and 119 by default; here the two records asked for, clean, with no condition.
    train, test_rows = small.predefined_split
    assert set(small.groups[train]) == {101, 106} and set(small.columns["condition"][train]) == {""}
    assert set(small.groups[test_rows]) == {100, 103} and "118" not in nt.TRAIN and "119" not in nt.TRAIN
    assert small.provenance["conditions"] == {
        "DS2/clean": clean.sum(),
        "DS2/em/24": clean.sum(),
        "DS2/em/12": clean.sum(),
        "DS2/em/0": clean.sum(),
    }


def test_condition_beats_are_cut_from_the_noisy_signal_and_only_the_signal_changes(small, data_dir, module_cache):
    clean = small.columns["condition"] == "DS2/clean"
    rr = [i for i, name in enumerate(small.context_names) if name in context_names(["rr"])]
    differences = []
    for snr in (24, 12, 0):
        noisy = small.columns["condition"] == f"DS2/em/{snr}"
        np.testing.assert_array_equal(small.y[noisy], small.y[clean])  # the same beats, in the same order
        np.testing.assert_array_equal(small.groups[noisy], small.groups[clean])
        np.testing.assert_array_equal(small.context[noisy][:, rr], small.context[clean][:, rr])  # annotations
        differences.append(np.abs(small.X[noisy] - small.X[clean]).mean())
    assert 0 < differences[0] < differences[1] < differences[2]  # more noise, further from the clean beats
    # Deterministic: the same seed (from the cache or not) gives the same beats, another seed other noise.
    again = data.load_dataset("mitdb-noise", data_dir, shipped=False, **SMALL)
    np.testing.assert_array_equal(again.X, small.X)
    other = data.load_dataset("mitdb-noise", data_dir, shipped=False, seed=1, **{**SMALL, "snrs": [0]})
    assert not np.array_equal(
        other.X[other.columns["condition"] == "DS2/em/0"], small.X[small.columns["condition"] == "DS2/em/0"]
    )


def test_the_shipped_records_are_nstdb_s_signals_at_mitdb_s_beats(data_dir, module_cache):
    dataset = data.load_dataset("mitdb-noise", data_dir, **{**SMALL, "snrs": [12]})
    names = list(dataset.provenance["conditions"])
    assert names[-7:] == ["nstdb/clean", *(f"nstdb/em/{s}" for s in (24, 18, 12, 6, 0, -6))]
    clean = dataset.columns["condition"] == "nstdb/clean"
    assert set(dataset.groups[clean]) == {118, 119}
    distance = [
        np.abs(dataset.X[dataset.columns["condition"] == f"nstdb/em/{s}"] - dataset.X[clean]).mean() for s in (24, 0)
    ]
    assert 0 < distance[0] < distance[1]
    with pytest.raises(Exception, match="leave them out of train_records"):
        data.load_dataset("mitdb-noise", data_dir, **{**SMALL, "train_records": ["118"]})


def test_a_noise_run_fits_once_per_cell_and_reports_every_condition(data_dir, module_cache, tmp_path, monkeypatch):
    from ecgbench.models.rocket import MiniRocketModel

    fits = []
    fit = MiniRocketModel.fit
    monkeypatch.setattr(MiniRocketModel, "fit", lambda self, *a, **k: (fits.append(1), fit(self, *a, **k))[1])
    suite = tmp_path / "noise.toml"
    params = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in SMALL.items())
    suite.write_text(
        'description = "small"\ndatasets = ["mitdb-noise"]\nmodels = ["minirocket"]\nseeds = [0, 1]\n'
        f"[dataset_params.mitdb-noise]\n{params}\n"
        '[split]\nprotocol = "predefined"\n[model_params.minirocket]\nnum_kernels = 200\n'
    )
    args = ["--results-dir", str(tmp_path), "--data-dir", str(data_dir)]
    assert main(["run", "--suite", str(suite), "--run-id", "noise", *args]) == 0
    assert len(fits) == 2  # one fit per cell (two seeds), never one per condition

    cell = tmp_path / "noise" / "cells" / "mitdb-noise" / "predefined" / "minirocket" / "seed0"
    predictions = pd.read_parquet(cell / "predictions.parquet")
    counts = predictions["condition"].value_counts()
    ds2, nstdb = (counts[counts.index.str.startswith(group)] for group in ("DS2/", "nstdb/"))
    assert set(ds2.index) == {"DS2/clean", "DS2/em/24", "DS2/em/12", "DS2/em/0"} and ds2.nunique() == 1
    assert len(nstdb) == 7 and nstdb.nunique() == 1  # the same beats in every condition of a group

    summary = (tmp_path / "noise" / "summary.md").read_text()
    assert "### Scores per noise condition" in summary and "#### minirocket" in summary
    assert (
        "(noise/mitdb-noise/minirocket.png)" in summary
        and (tmp_path / "noise" / "noise" / "mitdb-noise" / "minirocket.png").is_file()
    )
    assert "| accuracy | em | " in summary and "| Se V | em | " in summary and "| 24 dB | 12 dB | 0 dB |" in summary
    assert "| minirocket | DS2 | em | " in summary and "| minirocket | nstdb | em | " in summary  # -5 points

    out = tmp_path / "README.md"
    assert (
        main(["leaderboard", "noise", "--results-dir", str(tmp_path), "--published", str(PUBLISHED), "--out", str(out)])
        == 0
    )
    section = out.read_text().split("## Noise stress")[1]
    assert "### `mitdb-noise` (run `noise`)" in section and "| minirocket | DS2 em | " in section


def test_a_cross_database_run_finds_its_leaderboard_section(databases):
    root, _ = databases  # alpha at 128 Hz, beta at 250 Hz
    args = ["--results-dir", str(root / "results"), "--data-dir", str(root)]
    suite = root / "cross.toml"
    suite.write_text(
        'description = "small"\ndatasets = ["wfdb-cross"]\nmodels = ["minirocket"]\n'
        '[dataset_params.wfdb-cross]\ntrain = "alpha"\ntest = "beta"\ncontext = []\n'
        '[split]\nprotocol = "predefined"\nval_size = 0.3\n[model_params.minirocket]\nnum_kernels = 200\n'
    )
    assert main(["run", "--suite", str(suite), "--run-id", "cross", *args]) == 0
    out = root / "README.md"
    assert (
        main(
            [
                "leaderboard",
                "cross",
                "--results-dir",
                str(root / "results"),
                "--published",
                str(PUBLISHED),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    section = out.read_text().split("## Cross-database")[1]
    assert "### `wfdb-cross` (run `cross`)" in section and "| minirocket | 1 |" in section


def test_the_breaking_snr_is_interpolated_between_grid_points():
    points = [(24, 0.95), (12, 0.93), (6, 0.85), (0, 0.6)]
    assert breaking_snr(0.96, points) == "10.5 dB"  # 0.91: a quarter of the way from 0.93 (12 dB) to 0.85 (6 dB)
    assert breaking_snr(0.96, [(24, 0.95), (0, 0.92)]) == "not reached"
    assert breaking_snr(0.96, [(24, 0.90), (0, 0.5)]) == "above 24 dB"


# ---- R peaks re-detected (r_peaks = "xqrs") -------------------------------------------------------------------


def test_detections_are_matched_to_the_nearest_reference_beat_within_150_ms():
    from ecgbench.data.detection import matched_reference

    reference = np.array([100, 500, 900, 1300])
    detected = np.array([105, 300, 860, 905, 1400])  # 860 and 905 compete for 900: the nearer one wins
    np.testing.assert_array_equal(matched_reference(reference, detected, fs=360.0), [0, -1, -1, 2, -1])
    assert len(matched_reference(reference, np.zeros(0, dtype=np.int64), fs=360.0)) == 0


def test_xqrs_finds_the_beats_of_a_clean_record_and_labels_them_from_the_reference(data_dir):
    from ecgbench.data.detection import MATCH_WINDOW_S, redetected
    from ecgbench.data.records import read_record

    recording = read_record(data_dir / "mitdb", "100")
    found = redetected(recording)
    matched = found.labels >= 0
    assert matched.sum() / len(recording.samples) > 0.99 and matched.mean() > 0.99  # Se and +P on a clean record
    nearest = np.abs(found.samples[matched, None] - recording.samples[None, :]).argmin(1)
    np.testing.assert_array_equal(found.labels[matched], recording.labels[nearest])
    assert np.all(np.abs(found.samples[matched] - recording.samples[nearest]) < MATCH_WINDOW_S * recording.fs)
    assert set(found.symbols[~matched]) <= {"?"}


@pytest.fixture(scope="module")
def detected(data_dir, module_cache):
    return data.load_dataset("mitdb-noise", data_dir, shipped=False, r_peaks="xqrs", **SMALL)


def test_re_detected_r_peaks_make_the_rr_intervals_see_the_noise(small, detected):
    counts = detected.provenance["detection"]
    assert list(counts) == ["DS2/clean", "DS2/em/24", "DS2/em/12", "DS2/em/0"]
    reference = (small.columns["condition"] == "DS2/clean").sum()
    for name, c in counts.items():
        assert c["reference"] == reference  # the reference beats of the scored segments, in every condition
        assert (detected.columns["condition"] == name).sum() == c["matched"]  # the scored beats: the matched detections
    assert counts["DS2/clean"]["sensitivity"] > 0.99 and counts["DS2/clean"]["positive_predictivity"] > 0.99

    def f1(c):
        return 2 * c["matched"] / (c["reference"] + c["detected"])

    assert f1(counts["DS2/em/0"]) < f1(counts["DS2/em/24"])  # noise costs the detector beats
    rr = [i for i, name in enumerate(detected.context_names) if name in context_names(["rr"])]
    clean, noisy = (
        detected.context[detected.columns["condition"] == name][:, rr] for name in ("DS2/clean", "DS2/em/0")
    )
    assert clean.shape != noisy.shape or not np.array_equal(clean, noisy)  # unlike at the reference R peaks
    assert "re-detected by XQRS" in detected.provenance["protocol"]
    assert small.provenance["noise"]["r_peaks"] == "reference" and "detection" not in small.provenance
    with pytest.raises(EcgbenchError, match='r_peaks = "gqrs": must be one of "reference", "xqrs"'):
        data.load_dataset("mitdb-noise", data_dir=Path("."), r_peaks="gqrs")


def test_a_run_with_re_detected_r_peaks_says_so_and_reports_the_detector(data_dir, module_cache, tmp_path):
    suite = tmp_path / "noise.toml"
    suite.write_text(
        'datasets = ["mitdb-noise"]\nmodels = ["minirocket"]\nseeds = [0]\n'
        '[dataset_params.mitdb-noise]\ntrain_records = ["101", "106"]\ntest_records = ["100", "103"]\n'
        'noises = ["em"]\nsnrs = [0]\nshipped = false\nr_peaks = "xqrs"\n'
        '[split]\nprotocol = "predefined"\n[model_params.minirocket]\nnum_kernels = 200\n'
    )
    assert (
        main(
            [
                "run",
                "--suite",
                str(suite),
                "--run-id",
                "detected",
                "--results-dir",
                str(tmp_path),
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    summary = (tmp_path / "detected" / "summary.md").read_text()
    assert "R peaks re-detected in every condition's own signal (clean included) by wfdb's XQRS" in summary
    assert "RR intervals come from the annotations" not in summary
    table = summary.split("R-peak detection per condition")[1].split("\n\n")[1].splitlines()
    assert table[0] == "| condition | reference beats | detections | matched | Se | +P |"
    assert [row.split(" | ")[0] for row in table[2:]] == ["| DS2/clean", "| DS2/em/0"]
