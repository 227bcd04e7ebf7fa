"""The Keras models (cnn, lstm, cnn-bilstm) on a small dataset of class-dependent waveforms, quick params."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from ecgbench.core.errors import EcgbenchError
from ecgbench.models.deep import CNNBiLSTM, LSTMModel, ResidualCNN
from tests.conftest import LogLines

pytestmark = pytest.mark.slow  # trains Keras networks

MODELS = {"cnn": ResidualCNN, "lstm": LSTMModel, "cnn-bilstm": CNNBiLSTM}
N_CLASSES = 3


def make_beats(n: int, seed: int = 0, n_classes: int = N_CLASSES):
    """Beats of 187 samples: a Gaussian "QRS" whose position, width and amplitude and a "T wave" whose
    position depend on the class, plus noise; classes imbalanced (60/25/15 %)."""
    rng = np.random.default_rng(seed)
    probs = np.array([0.60, 0.25, 0.15])[:n_classes]
    y = rng.choice(n_classes, size=n, p=probs / probs.sum())
    t = np.arange(187)[None, :]
    centre = np.array([40.0, 30.0, 55.0])[y][:, None] + rng.normal(0, 3, (n, 1))
    width = np.array([3.0, 3.0, 9.0])[y][:, None] * rng.uniform(0.8, 1.2, (n, 1))
    amp = np.array([1.0, 0.7, 1.3])[y][:, None] * rng.uniform(0.8, 1.2, (n, 1))
    t_wave = np.array([100.0, 85.0, 120.0])[y][:, None] + rng.normal(0, 5, (n, 1))
    X = amp * np.exp(-0.5 * ((t - centre) / width) ** 2) + 0.3 * np.exp(-0.5 * ((t - t_wave) / 12) ** 2)
    X = X + 0.1 * rng.standard_normal(X.shape)
    return X.astype(np.float32), y.astype(np.int64)


@pytest.fixture(scope="module")
def data():
    X, y = make_beats(600, seed=0)
    Xr, X_test, yr, y_test = train_test_split(X, y, test_size=100, stratify=y, random_state=0)
    X_train, X_val, y_train, y_val = train_test_split(Xr, yr, test_size=100, stratify=yr, random_state=0)
    return X_train, y_train, X_val, y_val, X_test, y_test


def fit(name, data, seed=0, **params):
    X_train, y_train, X_val, y_val, _, _ = data
    model = MODELS[name](N_CLASSES, seed=seed, **{**MODELS[name].quick_params, **params})
    return model, model.fit(X_train, y_train, X_val, y_val)


@pytest.fixture(scope="module")
def fitted(data):
    """Each model fitted once with its log lines; shared by the tests below."""
    out = {}
    logger = logging.getLogger("ecgbench")
    handler = LogLines(logging.INFO)
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        for name in MODELS:
            handler.lines = []
            model, returned = fit(name, data)
            out[name] = (model, returned, list(handler.lines))
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)
    return out


@pytest.mark.parametrize("name", list(MODELS))
def test_registered_names(name):
    assert MODELS[name].name == name
    assert MODELS[name].quick_params["epochs"] <= 3
    assert set(MODELS[name].quick_params) <= set(MODELS[name].default_params)


@pytest.mark.parametrize("name", list(MODELS))
def test_fit_predict_quality(name, data, fitted):
    model, returned, _ = fitted[name]
    assert returned is model
    X_test, y_test = data[4], data[5]
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), N_CLASSES)
    assert proba.dtype == np.float64
    assert np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
    macro_f1 = f1_score(y_test, proba.argmax(axis=1), average="macro")
    majority = np.bincount(data[1]).argmax()
    baseline = f1_score(y_test, np.full_like(y_test, majority), average="macro")
    assert macro_f1 > baseline + 0.2, (macro_f1, baseline)


@pytest.mark.parametrize("name", list(MODELS))
def test_one_log_line_per_epoch(name, fitted):
    model, _, lines = fitted[name]
    epoch_lines = [line for line in lines if f"{name} epoch " in line]
    assert len(epoch_lines) == len(model.history_) >= 1
    assert epoch_lines[0].startswith(f"{name} epoch 1/{model.params['epochs']}: loss ")
    assert "val_loss" in epoch_lines[0] and "val_acc" in epoch_lines[0]
    assert 1 <= model.best_epoch_ <= len(model.history_)


@pytest.mark.parametrize("name", list(MODELS))
def test_same_seed_same_probabilities(name, data, fitted):
    model, _, _ = fitted[name]
    _, again = fit(name, data, seed=0)
    X_test = data[4]
    np.testing.assert_array_equal(model.predict_proba(X_test), again.predict_proba(X_test))


def test_other_seed_other_probabilities(data, fitted):
    model, _, _ = fitted["cnn"]
    _, other = fit("cnn", data, seed=1)
    assert not np.array_equal(model.predict_proba(data[4]), other.predict_proba(data[4]))


@pytest.mark.parametrize("name", list(MODELS))
def test_unknown_parameter(name):
    with pytest.raises(EcgbenchError, match="unknown parameter"):
        MODELS[name](N_CLASSES, seed=0, no_such_param=1)


def test_class_absent_from_training(data):
    """n_classes from the constructor is the output width, whatever classes the training beats hold."""
    X_train, y_train, X_val, y_val, X_test, _ = data
    model = ResidualCNN(N_CLASSES + 1, seed=0, epochs=1, batch_size=64)
    model.fit(X_train, y_train, X_val, y_val)
    proba = model.predict_proba(X_test)
    assert proba.shape == (len(X_test), N_CLASSES + 1)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)


def test_no_validation_part_and_empty_predict(data):
    X_train, y_train = data[0], data[1]
    model = LSTMModel(N_CLASSES, seed=0, epochs=1, batch_size=64).fit(X_train, y_train, None, None)
    assert model.predict_proba(X_train[:0]).shape == (0, N_CLASSES)
    assert model.predict_proba(X_train[:5]).shape == (5, N_CLASSES)


def test_import_is_light_and_training_is_quiet():
    """Importing the module does not import TensorFlow; a fit writes only the progress lines to stderr."""
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import ecgbench.models.deep as deep
        assert "tensorflow" not in sys.modules, "importing ecgbench.models.deep imported TensorFlow"
        from ecgbench.core.progress import setup_logging
        setup_logging()
        rng = np.random.default_rng(0)
        X = rng.standard_normal((64, 187)).astype(np.float32)
        y = np.arange(64) % 2
        deep.ResidualCNN(2, epochs=1).fit(X[:48], y[:48], X[48:], y[48:]).predict_proba(X)
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "cnn epoch 1/1: loss" in lines[0], done.stderr
