"""Every registered model passes the one conformance check (ecgbench.models.check.check_model)."""

import pytest

from ecgbench.errors import EcgbenchError
from ecgbench.models import Model, build, model_names, register
from ecgbench.models.check import check_model

BUILTIN = ["tsfresh-xgboost", "minirocket", "rocket", "cnn", "lstm", "cnn-bilstm"]


def test_all_builtin_model_families_are_registered():
    assert set(BUILTIN) <= set(model_names())


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_model_passes_the_conformance_check(name):
    metrics = check_model(name)
    assert metrics["accuracy"] > 0.5


def test_the_check_catches_a_model_that_breaks_the_contract():
    from ecgbench import models

    @register("broken-for-test")
    class Broken(Model):
        def fit(self, X, y, X_val, y_val):
            return self

        def predict_proba(self, X):
            import numpy as np

            return np.ones((len(X), self.n_classes))  # rows do not sum to 1

    try:
        with pytest.raises(AssertionError, match="sum to 1"):
            check_model("broken-for-test")
    finally:
        models.MODELS.remove("broken-for-test")


def test_unknown_model_names_the_known_ones():
    with pytest.raises(EcgbenchError, match="unknown model 'nope'; known models: .*minirocket"):
        build("nope", n_classes=5)


def test_unknown_parameter_names_the_model_and_the_known_parameters():
    message = "model 'rocket': unknown parameter\\(s\\) kernels; known parameters: .*num_kernels"
    with pytest.raises(EcgbenchError, match=message):
        build("rocket", n_classes=5, kernels=5)
