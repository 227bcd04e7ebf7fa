"""The conformance checks every model, built-in or plugin, must pass: small named checks, one per rule, in the
manner of scikit-learn's ``parametrize_with_checks`` and aeon's estimator checks (docs/adding-a-model.md).

``model_checks(name)`` yields ``(check_name, check)`` pairs, ``check()`` raising AssertionError where the model
breaks the rule; ``check_model(name)`` runs them all, every one whatever the others gave, and returns one
:class:`CheckResult` per check (raising, by default, an AssertionError that lists every failed check);
``parametrize_with_checks(names)`` makes one pytest test per model and check::

    from ecgbench.models.check import parametrize_with_checks

    @parametrize_with_checks(["my-model"])
    def test_conformance(check):
        check()  # test ids: test_conformance[my-model-predict_in_pieces], ...

The checks of one model share its data and, where they only look at a fitted model, one fit (made on first use).
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.metrics import classification_metrics, majority_baseline
from ecgbench.models import build, model_class
from ecgbench.models.base import probability_problem

N_CLASSES = 5
CLASSES = tuple("NSVFQ")
# Slices, not index arrays: the model gets views of the data, so a model that writes into its input is caught.
TRAIN, VAL, TEST = slice(0, 200), slice(200, 250), slice(250, None)
# The same seed, the same instance fitted again, an unpickled copy, pieces: all must give these probabilities.
SAME = 1e-6
# predict_in_pieces: the model's own pieces (predict_chunk_size) and the check's, which cross them.
CHUNK, PIECES = 7, (1, 12)


def check_data(n_per_class=(120, 40, 60, 30, 50), length=187, seed=0):
    """A small, clearly separable five-class set (SYNTHETIC): a class-specific bump on a noisy baseline."""
    rng = np.random.default_rng(seed)
    X, y = [], []
    t = np.linspace(0, 1, length)
    for c, n in enumerate(n_per_class):
        centre = 0.15 + 0.17 * c
        beats = np.exp(-((t - centre) ** 2) / 0.002) * (0.6 + 0.1 * c) + 0.05 * rng.standard_normal((n, length))
        X.append(beats)
        y.append(np.full(n, c))
    X, y = np.concatenate(X).astype(np.float32), np.concatenate(y)
    order = rng.permutation(len(y))
    return X[order], y[order]


class CheckResult(NamedTuple):
    name: str
    passed: bool
    message: str  # why it failed ("" where it passed), or a note such as why it did not apply


class Check(NamedTuple):
    """One named check of one model: ``run()`` (or calling the check) raises AssertionError where the model breaks
    the rule, and returns None or a note (such as why the rule does not apply)."""

    name: str
    run: Callable[[], str | None]

    def __call__(self) -> str | None:
        return self.run()


class _Unavailable(AssertionError):
    """Something that checks share (the fit, its predictions) failed when it was made."""


class _Shared:
    """What the checks of one model share: the data and one fit with its test predictions, each made on first
    use and kept, failures too (a broken fit is reported by every check that needs it, and tried once)."""

    def __init__(self, name: str, params: dict | None):
        self.name = name
        self.cls = model_class(name)
        self.params = dict(self.cls.quick_params if params is None else params)
        self._kept: dict[str, tuple[bool, object]] = {}

    def build(self, **extra):
        return build(self.name, n_classes=N_CLASSES, seed=0, **self.params, **extra)

    def keep(self, key: str, what: str, make: Callable[[], object]):
        if key not in self._kept:
            try:
                self._kept[key] = (True, make())
            except Exception as exc:  # reported as the failure of every check that needs it
                self._kept[key] = (False, exc)
        ok, value = self._kept[key]
        if ok:
            return value
        if isinstance(value, _Unavailable):  # what this needed failed: say that, not that this did
            raise _Unavailable(*value.args) from value.__cause__
        raise _Unavailable(f"{what} raised {type(value).__name__}: {value}") from value

    @property
    def data(self):
        return self.keep("data", "check_data", lambda: _with_copy(*check_data()))

    def fit(self, model, X=None, y=None):
        X_all, y_all, _ = self.data
        X = X_all[TRAIN] if X is None else X
        y = y_all[TRAIN] if y is None else y
        return model.fit(X, y, X_all[VAL], y_all[VAL])

    @property
    def fitted(self):
        """``(model, what fit returned)``, on the training part."""

        def fit():
            model = self.build()
            return model, self.fit(model)

        return self.keep("fitted", "fitting the model", fit)

    @property
    def proba(self):
        """The fitted model's probabilities of the test beats, predicted at once."""
        return self.keep("proba", "predicting the test beats", lambda: self.fitted[0].predict_proba(self.X_test))

    @property
    def X_test(self):
        return self.data[0][TEST]

    @property
    def refits(self):
        """The test probabilities of a second instance after its first and after its second fit."""

        def refit():
            model = self.build()
            self.fit(model)
            first = model.predict_proba(self.X_test)
            self.fit(model)
            return first, model.predict_proba(self.X_test)

        return self.keep("refits", "fitting a second instance twice", refit)

    def floor(self) -> float:
        _, y, _ = self.data
        return majority_baseline(y[TRAIN], y[TEST], CLASSES)["f1_macro"]

    def f1(self, proba) -> float:
        return classification_metrics(self.data[1][TEST], proba.argmax(axis=1), CLASSES)["f1_macro"]


def _with_copy(X, y):
    return X, y, X.copy()


# -- the rules: one function each, named after what it checks --------------------------------------------------
def params_are_declared(s: _Shared):
    assert isinstance(s.cls.default_params, dict), "default_params must be a dict"
    unknown = sorted(set(s.params) - set(s.cls.default_params))
    assert not unknown, f"the parameters checked name unknown parameters {unknown} (see quick_params)"


def unknown_parameter_refused(s: _Shared):
    _raises_ecgbench_error(lambda: s.build(not_a_parameter=1), "an unknown parameter")


def context_refused_without_uses_context(s: _Shared):
    _raises_ecgbench_error(lambda: s.build(n_context=2), "n_context on a model that does not set uses_context")


def predict_before_fit_fails_clearly(s: _Shared):
    X = s.X_test
    model = s.build()
    try:
        model.predict_proba(X)
    except EcgbenchError as exc:
        assert s.name in str(exc), f"the EcgbenchError must name the model: {exc}"
        return
    except Exception as exc:
        raise AssertionError(
            f"predict_proba before fit raised {type(exc).__name__}: {exc}, not an EcgbenchError naming the model"
        ) from exc
    raise AssertionError("predict_proba before fit returned instead of raising an EcgbenchError")


def bad_input_refused(s: _Shared):
    X, y, _ = s.data
    _raises_ecgbench_error(
        lambda: s.build().fit(X[TRAIN], y[TRAIN][:-1], X[VAL], y[VAL]), "fit with one label fewer than beats"
    )
    wrong = y[TRAIN].copy()
    wrong[0] = N_CLASSES
    _raises_ecgbench_error(lambda: s.build().fit(X[TRAIN], wrong, X[VAL], y[VAL]), "fit with a label >= n_classes")
    _raises_ecgbench_error(
        lambda: s.fitted[0].predict_proba(s.X_test[:, :-1]),
        "predict_proba on beats one column narrower than the training beats",
    )


def fit_returns_self(s: _Shared):
    model, returned = s.fitted
    assert returned is model, f"fit must return self, returned {type(returned).__name__}"


def input_not_modified(s: _Shared):
    _ = s.proba  # the model fitted and predicted on views of the data
    X, _, X_before = s.data
    assert np.array_equal(X, X_before), "fit or predict_proba modified the beats it was given"


def output_shape(s: _Shared):
    shape = np.shape(s.proba)
    assert shape == (len(s.X_test), N_CLASSES), f"predict_proba must return (n, n_classes), got {shape}"


def probabilities_valid(s: _Shared):
    proba = np.asarray(s.proba, dtype=np.float64)
    problem = probability_problem(proba, len(s.X_test), N_CLASSES)
    assert problem is None, f"predict_proba {problem}"


def same_seed_same_result(s: _Shared):
    first, _ = s.refits
    assert np.allclose(first, s.proba, atol=SAME), (
        f"a second instance with the same seed predicts otherwise (max difference {_gap(first, s.proba):.3g})"
    )


def fit_twice_same_model(s: _Shared):
    first, second = s.refits
    assert np.allclose(second, first, atol=SAME), (
        f"fitting the same instance again on the same data changed its predictions (max difference "
        f"{_gap(second, first):.3g}): fit must start afresh"
    )


def beats_majority_baseline(s: _Shared):
    f1, floor = s.f1(s.proba), s.floor()
    assert f1 > floor, f"macro-F1 {f1:.3f} not above the majority baseline's {floor:.3f}"


def class_absent_from_training(s: _Shared):
    X, y, _ = s.data
    seen = y[TRAIN] != 3
    model = s.build()
    s.fit(model, X[TRAIN][seen], y[TRAIN][seen])
    shape = model.predict_proba(s.X_test[:5]).shape
    assert shape == (5, N_CLASSES), f"without class 3 in training, predict_proba returned {shape}, not (5, 5)"


def fit_without_validation(s: _Shared):
    """``fit(X, y)`` alone, as the contract allows, and with an empty validation part, as the runner may pass: the
    model must fit, give valid probabilities and still beat the majority baseline (it decides itself what stops
    it early then: an internal split, a fixed budget, the training loss)."""
    X, y, _ = s.data
    for what, validation in (
        ("fit(X, y) without a validation part", ()),
        ("fit with an empty validation part", (X[VAL][:0], y[VAL][:0])),
    ):
        model = s.build()
        try:
            model.fit(X[TRAIN], y[TRAIN], *validation)
            proba = model.predict_proba(s.X_test)
        except Exception as exc:
            raise AssertionError(
                f"{what} raised {type(exc).__name__}: {exc}; a model must fit without "
                "validation beats (docs/adding-a-model.md)"
            ) from exc
        problem = probability_problem(np.asarray(proba, dtype=np.float64), len(s.X_test), N_CLASSES)
        assert problem is None, f"after {what}, predict_proba {problem}"
        f1, floor = s.f1(proba), s.floor()
        assert f1 > floor, f"after {what}, macro-F1 {f1:.3f} not above the majority baseline's {floor:.3f}"


def predict_in_pieces(s: _Shared):
    model, _ = s.fitted
    at_once, X = s.proba, s.X_test
    bounds = np.cumsum((0, *PIECES, len(X) - sum(PIECES)))
    previous = model.predict_chunk_size
    model.predict_chunk_size = CHUNK
    try:
        pieces = np.concatenate([model.predict_proba(X[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    finally:
        model.predict_chunk_size = previous
    assert np.allclose(pieces, at_once, atol=SAME), (
        f"predicting in pieces of {', '.join(map(str, np.diff(bounds)))} beats (predict_chunk_size {CHUNK}) "
        f"differs from predicting at once (max difference {_gap(pieces, at_once):.3g}): a beat's probabilities "
        "must not depend on the other beats predicted with it"
    )


def pickle_round_trip(s: _Shared):
    if not s.cls.picklable:
        return "not applicable: the model declares picklable = False"
    model, _ = s.fitted
    at_once = s.proba
    try:
        copy = pickle.loads(pickle.dumps(model))
    except Exception as exc:
        raise AssertionError(
            f"the fitted model does not pickle ({type(exc).__name__}: {exc}); a model that "
            "cannot be pickled must declare picklable = False"
        ) from exc
    again = copy.predict_proba(s.X_test)
    assert np.allclose(again, at_once, atol=SAME), (
        f"the unpickled model predicts otherwise (max difference {_gap(again, at_once):.3g})"
    )
    return None


def save_load(s: _Shared):
    """``save(folder)`` then ``load(folder)`` gives a model that predicts the same probabilities, bit for bit; a
    model that declares ``saved_by_pickle`` is refused without ``allow_pickle`` and loads with it."""
    import tempfile

    from ecgbench.models.saving import load_model

    model, _ = s.fitted
    at_once = s.proba
    with tempfile.TemporaryDirectory(prefix="ecgbench-save-load-") as tmp:
        folder = Path(tmp) / "model"
        try:
            model.save(folder)
        except Exception as exc:
            raise AssertionError(
                f"save(folder) raised {type(exc).__name__}: {exc}; a model implements _save and "
                "_load, or declares saved_by_pickle = True"
            ) from exc
        if s.cls.saved_by_pickle:
            _raises_ecgbench_error(lambda: load_model(folder), "loading a pickled model without allow_pickle")
        try:
            loaded = load_model(folder, allow_pickle=s.cls.saved_by_pickle)
            again = loaded.predict_proba(s.X_test)
        except Exception as exc:
            raise AssertionError(f"the saved model could not be loaded and used ({type(exc).__name__}: {exc})") from exc
    assert type(loaded) is type(model), f"load returned a {type(loaded).__name__}, not a {type(model).__name__}"
    assert np.array_equal(np.asarray(again), np.asarray(at_once)), (
        f"the loaded model predicts otherwise (max difference {_gap(again, at_once):.3g}); saved and loaded, a model "
        "must give the same probabilities bit for bit"
    )
    return "saved by pickling (loads only with allow_pickle)" if s.cls.saved_by_pickle else None


def learns_from_context(s: _Shared):
    """A model that declares ``uses_context`` must learn from the context columns: here the beats are noise and
    only the two context columns (a noisy code of the class) tell the classes apart."""
    _, y, _ = s.data
    rng = np.random.default_rng(1)
    beats = rng.standard_normal((len(y), 187)).astype(np.float32)
    context = np.column_stack([y + 0.2 * rng.standard_normal(len(y)), (y % 2) + 0.2 * rng.standard_normal(len(y))])
    X = np.hstack([beats, context]).astype(np.float32)
    model = s.build(n_context=2)
    model.fit(X[TRAIN], y[TRAIN], X[VAL], y[VAL])
    proba = model.predict_proba(X[TEST])
    assert proba.shape == (len(y[TEST]), N_CLASSES), f"with context, predict_proba returned shape {proba.shape}"
    f1, floor = s.f1(proba), s.floor()
    assert f1 > floor + 0.2, f"ignores its context columns (macro-F1 {f1:.3f} on noise beats, majority {floor:.3f})"


def _raises_ecgbench_error(call: Callable[[], object], what: str):
    try:
        call()
    except EcgbenchError:
        return
    except _Unavailable:
        raise
    except Exception as exc:
        raise AssertionError(f"{what} raised {type(exc).__name__}: {exc}, not an EcgbenchError") from exc
    raise AssertionError(f"{what} must raise EcgbenchError")


def _gap(a, b) -> float:
    return float(np.max(np.abs(np.asarray(a) - np.asarray(b)), initial=0))


# Every rule, in the order the checks run; the context rules apply to the models with (or without) uses_context.
RULES = (
    params_are_declared,
    unknown_parameter_refused,
    context_refused_without_uses_context,
    predict_before_fit_fails_clearly,
    bad_input_refused,
    fit_returns_self,
    input_not_modified,
    output_shape,
    probabilities_valid,
    same_seed_same_result,
    fit_twice_same_model,
    beats_majority_baseline,
    class_absent_from_training,
    fit_without_validation,
    predict_in_pieces,
    pickle_round_trip,
    save_load,
    learns_from_context,
)


def _applies(rule, cls) -> bool:
    if rule is context_refused_without_uses_context:
        return not cls.uses_context
    if rule is learns_from_context:
        return cls.uses_context
    return True


def model_checks(name: str, params: dict | None = None) -> Iterator[Check]:
    """The checks that apply to model ``name`` with ``params`` (default: its quick parameters), as
    ``(check_name, check)`` pairs (:class:`Check`); nothing is fitted until a check runs."""
    shared = _Shared(name, params)
    for rule in RULES:
        if _applies(rule, shared.cls):
            yield Check(rule.__name__, partial(rule, shared))


def check_model(name: str, params: dict | None = None, raise_on_failure: bool = True) -> list[CheckResult]:
    """Run every check on model ``name`` (each one, whatever the others gave) and return one result per check.

    With ``raise_on_failure`` (the default, for a plugin's tests) an AssertionError lists every failed check.
    """
    results = []
    for check in model_checks(name, params):
        try:
            note = check()
        except Exception as exc:  # every check runs and reports, whatever the others raised
            message = str(exc) if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
            results.append(CheckResult(check.name, False, message))
        else:
            results.append(CheckResult(check.name, True, note or ""))
    failed = [r for r in results if not r.passed]
    if failed and raise_on_failure:
        lines = "".join(f"\n  {r.name}: {r.message}" for r in failed)
        raise AssertionError(f"model {name!r} failed {len(failed)} of {len(results)} conformance checks:{lines}")
    return results


def check_fit_without_validation(name: str, params: dict | None = None) -> str | None:
    """The ``fit_without_validation`` check alone on model ``name`` (scikit-learn's naming: one ``check_`` function
    per rule); raises AssertionError where the model breaks it."""
    return fit_without_validation(_Shared(name, params))


def parametrize_with_checks(names, params: dict | None = None):
    """A pytest decorator: one test per model of ``names`` and check, with ids ``model-check``; the test takes
    the argument ``check`` and calls it."""
    import pytest

    pairs = [(name, check) for name in names for check in model_checks(name, params)]
    return pytest.mark.parametrize(
        "check", [check for _, check in pairs], ids=[f"{name}-{check.name}" for name, check in pairs]
    )
