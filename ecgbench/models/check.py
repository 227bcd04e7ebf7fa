"""``check_model``: the conformance check every model, built-in or plugin, must pass (like scikit-learn's
``check_estimator``). Plugin authors call it from their own tests::

    from ecgbench.models.check import check_model
    check_model("my-model")
"""

from __future__ import annotations

import numpy as np

from ecgbench.errors import EcgbenchError
from ecgbench.metrics import classification_metrics, majority_baseline
from ecgbench.models import build, model_class


def check_data(n_per_class=(120, 40, 60, 30, 50), length=187, seed=0):
    """A small, clearly separable five-class set (SYNTHETIC): a class-specific bump on a noisy baseline."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    t = np.linspace(0, 1, length)
    for c, n in enumerate(n_per_class):
        centre = 0.15 + 0.17 * c
        beats = np.exp(-((t - centre) ** 2) / 0.002) * (0.6 + 0.1 * c) + 0.05 * rng.standard_normal((n, length))
        X.append(beats)
        y.append(np.full(n, c))
    X, y = np.concatenate(X).astype(np.float32), np.concatenate(y)
    order = rng.permutation(len(y))
    return X[order], y[order]


def check_model(name: str, params: dict | None = None) -> dict:
    """Run the contract checks on model ``name`` with ``params`` (default: its quick parameters).

    Returns the test-set metrics; raises AssertionError naming the first broken rule.
    """
    cls = model_class(name)
    params = dict(cls.quick_params if params is None else params)
    assert isinstance(cls.default_params, dict), f"{name}: default_params must be a dict"
    assert set(params) <= set(cls.default_params), f"{name}: quick_params names unknown parameters"
    try:
        build(name, n_classes=5, seed=0, not_a_parameter=1)
    except EcgbenchError:
        pass
    else:
        raise AssertionError(f"{name}: an unknown parameter must raise EcgbenchError")
    if not cls.uses_context:
        try:
            build(name, n_classes=5, seed=0, n_context=2)
        except EcgbenchError:
            pass
        else:
            raise AssertionError(f"{name}: n_context must raise EcgbenchError unless the model sets uses_context")

    X, y = check_data()
    train, val, test = np.arange(0, 200), np.arange(200, 250), np.arange(250, len(y))
    X_before = X.copy()
    model = build(name, n_classes=5, seed=0, **params)
    assert model.fit(X[train], y[train], X[val], y[val]) is model, f"{name}: fit must return self"
    proba = model.predict_proba(X[test])
    assert np.array_equal(X, X_before), f"{name}: the model must not modify its input"
    assert proba.shape == (len(test), 5), f"{name}: predict_proba must return (n, n_classes), got {proba.shape}"
    assert np.all(np.isfinite(proba)) and np.all(proba >= 0), f"{name}: probabilities must be finite and >= 0"
    assert np.allclose(proba.sum(axis=1), 1, atol=1e-5), f"{name}: probabilities must sum to 1 per beat"

    again = build(name, n_classes=5, seed=0, **params).fit(X[train], y[train], X[val], y[val])
    assert np.allclose(again.predict_proba(X[test]), proba, atol=1e-6), f"{name}: same seed must give same result"

    classes = tuple("NSVFQ")
    metrics = classification_metrics(y[test], proba.argmax(axis=1), classes)
    floor = majority_baseline(y[train], y[test], classes)["f1_macro"]
    assert metrics["f1_macro"] > floor, f"{name}: macro-F1 {metrics['f1_macro']:.3f} not above majority {floor:.3f}"

    # A class absent from training must still get a (zero) probability column.
    seen = y[train] != 3
    wide = build(name, n_classes=5, seed=0, **params).fit(X[train][seen], y[train][seen], X[val], y[val])
    assert wide.predict_proba(X[test][:5]).shape == (5, 5), f"{name}: must cope with a class absent from training"

    if cls.uses_context:
        check_context(name, params, y, train, val, test, floor)
    return metrics


def check_context(name, params, y, train, val, test, floor):
    """A model that declares ``uses_context`` must learn from the context columns: here the beats are noise and
    only the two context columns (a noisy code of the class) tell the classes apart."""
    rng = np.random.default_rng(1)
    beats = rng.standard_normal((len(y), 187)).astype(np.float32)
    context = np.column_stack([y + 0.2 * rng.standard_normal(len(y)), (y % 2) + 0.2 * rng.standard_normal(len(y))])
    X = np.hstack([beats, context]).astype(np.float32)
    model = build(name, n_classes=5, seed=0, n_context=2, **params).fit(X[train], y[train], X[val], y[val])
    proba = model.predict_proba(X[test])
    assert proba.shape == (len(test), 5), f"{name}: with context, predict_proba must return (n, n_classes)"
    f1 = classification_metrics(y[test], proba.argmax(axis=1), tuple("NSVFQ"))["f1_macro"]
    assert f1 > floor + 0.2, f"{name}: ignores its context columns (macro-F1 {f1:.3f} on noise beats)"
