"""The plugin that tests/test_plugins.py installs (a copy of this file beside an entry point) and the sound toy
model of tests/test_model_contract.py: each beat goes to the class with the nearest mean beat."""

import numpy as np

from ecgbench.models import Model


class NearestCentroid(Model):
    """Assigns each beat to the class with the nearest mean beat (an external plugin for the tests)."""

    description = "nearest class centroid (test plugin)"
    default_params = {"temperature": 0.05}

    def _fit(self, X, y, X_val, y_val):
        self.centroids = np.stack(
            [X[y == c].mean(axis=0) if np.any(y == c) else np.full(X.shape[1], np.inf) for c in range(self.n_classes)]
        )

    def _save(self, folder):
        np.savez(folder / "centroids.npz", centroids=self.centroids)

    def _load(self, folder):
        with np.load(folder / "centroids.npz", allow_pickle=False) as saved:
            self.centroids = saved["centroids"]

    def _predict_proba(self, X):
        distances = np.sqrt(((X[:, None, :] - self.centroids[None]) ** 2).mean(axis=2))
        logits = -np.nan_to_num(distances, posinf=1e6) / self.params["temperature"]
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)
