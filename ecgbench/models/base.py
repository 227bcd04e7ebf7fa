"""The model contract. Every model, in-tree or plugin, is a subclass of :class:`Model`.

A model is built with the number of classes, a seed and hyperparameters (defaults merged with overrides), is fitted
on training beats with a validation part for early stopping or model selection, and predicts class probabilities.
It never sees the test part before ``predict_proba``. ``ecgbench.models.check.check_model`` is the conformance check
that every model must pass.

Input: ``X`` is float32 ``(n, length)``, one beat per row. A model that sets ``uses_context = True`` is built with
``n_context`` > 0 where the dataset has per-beat context features (the RR intervals of ``ecgbench.data.rr``); the
last ``n_context`` columns of its ``X`` are then those features, and :meth:`Model.split_context` separates them.
Models that do not declare it never see context columns.
"""

from __future__ import annotations

import logging
from typing import ClassVar

import numpy as np

from ecgbench.errors import EcgbenchError

log = logging.getLogger(__name__)


class Model:
    """Base class: subclasses set ``default_params`` and implement ``fit`` and ``predict_proba``.

    ``quick_params`` are the overrides that ``--quick`` applies: a smoke-sized version of the model.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_params: ClassVar[dict] = {}
    quick_params: ClassVar[dict] = {}
    uses_context: ClassVar[bool] = False  # whether X may end in n_context per-beat context columns

    def __init__(self, n_classes: int, seed: int = 0, n_context: int = 0, **params):
        self.check_param_names(params)
        if n_context and not self.uses_context:
            raise EcgbenchError(f"model {self.name!r} does not take context features (uses_context is False)")
        self.n_classes = int(n_classes)
        self.seed = int(seed)
        self.n_context = int(n_context)
        self.params = {**self.default_params, **params}

    @classmethod
    def check_param_names(cls, params: dict) -> None:
        """Refuse parameters the model does not have (their values are checked when it is built for a dataset)."""
        unknown = sorted(set(params) - set(cls.default_params))
        if unknown:
            known = ", ".join(sorted(cls.default_params)) or "none"
            raise EcgbenchError(
                f"model {cls.name!r}: unknown parameter(s) {', '.join(unknown)}; known parameters: {known}"
            )

    def fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray, y_val: np.ndarray) -> Model:
        raise NotImplementedError

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    # Helpers shared by the in-tree models.
    def split_context(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """``(beats, context)``: the beat samples and the last ``n_context`` columns (None without context)."""
        X = np.asarray(X, dtype=np.float32)
        if not self.n_context:
            return X, None
        return X[:, : -self.n_context], X[:, -self.n_context :]

    def full_proba(self, proba: np.ndarray, seen_classes: np.ndarray) -> np.ndarray:
        """Spread probabilities over the seen classes into ``n_classes`` columns (absent classes get 0)."""
        out = np.zeros((len(proba), self.n_classes), dtype=np.float64)
        out[:, seen_classes] = proba
        return out / out.sum(axis=1, keepdims=True)


def check_prior_weights(model: str, weights, n_classes: int) -> None:
    """Refuse ``prior_weights`` that are not ``None`` or one positive number per class."""
    if weights is None:
        return
    if (not isinstance(weights, (list, tuple)) or len(weights) != n_classes
            or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in weights)):
        raise EcgbenchError(f"model {model!r}: prior_weights must be {n_classes} positive numbers, one per class in "
                            f"class order, got {weights!r}")


def shift_priors(proba: np.ndarray, weights) -> np.ndarray:
    """The class probabilities had each class's prior been ``weights`` times larger (``None``: unchanged).

    By Bayes' rule p(c | x) is proportional to p(x | c) p(c), so scaling a class's prior scales its column;
    renormalising each row keeps them probabilities. Raising V and lowering F moves beats on the V/F and V/N
    borders to V without refitting: a decision rule chosen on held-out patients (see benchmarks/prior_weights.py).
    """
    if weights is None:
        return proba
    shifted = proba * np.asarray(weights, dtype=np.float64)
    return shifted / shifted.sum(axis=1, keepdims=True)


def balanced_class_weights(y: np.ndarray, n_classes: int) -> dict[int, float]:
    """Inverse-frequency weights ``n / (k * count)``, as scikit-learn's ``class_weight='balanced'``.

    Only classes present in ``y`` get a weight, so the dict is safe for Keras and sample weighting alike.
    """
    counts = np.bincount(y, minlength=n_classes)
    present = np.flatnonzero(counts)
    return {int(c): float(len(y) / (len(present) * counts[c])) for c in present}


def sample_weights(y: np.ndarray, n_classes: int, power: float = 1.0) -> np.ndarray:
    """Per-beat weights from :func:`balanced_class_weights`, tempered by ``power`` (0 = unweighted, 1 = balanced)."""
    weights = balanced_class_weights(y, n_classes)
    return np.array([weights[int(c)] ** power for c in y], dtype=np.float64)
