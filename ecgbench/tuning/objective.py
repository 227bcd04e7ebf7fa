"""What a trial maximises (docs/decisions.md#tune-objective): the mean of the S and V F1 scores over the pooled
beats of the held-back folds, macro-F1 where the development set has neither S nor V beats."""

from __future__ import annotations

import numpy as np

OBJECTIVE = (
    "mean of the S and V F1 scores (AAMI classes) over the pooled beats of the held-back folds of a "
    "group k-fold over the development set's records (macro-F1 where it has neither S nor V beats)"
)


def objective_classes(dataset) -> list[str]:
    """The classes whose F1 scores the objective averages: S and V where the development set has their beats."""
    return [c for c in ("S", "V") if c in dataset.classes and np.any(dataset.y == dataset.classes.index(c))]


def objective_score(y_true, y_pred, classes, targets: list[str]) -> float:
    from ecgbench.core.metrics import classification_metrics

    metrics = classification_metrics(np.asarray(y_true), np.asarray(y_pred), tuple(classes))
    if not targets:
        return metrics["f1_macro"]
    return float(np.mean([metrics["per_class"][c]["f1"] for c in targets]))
