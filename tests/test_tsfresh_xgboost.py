"""tsfresh-xgboost's own options, beyond the conformance check every model passes."""

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.models import build
from ecgbench.models.base import shift_priors
from ecgbench.models.check import check_data

pytestmark = pytest.mark.slow  # extracts tsfresh features and trains XGBoost


@pytest.mark.parametrize(("early_stopping_rounds", "uses_validation"), [(0, False), (3, True)])
def test_early_stopping_can_be_turned_off(early_stopping_rounds, uses_validation):
    X, y = check_data()
    model = build(
        "tsfresh-xgboost",
        n_classes=5,
        n_estimators=12,
        early_stopping_rounds=early_stopping_rounds,
        max_features=20,
        selection_beats=150,
    )
    labels = []
    extract = model.feature_matrix
    model.feature_matrix = lambda X, label: labels.append(label) or extract(X, label)
    model.fit(X[::2], y[::2], X[1::2], y[1::2])
    assert ("validation" in labels) == uses_validation
    rounds = model.booster.get_booster().num_boosted_rounds()
    assert rounds == 12 if not uses_validation else 1 <= rounds <= 12
    proba = model.predict_proba(X[1::2])
    assert proba.shape == (len(X[1::2]), 5) and np.allclose(proba.sum(axis=1), 1, atol=1e-5)
    assert (proba.argmax(axis=1) == y[1::2]).mean() > 0.8


def test_prior_weights_shift_the_fitted_probabilities_by_bayes_rule():
    X, y = check_data()
    params = dict(n_classes=5, n_estimators=12, early_stopping_rounds=0, max_features=20, selection_beats=150)
    plain = build("tsfresh-xgboost", **params).fit(X[::2], y[::2], X[1::2], y[1::2]).predict_proba(X[1::2])
    weights = [1, 1, 3, 0.1, 1]
    shifted = (
        build("tsfresh-xgboost", prior_weights=weights, **params)
        .fit(X[::2], y[::2], X[1::2], y[1::2])
        .predict_proba(X[1::2])
    )
    expected = plain * weights
    assert np.allclose(shifted, expected / expected.sum(axis=1, keepdims=True), atol=1e-6)
    assert np.allclose(shifted.sum(axis=1), 1)
    assert (shifted.argmax(1) == 2).sum() >= (plain.argmax(1) == 2).sum()
    assert (shifted.argmax(1) == 3).sum() <= (plain.argmax(1) == 3).sum()


def test_shift_priors_moves_a_border_beat_and_leaves_none_unchanged():
    proba = np.array([[0.5, 0.0, 0.4, 0.1, 0.0], [0.9, 0.05, 0.02, 0.02, 0.01]])
    shifted = shift_priors(proba, [1, 1, 3, 0.1, 1])
    assert shifted.argmax(1).tolist() == [2, 0]  # 0.4 * 3 beats 0.5; the confident N beat stays N
    assert np.allclose(shifted[0], np.array([0.5, 0, 1.2, 0.01, 0]) / 1.71)
    assert shift_priors(proba, None) is proba


@pytest.mark.parametrize("weights", [[1, 1, 3], [1, 1, 3, 0, 1], [1, 1, -3, 0.1, 1], [1, 1, "3", 0.1, 1], 3])
def test_bad_prior_weights_are_refused_when_the_model_is_built(weights):
    # the schema refuses what is no list of positive numbers; the model, a list of another length than n_classes
    refusal = (
        "prior_weights must be 5 positive numbers"
        if len(np.atleast_1d(weights)) == 3
        else "prior_weights = .*: must be a list, each a number > 0"
    )
    with pytest.raises(EcgbenchError, match=f"model 'tsfresh-xgboost': {refusal}"):
        build("tsfresh-xgboost", n_classes=5, prior_weights=weights)


# ------------------------------------------------------------------------------------------ the feature cache


def test_a_feature_column_does_not_depend_on_the_columns_extracted_with_it():
    from tsfresh.feature_extraction.settings import from_columns

    from ecgbench.models.features import extract, feature_settings

    X, _ = check_data()
    X = X[:40]
    everything, columns = extract(X, feature_settings())
    some = columns[1::3]  # a subset that splits the calculators taking several parameters
    alone, _ = extract(X, from_columns(some)["ecg"], some)
    np.testing.assert_array_equal(alone, everything[:, [columns.index(c) for c in some]])


def test_the_selection_extracts_through_the_cache_so_a_rerun_extracts_nothing_and_selects_the_same(
    tmp_cache, monkeypatch
):
    from ecgbench.models import features

    X, _ = check_data()
    everything, columns = features.extract(X[:40], features.feature_settings())
    np.testing.assert_array_equal(features.extract_named(X[:40], columns), everything)  # the names give the set back
    calls = []
    extract_named = features.extract_named
    monkeypatch.setattr(
        features,
        "extract_named",
        lambda beats, names, *chunk: calls.append((len(beats), len(names))) or extract_named(beats, names, *chunk),
    )
    first, _ = fitted(0, [])
    assert (SELECTION_BEATS, len(columns)) in calls  # the selection sample, the whole set but the slowest calculators
    calls.clear()
    again, _ = fitted(0, [])
    assert calls == []
    assert again.columns == first.columns


SELECTION_BEATS = 100  # fewer than the training beats, so that the selection sample is not the training set


def fitted(seed, extracted):
    """A small tsfresh-xgboost fitted on check_data, its extractions of uncached columns recorded."""
    X, y = check_data()
    model = build(
        "tsfresh-xgboost", n_classes=5, seed=seed, n_estimators=8, max_features=20, selection_beats=SELECTION_BEATS
    )
    extract_columns = model.extract_columns
    model.extract_columns = lambda beats, columns: extracted.append(len(columns)) or extract_columns(beats, columns)
    model.fit(X[::2], y[::2], X[1::2], y[1::2])
    return model, model.predict_proba(X[1::2])


def test_a_second_seed_extracts_only_the_columns_the_first_did_not_and_scores_as_without_the_cache(
    tmp_cache, monkeypatch
):
    first_extracted, second_extracted = [], []
    _, first = fitted(0, first_extracted)
    model, second = fitted(1, second_extracted)
    assert first_extracted and sum(first_extracted) == 2 * 20  # the training and validation/test beats' columns
    assert sum(second_extracted) < sum(first_extracted)  # the selections of the two seeds overlap
    monkeypatch.setenv("ECGBENCH_CACHE", str(tmp_cache.parent / "empty-cache"))
    uncached_extracted = []
    _, uncached = fitted(1, uncached_extracted)
    assert sum(uncached_extracted) == 2 * 20
    np.testing.assert_array_equal(second, uncached)
    assert model.timings["transform_seconds"] > 0


def test_a_damaged_cache_entry_is_recomputed_with_a_warning(tmp_cache, log_lines):
    extracted = []
    _, clean = fitted(0, extracted)
    entries = sorted((tmp_cache / "features").rglob("*.npz"))
    assert entries
    for entry in entries:  # one changed byte in the middle of the arrays, where no zip header notices it
        data = bytearray(entry.read_bytes())
        data[len(data) // 2] ^= 0xFF
        entry.write_bytes(bytes(data))
    extracted.clear()
    _, again = fitted(0, extracted)
    assert sum(extracted) == 2 * 20
    assert any("ignoring damaged cache file" in line for line in log_lines)
    np.testing.assert_array_equal(again, clean)


def test_test_beats_are_featurised_and_classified_in_bounded_pieces_with_the_probabilities_of_one_pass(
    tmp_cache, monkeypatch
):
    """Peak memory must not grow with the test beats: no feature matrix holds more than a piece of them, and the
    pieces' probabilities are those of one pass, bit for bit."""
    from ecgbench.models import features

    model, at_once = fitted(0, [])
    X, _ = check_data()
    sizes = []
    feature_matrix = model.feature_matrix
    model.feature_matrix = lambda beats, label: sizes.append(len(beats)) or feature_matrix(beats, label)
    model.predict_chunk_size = 9
    pieces = model.predict_proba(X[1::2])
    assert max(sizes) == 9 and sum(sizes) == len(X[1::2])
    np.testing.assert_array_equal(pieces, at_once)
    sizes.clear()
    model.predict_chunk_size = None
    monkeypatch.setattr(features, "PREDICT_PIECE_SIZE", 40)  # the default piece, when the model sets none
    np.testing.assert_array_equal(model.predict_proba(X[1::2]), at_once)
    assert max(sizes) == 40 and len(sizes) == -(-len(X[1::2]) // 40)
