"""ROCKET and MiniRocket (sktime transformers) with a linear classifier that scales to 100k beats.

Dempster et al. 2020 (ROCKET) and 2021 (MiniRocket) pair the random-kernel features with a ridge classifier for
small data and with logistic regression trained by stochastic gradient descent for large data. We use the second
everywhere: its cost grows linearly with the number of beats, it gives class probabilities, and its epochs let the
validation part choose when to stop. Transforms run in chunks so that memory stays bounded and progress is shown.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ecgbench.models import register
from ecgbench.models.base import Model, sample_weights

log = logging.getLogger("ecgbench")


def log_loss(proba: np.ndarray, y: np.ndarray) -> float:
    return float(-np.mean(np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None))))


class RandomKernelModel(Model):
    """Shared pipeline: random-kernel transform -> standardise -> SGD logistic regression with early stopping.

    Imbalance: beats are weighted by inverse class frequency raised to ``class_weight_power`` (0.5 by default, a
    tempered weighting that lifts the rare S and F classes without flooding N with false alarms).
    """

    default_params = {
        "alpha": 1e-4,  # L2 penalty of the logistic regression
        "max_epochs": 40,
        "patience": 5,  # epochs without a better validation loss before stopping
        "class_weight_power": 0.5,
        "chunk_size": 2000,  # beats per transform chunk
    }

    def make_transformer(self):
        raise NotImplementedError

    def transform(self, X: np.ndarray, label: str) -> np.ndarray:
        chunks, start = [], time.monotonic()
        size = self.params["chunk_size"]
        for begin in range(0, len(X), size):
            block = X[begin : begin + size, None, :].astype(np.float64)
            chunks.append(np.asarray(self.transformer.transform(block), dtype=np.float32))
            done = min(begin + size, len(X))
            log.debug("%s %s transform: %d/%d beats (%.1f s)", self.name, label, done, len(X),
                      time.monotonic() - start)
        log.info("%s: transformed %d %s beats in %.1f s", self.name, len(X), label, time.monotonic() - start)
        return np.concatenate(chunks)

    def fit(self, X, y, X_val, y_val):
        from sklearn.linear_model import SGDClassifier
        from sklearn.preprocessing import StandardScaler

        self.transformer = self.make_transformer().fit(X[:, None, :].astype(np.float64))
        features = self.transform(X, "training")
        self.scaler = StandardScaler().fit(features)
        features = self.scaler.transform(features)
        val_features = self.scaler.transform(self.transform(X_val, "validation"))
        self.seen = np.unique(y)
        weights = sample_weights(y, self.n_classes, self.params["class_weight_power"])
        classifier = SGDClassifier(loss="log_loss", alpha=self.params["alpha"], random_state=self.seed)
        rng = np.random.default_rng(self.seed)
        best, best_loss, waited = None, np.inf, 0
        for epoch in range(1, self.params["max_epochs"] + 1):
            order = rng.permutation(len(y))
            classifier.partial_fit(features[order], y[order], classes=self.seen, sample_weight=weights[order])
            loss = log_loss(self.full_proba(classifier.predict_proba(val_features), self.seen), y_val)
            log.debug("%s epoch %d: val_loss %.4f", self.name, epoch, loss)
            if loss < best_loss - 1e-4:
                best, best_loss, waited = (classifier.coef_.copy(), classifier.intercept_.copy()), loss, 0
            elif (waited := waited + 1) >= self.params["patience"]:
                break
        classifier.coef_, classifier.intercept_ = best
        log.info("%s: logistic regression stopped after %d epochs (best val_loss %.4f)", self.name, epoch, best_loss)
        self.classifier = classifier
        return self

    def predict_proba(self, X):
        features = self.scaler.transform(self.transform(X, "test"))
        return self.full_proba(self.classifier.predict_proba(features), self.seen)


@register("minirocket")
class MiniRocketModel(RandomKernelModel):
    """MiniRocket (Dempster et al. 2021): ~10,000 features from fixed convolution kernels, almost deterministic."""

    description = "sktime MiniRocket features + SGD logistic regression"
    default_params = {**RandomKernelModel.default_params, "num_kernels": 10_000}
    quick_params = {"num_kernels": 1_000, "max_epochs": 10}

    def make_transformer(self):
        from sktime.transformations.panel.rocket import MiniRocket

        return MiniRocket(num_kernels=self.params["num_kernels"], random_state=self.seed, n_jobs=1)


@register("rocket")
class RocketModel(RandomKernelModel):
    """ROCKET (Dempster et al. 2020): random dilated kernels, two features (max, PPV) per kernel."""

    description = "sktime ROCKET features + SGD logistic regression"
    # 10,000 kernels is the paper's default; 2,000 keeps the default CPU run short at a small cost in accuracy.
    default_params = {**RandomKernelModel.default_params, "num_kernels": 2_000}
    quick_params = {"num_kernels": 200, "max_epochs": 10}

    def make_transformer(self):
        from sktime.transformations.panel.rocket import Rocket

        return Rocket(num_kernels=self.params["num_kernels"], random_state=self.seed, n_jobs=1)
