"""tsfresh-xgboost's own options, beyond the conformance check every model passes."""

import numpy as np
import pytest

from ecgbench.models import build
from ecgbench.models.check import check_data


@pytest.mark.parametrize(("early_stopping_rounds", "uses_validation"), [(0, False), (3, True)])
def test_early_stopping_can_be_turned_off(early_stopping_rounds, uses_validation):
    X, y = check_data()
    model = build("tsfresh-xgboost", n_classes=5, n_estimators=12, early_stopping_rounds=early_stopping_rounds,
                  max_features=20, selection_beats=150)
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
