"""Every registered model passes the named conformance checks (ecgbench.models.check), one test per model and
check; each check catches the toy model that breaks its rule, by name, while the other checks still run; and
``Model.fit`` / ``Model.predict_proba`` enforce what they can of the contract themselves."""

import contextlib

import numpy as np
import pytest

from ecgbench import models
from ecgbench.core.errors import EcgbenchError
from ecgbench.models import build, builtin_modules, model_class, model_names, model_origin, register
from ecgbench.models.check import check_data, check_model, model_checks, parametrize_with_checks
from tests.centroid_plugin import NearestCentroid

BUILTIN = [name for name in model_names() if model_origin(name) == "built-in"]  # before the toy models below join


@parametrize_with_checks(BUILTIN)
def test_conformance(check):
    check()


def test_every_builtin_model_family_is_found_and_checked():
    # the registry, not a list kept by hand: each module that registers models brings them all into the checks
    assert {model_class(name).__module__ for name in BUILTIN} == set(builtin_modules())
    assert {"tsfresh-xgboost", "minirocket", "cnn-bilstm"} <= set(BUILTIN)


def test_the_pytest_helper_gives_one_id_per_model_and_check():
    ids = parametrize_with_checks(["rocket", "cnn"]).kwargs["ids"]
    assert "cnn-predict_in_pieces" in ids and "rocket-pickle_round_trip" in ids
    assert len(ids) == len(set(ids)) == 2 * len(list(model_checks("rocket")))


# -- toy models: a sound one, and one per broken rule --------------------------------------------------------
class Centroid(NearestCentroid):
    """Passes every check (the plugin of tests/test_plugins.py)."""


def softmax(logits):
    proba = np.exp(logits - logits.max(axis=1, keepdims=True))
    return proba / proba.sum(axis=1, keepdims=True)


class BatchDependent(Centroid):
    """Its probabilities depend on how many beats are predicted together."""

    def _predict_proba(self, X):
        return softmax(np.log(super()._predict_proba(X) + 1e-9) * (1 + len(X) / 100))


class RemembersFits(Centroid):
    """Each fit sharpens the probabilities further: fitting the instance again does not start afresh."""

    def _fit(self, X, y, X_val, y_val):
        super()._fit(X, y, X_val, y_val)
        self.fits = getattr(self, "fits", 0) + 1

    def _save(self, folder):
        super()._save(folder)
        (folder / "fits.txt").write_text(str(self.fits))

    def _load(self, folder):
        super()._load(folder)
        self.fits = int((folder / "fits.txt").read_text())

    def _predict_proba(self, X):
        return softmax(np.log(super()._predict_proba(X) + 1e-9) * self.fits)


class OldStyle(Centroid):
    """Overrides the public predict_proba (the contract before _predict_proba): no validation before it."""

    def predict_proba(self, X):
        return self._predict_proba(X)


class HoldsALambda(Centroid):
    """Keeps a lambda after fitting, which pickle cannot write, while claiming picklable (the default)."""

    def _fit(self, X, y, X_val, y_val):
        super()._fit(X, y, X_val, y_val)
        self.scale = lambda d: d / self.params["temperature"]


class SaysItHoldsALambda(HoldsALambda):
    picklable = False


class NeedsValidation(Centroid):
    """Tunes its temperature on the validation beats, as if the runner's part were always there and never empty
    (what minirocket, rocket and tsfresh-xgboost did before fit without validation was checked)."""

    def _fit(self, X, y, X_val, y_val):
        super()._fit(X, y, X_val, y_val)
        self.scale = float(np.median(X_val[y_val == y_val[0]]))


class ReturnsNaN(Centroid):
    def _predict_proba(self, X):
        proba = super()._predict_proba(X)
        proba[::2] = np.nan
        return proba


class WritesIntoItsInput(Centroid):
    def _fit(self, X, y, X_val, y_val):
        X[:, :3] = 0.0
        super()._fit(X, y, X_val, y_val)


class FitFails(Centroid):
    calls = 0

    def _fit(self, X, y, X_val, y_val):
        FitFails.calls += 1
        raise ValueError("no luck")


@contextlib.contextmanager
def registered(cls):
    name = f"{cls.__name__.lower()}-for-test"
    register(name)(cls)
    try:
        yield name
    finally:
        models.MODELS.remove(name)


def failures(cls) -> dict[str, str]:
    """The failed checks of ``cls`` and their messages, after asserting that every check ran."""
    with registered(cls) as name:
        expected = [check.name for check in model_checks(name)]
        results = check_model(name, raise_on_failure=False)
    assert [r.name for r in results] == expected
    return {r.name: r.message for r in results if not r.passed}


def test_the_sound_toy_passes_every_check():
    with registered(Centroid) as name:
        results = check_model(name)
    assert len(results) == 17 and all(r.passed for r in results)


@pytest.mark.parametrize(
    ("cls", "failed", "says"),
    [
        (BatchDependent, {"predict_in_pieces"}, "predicting in pieces of 1, 12, 37 beats"),
        (RemembersFits, {"fit_twice_same_model"}, "fitting the same instance again"),
        (HoldsALambda, {"pickle_round_trip"}, "does not pickle"),
        (WritesIntoItsInput, {"input_not_modified"}, "modified the beats"),
        (NeedsValidation, {"fit_without_validation"}, "fit(X, y) without a validation part raised TypeError"),
        # Overriding the public method skips the validation: both rules that rely on it fail, the rest pass.
        (OldStyle, {"predict_before_fit_fails_clearly", "bad_input_refused"}, "not an EcgbenchError"),
    ],
)
def test_each_check_catches_the_toy_that_breaks_its_rule_and_only_that(cls, failed, says):
    broken = failures(cls)
    assert set(broken) == failed, broken
    assert all(says in message for message in broken.values()), broken


def test_a_model_that_declares_itself_unpicklable_is_not_pickled():
    with registered(SaysItHoldsALambda) as name:
        results = {r.name: r for r in check_model(name)}
    assert results["pickle_round_trip"].message == "not applicable: the model declares picklable = False"


def test_nan_probabilities_are_refused_naming_the_model_and_the_other_checks_still_run():
    broken = failures(ReturnsNaN)
    assert "non-finite probabilities (NaN or infinite) for 25 of 50 beats" in broken["probabilities_valid"]
    assert "returnsnan-for-test" in broken["probabilities_valid"]
    # The checks that need no prediction of the test beats pass; those that need one report why they could not.
    assert not {
        "params_are_declared",
        "unknown_parameter_refused",
        "predict_before_fit_fails_clearly",
        "bad_input_refused",
        "fit_returns_self",
    } & set(broken)
    assert "predicting the test beats raised EcgbenchError" in broken["output_shape"]


def test_a_failing_fit_is_tried_once_and_reported_by_each_check_that_needs_it():
    broken = failures(FitFails)
    # the shared fit, the second instance, the fit without class 3, the fit without validation: once each
    assert FitFails.calls == 4
    assert broken["output_shape"] == broken["bad_input_refused"] == "fitting the model raised ValueError: no luck"
    assert broken["same_seed_same_result"] == "fitting a second instance twice raised ValueError: no luck"
    assert not {"params_are_declared", "unknown_parameter_refused", "predict_before_fit_fails_clearly"} & set(broken)


def test_the_fit_without_validation_check_runs_alone_by_its_scikit_learn_name():
    from ecgbench.models.check import check_fit_without_validation

    with registered(NeedsValidation) as name, pytest.raises(AssertionError, match="without a validation part"):
        check_fit_without_validation(name)
    with registered(Centroid) as name:
        check_fit_without_validation(name)


def test_check_model_raises_listing_every_failed_check():
    with registered(OldStyle) as name, pytest.raises(AssertionError) as err:
        check_model(name)
    message = str(err.value)
    assert message.startswith("model 'oldstyle-for-test' failed 2 of 17 conformance checks:")
    assert "\n  predict_before_fit_fails_clearly: predict_proba before fit raised AttributeError" in message
    assert "\n  bad_input_refused: " in message


# -- what Model.fit and Model.predict_proba enforce themselves -----------------------------------------------
@pytest.fixture
def toy():
    with registered(Centroid) as name:
        yield name


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda X, y, Xv, yv: (X[0], y, Xv, yv), "X must be a 2-D array of numbers"),
        (lambda X, y, Xv, yv: (X.astype(str), y, Xv, yv), "X must be a 2-D array of numbers"),
        (lambda X, y, Xv, yv: (X, y[:-1], Xv, yv), "y must hold one label per row of X"),
        (lambda X, y, Xv, yv: (X, y + 0.0, Xv, yv), "y must be integer class labels, got float64"),
        (lambda X, y, Xv, yv: (X, y + 1, Xv, yv), r"y holds labels outside 0..4 \(n_classes = 5\): \[5\]"),
        (lambda X, y, Xv, yv: (X[:0], y[:0], Xv, yv), "no training beats"),
        (lambda X, y, Xv, yv: (X, y, Xv[:, :-1], yv), "X_val has 186 columns, expected 187"),
        (lambda X, y, Xv, yv: (X, y, Xv, yv[:-1]), "y_val must hold one label per row of X_val"),
        (lambda X, y, Xv, yv: (X, y, Xv, yv - 1), r"y_val holds labels outside 0..4 \(n_classes = 5\): \[-1\]"),
        (lambda X, y, Xv, yv: (X, y, Xv, None), "X_val and y_val must be given together"),
    ],
)
def test_fit_refuses_bad_input_naming_the_model(toy, change, says):
    X, y = check_data()
    with pytest.raises(EcgbenchError, match=f"model 'centroid-for-test': {says}"):
        build(toy, n_classes=5).fit(*change(X[:200], y[:200], X[200:], y[200:]))


def test_fit_refuses_beats_that_are_all_context_and_accepts_no_validation_part():
    X, y = check_data()

    class Contextual(Centroid):
        uses_context = True

    with registered(Contextual) as name:
        with pytest.raises(EcgbenchError, match="X has 2 columns, but the last n_context = 2 are context"):
            build(name, n_classes=5, n_context=2).fit(X[:, :2], y)
        assert build(name, n_classes=5, n_context=2).fit(X, y).predict_proba(X[:3]).shape == (3, 5)


def test_predict_proba_refuses_an_unfitted_model_and_the_wrong_width_and_predicts_nothing_from_nothing(toy):
    X, y = check_data()
    model = build(toy, n_classes=5)
    with pytest.raises(EcgbenchError, match="model 'centroid-for-test': predict_proba called before fit"):
        model.predict_proba(X)
    model.fit(X[:200], y[:200], X[200:], y[200:])
    with pytest.raises(EcgbenchError, match="X has 188 columns, expected 187"):
        model.predict_proba(np.hstack([X, X[:, :1]]))
    empty = model.predict_proba(X[:0])
    assert empty.shape == (0, 5) and empty.dtype == np.float64


@pytest.mark.parametrize(
    ("proba", "says"),
    [
        (lambda p: p[:, :4], r"must return \(n, n_classes\) = \(50, 5\), got shape \(50, 4\)"),
        (lambda p: p * 2, "rows must sum to 1, found sums from 2 to 2"),
        (lambda p: p - p.max(axis=1, keepdims=True) / 5, r"returned negative probabilities \(min -0\.\d+\)"),
        (lambda p: np.where(p > 0.5, np.inf, p), r"non-finite probabilities \(NaN or infinite\)"),
    ],
)
def test_predict_proba_refuses_output_that_is_not_probabilities(proba, says):
    class Bent(Centroid):
        def _predict_proba(self, X):
            return proba(super()._predict_proba(X))

    X, y = check_data()
    with registered(Bent) as name:
        model = build(name, n_classes=5).fit(X[:200], y[:200], X[200:250], y[200:250])
        with pytest.raises(EcgbenchError, match=f"model 'bent-for-test': predict_proba .*{says}"):
            model.predict_proba(X[250:])


def test_unknown_model_names_the_known_ones():
    with pytest.raises(EcgbenchError, match="unknown model 'nope'; known models: .*minirocket"):
        build("nope", n_classes=5)


def test_unknown_parameter_names_the_model_and_the_known_parameters():
    message = "model 'rocket': unknown parameter\\(s\\) kernels; known parameters: .*num_kernels"
    with pytest.raises(EcgbenchError, match=message):
        build("rocket", n_classes=5, kernels=5)


@pytest.mark.parametrize("family", ["minirocket", "rocket"])
def test_rocket_transforms_test_beats_in_bounded_chunks_and_predicts_as_at_once(family):
    """Peak memory must not grow with the test beats: no transform sees more than chunk_size of them, and the
    chunks' probabilities are those of one pass, bit for bit."""
    X, y = check_data()
    model = build(family, n_classes=5, num_kernels=84 if family == "minirocket" else 20, max_epochs=3)
    model.fit(X[:200], y[:200], X[200:250], y[200:250])
    at_once = model.predict_proba(X[250:])
    transform, sizes = model.transformer.transform, []
    model.transformer.transform = lambda beats: sizes.append(len(beats)) or transform(beats)
    model.predict_chunk_size = 9
    chunked = model.predict_proba(X[250:])
    assert max(sizes) == 9 and sum(sizes) == len(X[250:])
    np.testing.assert_array_equal(chunked, at_once)
    assert model.timings["compile_seconds"] > 0 and model.timings["transform_seconds"] > 0
