"""Classification metrics, computed from the confusion matrix (cross-checked against scikit-learn in the tests).

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


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray, classes: tuple[str, ...]) -> dict:
    cm = confusion_matrix(y_true, y_pred, len(classes))
    tp = np.diag(cm).astype(float)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)
    precision = _ratio(tp, predicted)
    recall = _ratio(tp, support)
    f1 = _ratio(2 * precision * recall, precision + recall)
    occurring = (support + predicted) > 0
    return {
        "n": int(cm.sum()),
        "accuracy": float(tp.sum() / cm.sum()),
        "balanced_accuracy": float(recall[support > 0].mean()),
        "f1_macro": float(f1[occurring].mean()),
        "f1_weighted": float((f1 * support).sum() / support.sum()),
        "per_class": {
            name: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, name in enumerate(classes)
        },
        "confusion": cm.tolist(),
        "confusion_normalized": _ratio(cm.astype(float), support[:, None].astype(float)).tolist(),
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
