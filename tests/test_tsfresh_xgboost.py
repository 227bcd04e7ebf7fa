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
