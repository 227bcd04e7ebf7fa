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
from ecgbench.data import SAMPLING_RATE_HZ
from ecgbench.models.deep import CNNBiLSTM, LSTMModel, ResidualCNN
from ecgbench.models.deep_training import WANDER_HZ, Augmentation, balanced_batch, focal_loss, record_normalised
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


# ---- the options against patient shift (ecgbench.models.deep_training) ------------------------------------------

TINY_CNN = {"filters": 8, "blocks": 1, "dense_units": 8, "epochs": 1, "batch_size": 64}


def ramp_beats(n: int = 50, length: int = 187) -> np.ndarray:
    """Beats whose sample t is (t + 1) times a per-beat factor: time moves show as a changed ratio to t + 1."""
    rng = np.random.default_rng(0)
    return (np.arange(1, length + 1)[None, :] * rng.uniform(0.5, 1.5, (n, 1))).astype(np.float32)


def test_augmentation_is_the_identity_at_strength_0():
    beats = make_beats(20)[0]
    off = Augmentation.from_params(ResidualCNN.default_params)
    assert not off.active
    assert off.apply(beats, np.random.default_rng(0)) is beats


def test_amplitude_scaling_stays_within_its_factor():
    beats = make_beats(200)[0]
    out = Augmentation(scale=0.2).apply(beats, np.random.default_rng(0))
    factor = out / np.where(beats == 0, 1, beats)
    per_beat = factor[:, 0][:, None]
    np.testing.assert_allclose(factor, np.broadcast_to(per_beat, factor.shape), rtol=1e-5)  # one factor a beat
    assert 0.8 - 1e-6 <= per_beat.min() and per_beat.max() <= 1.2 + 1e-6
    assert per_beat.max() - per_beat.min() > 0.2  # the factors spread over the range


def test_baseline_wander_is_a_slow_sinusoid_within_its_amplitude():
    beats = make_beats(200)[0]
    added = Augmentation(wander=0.5).apply(beats, np.random.default_rng(0)) - beats
    assert np.abs(added).max() <= 0.5 + 1e-5 and np.abs(added).max() > 0.3
    # below 0.5 Hz a sinusoid turns at most once in a 1.5 s beat: the sample-to-sample change stays tiny
    step_bound = 2 * np.pi * WANDER_HZ[1] / SAMPLING_RATE_HZ * 0.5
    assert np.abs(np.diff(added, axis=1)).max() <= step_bound + 1e-5


def test_gaussian_noise_has_the_stated_standard_deviation():
    beats = make_beats(400)[0]
    added = Augmentation(noise=0.1).apply(beats, np.random.default_rng(0)) - beats
    assert added.std() == pytest.approx(0.1, rel=0.02)
    assert abs(added.mean()) < 0.005


def test_time_shift_moves_each_beat_by_whole_samples_up_to_the_bound():
    beats = ramp_beats()
    out = Augmentation(shift=5).apply(beats, np.random.default_rng(0))
    # a shift by s reads sample t - s (the edge sample beyond the beat): at t = 50 the ratio to the ramp tells s
    shifts = np.rint(50 - (out[:, 50] / beats[:, 50] * 51 - 1)).astype(int)
    assert set(shifts) <= set(range(-5, 6)) and len(set(shifts)) > 3
    for beat, moved, s in zip(beats, out, shifts, strict=True):
        np.testing.assert_allclose(moved, beat[np.clip(np.arange(187) - s, 0, 186)], rtol=1e-6)


def test_time_stretch_scales_time_about_the_r_peak_within_its_factor():
    beats = ramp_beats()
    out = Augmentation(stretch=0.1).apply(beats, np.random.default_rng(0))
    np.testing.assert_array_equal(out[:, 0], beats[:, 0])  # the R peak (sample 0) stays put
    # sample t reads the beat at t / f, so on the ramp (t + 1) the interior holds (t / f + 1): f from sample 100
    factor = 100 / (out[:, 100] / beats[:, 100] * 101 - 1)
    assert 0.9 - 1e-4 <= factor.min() and factor.max() <= 1.1 + 1e-4 and np.ptp(factor) > 0.1


def test_augmentation_is_reproducible_from_its_generator():
    beats = make_beats(50)[0]
    every = Augmentation(scale=0.1, wander=0.2, noise=0.05, shift=3, stretch=0.05)
    first = every.apply(beats, np.random.default_rng(7))
    np.testing.assert_array_equal(first, every.apply(beats, np.random.default_rng(7)))
    assert not np.array_equal(first, every.apply(beats, np.random.default_rng(8)))


def test_record_normalisation_removes_each_records_gain_and_offset_and_uses_only_its_record():
    beats, _ = make_beats(90)
    context = np.random.default_rng(1).uniform(0.5, 2.0, (90, 3)).astype(np.float32)
    groups = np.repeat([100, 101, 102], 30)
    gain, offset = np.repeat([1.0, 3.0, 0.5], 30)[:, None], np.repeat([0.0, -2.0, 0.7], 30)[:, None]
    plain = record_normalised(np.tile(beats[:30], (3, 1)), np.tile(context[:30], (3, 1)), groups)
    moved = record_normalised(np.tile(beats[:30], (3, 1)) * gain + offset, np.tile(context[:30], (3, 1)) * gain, groups)
    for part in range(3):  # every record's copy of the same beats ends up the same, whatever its gain and offset
        rows = slice(30 * part, 30 * part + 30)
        np.testing.assert_allclose(moved[0][rows], plain[0][:30], rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(moved[1][rows], plain[1][:30], rtol=1e-5)
    assert np.median(np.ptp(plain[0][:30], axis=1)) == pytest.approx(1.0)
    np.testing.assert_allclose(np.median(plain[1][:30], axis=0), 1.0, rtol=1e-6)
    # another record's beats do not move a record's normalisation
    changed = record_normalised(np.vstack([beats[:30], beats[30:60] * 9]), None, groups[:60])[0]
    np.testing.assert_array_equal(changed[:30], plain[0][:30])


def test_balanced_batches_hold_the_classes_about_equally():
    y = np.repeat([0, 1, 2], [900, 80, 20])
    rows_by_class = [np.flatnonzero(y == c) for c in range(3)]
    rng = np.random.default_rng(0)
    for batch_size in (64, 128, 3):
        rows = balanced_batch(rows_by_class, batch_size, rng)
        counts = np.bincount(y[rows], minlength=3)
        assert len(rows) == batch_size and counts.max() - counts.min() <= 1, counts


def test_focal_loss_is_cross_entropy_at_gamma_0_and_discounts_easy_beats():
    from ecgbench.models.deep import _keras

    _, keras = _keras()
    rng = np.random.default_rng(0)
    proba = rng.dirichlet(np.ones(4), 64).astype(np.float32)
    y = rng.integers(0, 4, 64)
    cross_entropy = keras.losses.SparseCategoricalCrossentropy(reduction=None)(y, proba)
    np.testing.assert_allclose(focal_loss(keras, 0.0)(y, proba), cross_entropy, rtol=1e-5)
    p_true = proba[np.arange(64), y]
    np.testing.assert_allclose(focal_loss(keras, 2.0)(y, proba), (1 - p_true) ** 2 * cross_entropy, rtol=1e-4)


def test_training_batches_are_balanced_augmented_and_redrawn_each_epoch():
    from ecgbench.models.deep import _keras, _training_batches

    _, keras = _keras()
    beats = make_beats(300)[0][:, :, None]
    y = np.repeat([0, 1, 2], [240, 45, 15])
    weights = np.ones(300, np.float32)
    batches = _training_batches(keras, beats, y, weights, 30, 0, Augmentation(noise=0.1), balanced=True)
    batches.on_epoch_begin()
    x, labels, _ = batches[0]
    assert len(batches) == 10 and np.bincount(labels).tolist() == [10, 10, 10]
    nearest = np.abs(x[:, None, :, 0] - beats[None, :, :, 0]).max(axis=2).min(axis=1)
    assert (nearest > 0).all() and (nearest < 1.0).all()  # a source beat plus noise, never the beat itself
    np.testing.assert_array_equal(batches[0][0], x)  # asked again: the same batch
    batches.on_epoch_end()
    batches.on_epoch_begin()
    assert not np.array_equal(batches[0][0], x)  # the next epoch draws afresh
    shuffled = _training_batches(keras, beats, y, weights, 30, 0, Augmentation(), balanced=False)
    shuffled.on_epoch_begin()
    served = np.concatenate([shuffled[i][1] for i in range(len(shuffled))])
    assert np.array_equal(np.sort(served), np.sort(y))  # plain shuffling: every beat once an epoch


def test_default_training_is_the_plain_weighted_cross_entropy_fit(data):
    """The defaults reproduce the training of the base commit, written out here: Keras shuffling the arrays,
    cross-entropy weighted by the tempered class weights, plateau halving and early stopping."""
    from ecgbench.models.deep import _keras

    X_train, y_train, X_val, y_val, X_test, _ = data
    model = ResidualCNN(N_CLASSES, seed=3, **TINY_CNN).fit(X_train, y_train, X_val, y_val)
    _, keras = _keras()
    mean, scale = X_train.mean(), X_train.std()
    counts = np.bincount(y_train, minlength=N_CLASSES)
    raw = (len(y_train) / (N_CLASSES * counts)) ** 0.5
    per_class = raw / (raw * counts).sum() * len(y_train)
    keras.utils.set_random_seed(3)
    network = model.build_network(keras, 187)
    network.compile(optimizer=keras.optimizers.Adam(1e-3), loss=keras.losses.SparseCategoricalCrossentropy())
    network.fit(
        ((X_train - mean) / scale)[:, :, None],
        y_train,
        sample_weight=per_class[y_train].astype(np.float32),
        validation_data=(((X_val - mean) / scale)[:, :, None], y_val, per_class[y_val].astype(np.float32)),
        epochs=1,
        batch_size=64,
        shuffle=True,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=3, min_lr=1e-5),
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=6, restore_best_weights=True),
        ],
        verbose=0,
    )
    expected = network.predict(((X_test - mean) / scale)[:, :, None], verbose=0).astype(np.float64)
    np.testing.assert_allclose(model.predict_proba(X_test), expected / expected.sum(axis=1, keepdims=True), atol=1e-6)


@pytest.fixture(scope="module")
def tiny_default(data):
    """The test probabilities of a tiny CNN at the default options, trained two epochs."""
    X_train, y_train, X_val, y_val, X_test, _ = data
    model = ResidualCNN(N_CLASSES, seed=0, **{**TINY_CNN, "epochs": 2})
    return model.fit(X_train, y_train, X_val, y_val).predict_proba(X_test)


@pytest.mark.parametrize(
    "options",
    [
        {"augment_noise": 0.1, "augment_shift": 2},
        {"balancing": "batches"},
        {"balancing": "focal", "focal_gamma": 2.0},
        {"lr_schedule": "cosine"},
    ],
    ids=["augmentation", "balanced-batches", "focal", "cosine"],
)
def test_each_training_option_changes_the_fit(data, tiny_default, options):
    X_train, y_train, X_val, y_val, X_test, _ = data
    model = ResidualCNN(N_CLASSES, seed=0, **{**TINY_CNN, "epochs": 2}, **options)
    proba = model.fit(X_train, y_train, X_val, y_val).predict_proba(X_test)
    assert np.abs(proba - tiny_default).max() > 1e-4
    if options.get("lr_schedule") == "cosine":  # decayed to 0 over the two epochs
        assert float(model.network_.optimizer.learning_rate) == pytest.approx(0.0, abs=1e-9)


def test_drawn_batches_are_reproducible_from_the_seed(data):
    X_train, y_train, X_val, y_val, X_test, _ = data
    options = {**TINY_CNN, "balancing": "batches", "augment_noise": 0.1, "augment_stretch": 0.05}
    first, again = (
        ResidualCNN(N_CLASSES, seed=0, **options).fit(X_train, y_train, X_val, y_val).predict_proba(X_test)
        for _ in range(2)
    )
    np.testing.assert_array_equal(first, again)


def test_only_the_plateau_schedule_halves_the_learning_rate_on_plateaus():
    from ecgbench.models.deep import _keras

    _, keras = _keras()
    for schedule, halving in (("plateau", True), ("constant", False), ("cosine", False)):
        model = ResidualCNN(N_CLASSES, seed=0, lr_schedule=schedule)
        callbacks = model._callbacks(keras, "val_loss", keras.callbacks.Callback())
        assert any(isinstance(c, keras.callbacks.ReduceLROnPlateau) for c in callbacks) == halving, schedule


def test_record_normalisation_needs_record_ids_and_ignores_a_records_gain(data):
    X_train, y_train, X_val, y_val, X_test, _ = data
    groups = np.arange(len(X_train)) % 8
    model = ResidualCNN(N_CLASSES, seed=0, record_normalisation=True, **TINY_CNN)
    with pytest.raises(EcgbenchError, match="needs the record id of every beat"):
        model.fit(X_train, y_train, X_val, y_val)
    model.fit(X_train, y_train, X_val, y_val, groups=groups, groups_val=np.zeros(len(X_val)))
    test_groups = np.arange(len(X_test)) % 2
    proba = model.predict_proba(X_test, test_groups)
    gain = np.where(test_groups == 0, 2.5, 0.4)[:, None].astype(np.float32)
    np.testing.assert_allclose(model.predict_proba(X_test * gain + 0.3, test_groups), proba, atol=1e-4)
    with pytest.raises(EcgbenchError, match="needs the record id of every beat"):
        model.predict_proba(X_test)


@pytest.mark.parametrize("name, layer", [("lstm", "LSTM"), ("cnn-bilstm", "Bidirectional")])
def test_lstm_layers_stack_recurrent_layers(name, layer):
    from ecgbench.models.deep import _keras

    _, keras = _keras()
    counts = []
    for depth in (1, 2):
        network = MODELS[name](N_CLASSES, seed=0, lstm_layers=depth).build_network(keras, 187)
        counts.append(sum(type(x).__name__ == layer for x in network.layers))
    assert counts == [1, 2]
