"""Tests of the embedded ``synthetic`` dataset (simulated beats; see ecgbench/data/synthetic.py)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

import ecgbench.data as data
from ecgbench.core.io import sha256_array
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH
from ecgbench.data import synthetic as syn

# Smaller than the default (8000 beats, 48 patients) to keep the tests fast; large enough for every class.
N_BEATS, N_PATIENTS = 3000, 24

# sha256_array(X, y, groups, context) of the default dataset and of a quick one, computed before the data/
# modules were split by concept: a change to the simulator or to the beat segmentation shows here.
PINNED_CHECKSUMS = {
    (): "566fcdb059fd4aa55234d8d95782362ac6e1bd03f86ae7ec827ad54d85b84ae4",
    (("n_beats", 1500),): "ffd295d6cbdaf367d1bc1dc3a544ddf61df5098c2912638679c8d453ac3dab11",
}


@pytest.fixture(scope="module")
def ds():
    return syn.load_synthetic(None, n_beats=N_BEATS, n_patients=N_PATIENTS, seed=0)


def test_shape_dtype_and_range(ds):
    assert ds.X.shape == (N_BEATS, BEAT_LENGTH)
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    assert ds.X.min() >= 0.0 and ds.X.max() <= 1.0
    assert np.isfinite(ds.X).all()
    assert ds.classes == AAMI_CLASSES


def test_deterministic_for_a_seed_and_different_for_another(ds):
    again = syn.load_synthetic(None, n_beats=N_BEATS, n_patients=N_PATIENTS, seed=0)
    np.testing.assert_array_equal(again.X, ds.X)
    np.testing.assert_array_equal(again.y, ds.y)
    np.testing.assert_array_equal(again.groups, ds.groups)
    assert again.provenance["checksum"] == ds.provenance["checksum"]
    other = syn.load_synthetic(None, n_beats=N_BEATS, n_patients=N_PATIENTS, seed=1)
    assert other.X.shape == ds.X.shape and not np.array_equal(other.X, ds.X)
    assert other.provenance["checksum"] != ds.provenance["checksum"]


@pytest.mark.parametrize("params", list(PINNED_CHECKSUMS))
def test_beats_context_and_groups_are_pinned(params):
    dataset = data.load_dataset("synthetic", **dict(params))
    assert sha256_array(dataset.X, dataset.y, dataset.groups, dataset.context) == PINNED_CHECKSUMS[params]


def test_class_proportions_match_mitbih_targets(ds):
    proportions = np.bincount(ds.y, minlength=5) / len(ds.y)
    assert (proportions > 0).all(), ds.class_counts()
    np.testing.assert_allclose(proportions, syn.TARGET_PROPORTIONS, atol=0.005)


def test_one_group_per_patient_and_q_beats_from_few_paced_patients(ds):
    assert len(np.unique(ds.groups)) == N_PATIENTS
    q_patients = np.unique(ds.groups[ds.y == AAMI_CLASSES.index("Q")])
    assert 1 <= len(q_patients) <= max(2, round(N_PATIENTS * syn.PACED_FRACTION_OF_PATIENTS))
    # Paced patients are mostly paced beats, as MIT-BIH records 102, 104, 107, 217.
    for p in q_patients:
        assert np.mean(ds.y[ds.groups == p] == AAMI_CLASSES.index("Q")) >= syn.PACED_Q_SHARE[0] - 0.05


def test_beats_start_at_r_peak_and_end_in_zero_padding(ds):
    # Kachuee beats begin at the R peak, near the top of the [0, 1] window scaling ...
    assert np.median(ds.X[ds.y == 0, 0]) > 0.7
    # ... and last 1.2 x the window's median RR (< 187 samples at these heart rates), then zeros.
    lengths = BEAT_LENGTH - np.argmax(ds.X[:, ::-1] != 0, axis=1)
    assert np.mean(lengths < BEAT_LENGTH - 20) > 0.9
    for row, n in zip(ds.X[:50], lengths[:50], strict=True):
        assert not row[n:].any()


def test_provenance_flags_synthetic(ds):
    assert ds.synthetic
    assert ds.provenance["synthetic"] is True
    assert ds.provenance["source"].startswith("ecgbench synthetic simulator v")
    assert ds.provenance["params"]["n_beats"] == N_BEATS
    assert ds.provenance["params"]["seed"] == 0
    assert ds.provenance["checksum"] == sha256_array(ds.X, ds.y)


def test_registered_as_synthetic():
    spec = data.dataset_spec("synthetic")
    assert spec.load is syn.load_synthetic
    assert "SYNTHETIC" in spec.description
    assert spec.is_available(None)


def test_rhythm_compensatory_pauses():
    rng = np.random.default_rng(0)
    # Without heart-rate variability, so that every sinus cycle lasts exactly rr_sinus.
    patient = dataclasses.replace(syn.make_patient(rng, paced=False), rsa_amp=0.0, hrv_sd=0.0)
    labels = np.array([syn.N, syn.N, syn.V, syn.N, syn.N, syn.S, syn.N, syn.N])
    rr = syn.rr_intervals(rng, patient, labels)
    assert rr[2] < 0.85 * patient.rr_sinus and rr[5] < 0.9 * patient.rr_sinus  # premature
    # Full compensatory pause around V: the two intervals span about two sinus cycles.
    assert rr[2] + rr[3] == pytest.approx(2 * patient.rr_sinus, rel=1e-9)
    # Non-compensatory pause around S: clearly less than two sinus cycles.
    assert rr[5] + rr[6] <= 1.9 * patient.rr_sinus + 1e-9


@pytest.mark.slow
def test_classes_learnable_but_not_trivial(ds):
    X_tr, X_te, y_tr, y_te = train_test_split(ds.X, ds.y, test_size=0.2, stratify=ds.y, random_state=0)
    majority = f1_score(y_te, np.zeros_like(y_te), average="macro")
    model = LogisticRegression(max_iter=1000).fit(X_tr, y_tr)
    macro_f1 = f1_score(y_te, model.predict(X_te), average="macro")
    assert macro_f1 > majority + 0.25
    assert macro_f1 < 0.98


@pytest.mark.parametrize("kwargs", [{"n_patients": 1}, {"n_beats": 50, "n_patients": 10}])
def test_rejects_impossible_sizes(kwargs):
    with pytest.raises(ValueError):
        syn.simulate(**kwargs)
