"""A cell's classification metrics, from its confusion matrix; the scores themselves are defined once, in
:func:`ecgbench.core.statistics.metrics_from_confusion` (cross-checked against scikit-learn in the tests).

Macro averages run over the classes that occur in the true or the predicted labels, as scikit-learn's defaults do,
so that a class absent from a small test set does not count as a zero.
"""

from __future__ import annotations

import numpy as np


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts, rows = true class, columns = predicted class."""
    return np.bincount(n_classes * np.asarray(y_true) + np.asarray(y_pred), minlength=n_classes**2).reshape(
        n_classes, n_classes
    )


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    """A cell's scores, as its metrics.json stores them: those of
    :func:`~ecgbench.core.statistics.metrics_from_confusion` (the one definition, which the bootstrap scores its
    resamples with), with the counts and the confusion matrix."""
    from ecgbench.core.statistics import metrics_from_confusion

    cm = confusion_matrix(y_true, y_pred, len(classes))
    scores = metrics_from_confusion(cm)
    support = cm.sum(axis=1)
    return {
        "n": int(cm.sum()),
        **{name: float(scores[name]) for name in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")},
        "per_class": {
            name: {
                "precision": float(scores["precision"][i]),
                "recall": float(scores["recall"][i]),
                "f1": float(scores["f1"][i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion": cm.tolist(),
        "confusion_normalized": np.divide(
            cm, support[:, None], out=np.zeros(cm.shape), where=support[:, None] > 0
        ).tolist(),
    }


def binary_metrics(y_true: np.ndarray, proba: np.ndarray) -> dict:
    """Two-class tasks (class 0 normal, class 1 abnormal, the positive class): ``sensitivity`` (recall of class 1),
    ``specificity`` (recall of class 0) and ``roc_auc`` of the class-1 probability; NaN where a class is absent."""
    from ecgbench.core.statistics import weighted_binary_metrics

    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2 or proba.shape[1] != 2:
        raise ValueError(f"binary_metrics takes the probabilities of two classes, got shape {proba.shape}")
    scores = weighted_binary_metrics(y_true, proba.argmax(axis=1), proba[:, 1], np.ones(len(proba)))
    return {name: float(values[0]) for name, values in scores.items()}


def majority_baseline(y_train: np.ndarray, y_test: np.ndarray, classes: tuple[str, ...]) -> dict:
    """Metrics of always predicting the most frequent training class: the floor every model must beat."""
    majority = np.bincount(y_train, minlength=len(classes)).argmax()
    return classification_metrics(y_test, np.full_like(y_test, majority), classes)
