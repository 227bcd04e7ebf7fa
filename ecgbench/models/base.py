"""The model contract. Every model, in-tree or plugin, is a subclass of :class:`Model`.

A model is built with the number of classes, a seed and hyperparameters (defaults merged with overrides), is fitted
on training beats with a validation part for early stopping or model selection, and predicts class probabilities.
It never sees the test part before ``predict_proba``.

The public methods belong to the base class: :meth:`Model.fit` validates its input and calls the subclass's
``_fit``; :meth:`Model.predict_proba` refuses an unfitted model and input of the wrong width, calls
``_predict_proba`` and refuses what is not one probability row per beat (a NaN never reaches a result).
``ecgbench.models.check`` holds the named conformance checks that every model must pass (docs/adding-a-model.md).

Input: ``X`` is float32 ``(n, length)``, one beat per row. A model that sets ``uses_context = True`` is built with
``n_context`` > 0 where the dataset has per-beat context features (the RR intervals of ``ecgbench.data.rr``); the
last ``n_context`` columns of its ``X`` are then those features, and :meth:`Model.split_context` separates them.
Models that do not declare it never see context columns.

A model whose ``uses_groups`` is true (a deep model with ``record_normalisation``) also takes the record id of every
beat: ``groups`` (and ``groups_val``) in :meth:`Model.fit`, ``groups`` in :meth:`Model.predict_proba`, each record's
beats given whole. The other models are called without them.
"""

from __future__ import annotations

import json
import logging
import pickle
from pathlib import Path
from typing import ClassVar

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.extras import first_missing
from ecgbench.core.params import Param, check_params, split_schema, typed_by_default
from ecgbench.core.progress import BeatProgress

log = logging.getLogger(__name__)


class Model:
    """Base class: subclasses set ``default_params`` and implement ``_fit`` and ``_predict_proba``.

    ``quick_params`` are the overrides that ``--quick`` applies: a smoke-sized version of the model. The class
    tags say what the model can do: ``uses_context`` (it takes the context columns), ``picklable`` (a fitted
    instance survives a pickle round trip). ``predict_chunk_size``, where a model predicts in pieces (transform
    chunks, network batches), is the beats per piece (None: the model's own default); the conformance check sets
    it small to see that pieces give the probabilities of one pass.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    default_params: ClassVar[dict] = {}
    param_schema: ClassVar[dict[str, Param]] = {}  # from the Param entries of default_params (and inherited)
    quick_params: ClassVar[dict] = {}
    uses_context: ClassVar[bool] = False  # whether X may end in n_context per-beat context columns
    uses_groups: bool = False  # whether fit and predict_proba need the record id of every beat (groups)
    picklable: ClassVar[bool] = True  # whether a fitted model pickles and predicts the same after unpickling
    predict_chunk_size: int | None = None
    # A model that can only be saved by pickling declares it: loading it then needs allow_pickle (--allow-pickle),
    # since unpickling runs whatever code the file names. Every other model implements _save and _load.
    saved_by_pickle: ClassVar[bool] = False
    # The soft dependencies (import names) the model cannot do without; each comes with an extra (core.extras).
    needs: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs):
        """Split ``default_params`` into plain defaults and ``param_schema``; an entry that a subclass sets to a
        plain value keeps the schema its parent declared for that name."""
        super().__init_subclass__(**kwargs)
        if "default_params" in cls.__dict__:
            inherited = {k: v for k, v in cls.param_schema.items() if k in cls.__dict__["default_params"]}
            cls.default_params, declared = split_schema(cls.__dict__["default_params"])
            cls.param_schema = {**inherited, **declared}

    def __init__(self, n_classes: int, seed: int = 0, n_context: int = 0, **params):
        self.require_installed()
        self.check_params(params)
        if n_context and not self.uses_context:
            raise EcgbenchError(f"model {self.name!r} does not take context features (uses_context is False)")
        self.n_classes = int(n_classes)
        self.seed = int(seed)
        self.n_context = int(n_context)
        self.params = {**self.default_params, **params}
        self.timings: dict[str, float] = {}  # seconds of the parts of the work a model times itself (see fit)

    @classmethod
    def unavailable(cls) -> str | None:
        """Why the model cannot run here (a library it ``needs`` is not installed), in one line; None if it can."""
        return first_missing(cls.needs, f"model {cls.name!r}")

    @classmethod
    def require_installed(cls) -> None:
        if reason := cls.unavailable():
            raise EcgbenchError(reason)

    @classmethod
    def check_params(cls, params: dict, where: str | None = None) -> None:
        """Refuse unknown parameters and values outside their ``param_schema`` entry (undeclared parameters: of
        another type than their default). ``where`` starts the message (default: ``model 'name'``)."""
        cls.check_param_names(params)
        check_params(cls.schema(), params, where or f"model {cls.name!r}")

    @classmethod
    def schema(cls) -> dict[str, Param]:
        """Every parameter's :class:`Param`: the declared ones, and the type of the default for the others."""
        return {**typed_by_default(cls.default_params), **cls.param_schema}

    @classmethod
    def check_param_names(cls, params: dict) -> None:
        """Refuse parameters the model does not have (their values are checked when it is built for a dataset)."""
        unknown = sorted(set(params) - set(cls.default_params))
        if unknown:
            known = ", ".join(sorted(cls.default_params)) or "none"
            raise EcgbenchError(
                f"model {cls.name!r}: unknown parameter(s) {', '.join(unknown)}; known parameters: {known}"
            )

    # The contract: the public methods validate, the subclass implements the underscored ones.
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_val: np.ndarray | None = None,
        y_val: np.ndarray | None = None,
        groups: np.ndarray | None = None,
        groups_val: np.ndarray | None = None,
    ) -> Model:
        """Check the training and validation parts, fit the model on them (:meth:`_fit`) and return it.

        ``X_val`` and ``y_val`` come together or not at all (the runner always passes them, possibly empty).
        ``groups`` and ``groups_val``, the record ids of their beats, reach ``_fit`` only where ``uses_groups``.
        """
        X, y = self._checked_part(X, y, "X", "y")
        if X.shape[1] <= self.n_context:
            raise EcgbenchError(
                f"model {self.name!r}: X has {X.shape[1]} columns, but the last n_context = "
                f"{self.n_context} are context: no beat samples are left"
            )
        if (X_val is None) != (y_val is None):
            raise EcgbenchError(f"model {self.name!r}: X_val and y_val must be given together (or both None)")
        if X_val is not None:
            X_val, y_val = self._checked_part(X_val, y_val, "X_val", "y_val", width=X.shape[1])
        self._fitted = False
        self.timings = {}
        if self.uses_groups:
            groups = self._checked_groups(groups, len(X), "groups")
            groups_val = None if X_val is None else self._checked_groups(groups_val, len(X_val), "groups_val")
            self._fit(X, y, X_val, y_val, groups=groups, groups_val=groups_val)
        else:
            self._fit(X, y, X_val, y_val)
        self.n_columns_ = X.shape[1]
        self._fitted = True
        return self

    def predict_proba(self, X: np.ndarray, groups: np.ndarray | None = None) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` of the beats of ``X``, float64 rows summing to 1; ``groups``, the
        record ids of the beats, reach ``_predict_proba`` only where ``uses_groups``."""
        if not getattr(self, "_fitted", False):
            raise EcgbenchError(f"model {self.name!r}: predict_proba called before fit")
        X = self._checked_beats(X, "X", width=self.n_columns_)
        if not len(X):
            return np.zeros((0, self.n_classes))
        if self.uses_groups:
            groups = self._checked_groups(groups, len(X), "groups")
            proba = np.asarray(self._predict_proba(X, groups=groups), dtype=np.float64)
        else:
            proba = np.asarray(self._predict_proba(X), dtype=np.float64)
        problem = probability_problem(proba, len(X), self.n_classes)
        if problem:
            raise EcgbenchError(f"model {self.name!r}: predict_proba {problem}")
        return proba

    def save(self, folder: str | Path) -> Path:
        """Write the fitted model into ``folder`` (created): the subclass's files (:meth:`_save`: formats that load
        without running code from the folder) and ``model.json``, what the model was built with. Returns the folder.
        A model that declares ``saved_by_pickle`` is pickled into ``model.pkl`` instead."""
        from ecgbench.core.io import atomic_write, write_json

        if not getattr(self, "_fitted", False):
            raise EcgbenchError(f"model {self.name!r}: save called before fit")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        if self.saved_by_pickle:
            atomic_write(folder / PICKLE_FILE, lambda tmp: tmp.write_bytes(pickle.dumps(self)))
        else:
            self._save(folder)
        write_json(
            folder / MODEL_FILE,
            {
                "format_version": MODEL_FORMAT_VERSION,
                "model": self.name,
                "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "n_classes": self.n_classes,
                "seed": self.seed,
                "n_context": self.n_context,
                "n_columns": int(self.n_columns_),
                "params": self.params,
                "pickled": bool(self.saved_by_pickle),
            },
        )
        return folder

    @classmethod
    def load(cls, folder: str | Path, allow_pickle: bool = False) -> Model:
        """The model saved in ``folder`` by :meth:`save`, ready to predict. A pickled model (``saved_by_pickle``)
        is refused unless ``allow_pickle``: unpickling runs whatever code the file names."""
        cls.require_installed()
        folder = Path(folder)
        meta = read_model_meta(folder)
        if meta["model"] != cls.name:
            raise EcgbenchError(f"{folder / MODEL_FILE}: the folder holds model {meta['model']!r}, not {cls.name!r}")
        if meta.get("pickled"):
            if not allow_pickle:
                raise EcgbenchError(
                    f"{folder}: model {cls.name!r} was saved by pickling ({PICKLE_FILE}); loading it runs whatever "
                    "code the file names, so it is refused unless you trust the folder and allow it (--allow-pickle)"
                )
            with open(folder / PICKLE_FILE, "rb") as fh:
                model = pickle.load(fh)  # noqa: S301 - asked for explicitly (allow_pickle)
            if not isinstance(model, cls):
                raise EcgbenchError(f"{folder / PICKLE_FILE}: not a {cls.name!r} model ({type(model).__name__})")
        else:
            model = cls(n_classes=meta["n_classes"], seed=meta["seed"], n_context=meta["n_context"], **meta["params"])
            try:
                model._load(folder)
            except EcgbenchError:
                raise
            except FileNotFoundError as exc:
                raise EcgbenchError(
                    f"{folder}: model {cls.name!r} cannot be loaded: {exc.filename or exc} is missing"
                ) from None
            except Exception as exc:  # a damaged file: whatever its reader raises
                raise EcgbenchError(
                    f"{folder}: model {cls.name!r} cannot be loaded ({type(exc).__name__}: {exc}); "
                    "its files are damaged or were written by another version"
                ) from None
        model.n_columns_ = int(meta["n_columns"])
        model._fitted = True
        return model

    def _save(self, folder: Path) -> None:
        """Write the fitted state into ``folder``, in formats that load without running code from it (Keras's
        ``.keras``, XGBoost's UBJSON, ``numpy.savez`` arrays, JSON)."""
        raise NotImplementedError(
            f"model {self.name!r} implements no _save; implement _save and _load, or declare "
            "saved_by_pickle = True (its folders then load only with --allow-pickle)"
        )

    def _load(self, folder: Path) -> None:
        """Restore what :meth:`_save` wrote into this freshly built instance (same parameters, classes, seed)."""
        raise NotImplementedError(f"model {self.name!r} implements no _load")

    def _fit(self, X: np.ndarray, y: np.ndarray, X_val: np.ndarray | None, y_val: np.ndarray | None) -> None:
        """Fit on validated input: ``X`` 2-D numbers, ``y`` one label in ``0..n_classes-1`` per row."""
        raise NotImplementedError

    def _predict_proba(self, X: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, n_classes)`` for validated input of the fitted width, ``n`` >= 1."""
        raise NotImplementedError

    @staticmethod
    def in_pieces(X: np.ndarray, size: int, predict_piece, what: str) -> np.ndarray:
        """``predict_piece`` of ``X``, ``size`` beats at a time, joined: for a model whose beats do not depend on
        each other, so that the matrices made on the way (transforms, features) hold one piece's beats at most.
        Progress is logged under ``what``."""
        proba, progress = [], BeatProgress(what, len(X))
        for begin in range(0, max(len(X), 1), size):
            part = X[begin : begin + size]
            proba.append(predict_piece(part))
            progress.add(len(part))
        return np.concatenate(proba)

    def _checked_beats(self, X, what: str, width: int | None = None) -> np.ndarray:
        X = np.asarray(X)
        if X.ndim != 2 or not (np.issubdtype(X.dtype, np.floating) or np.issubdtype(X.dtype, np.integer)):
            raise EcgbenchError(
                f"model {self.name!r}: {what} must be a 2-D array of numbers (one beat per row), "
                f"got {X.dtype} of shape {X.shape}"
            )
        if width is not None and X.shape[1] != width:
            raise EcgbenchError(
                f"model {self.name!r}: {what} has {X.shape[1]} columns, expected {width} "
                f"(the width of the training beats)"
            )
        return X

    def _checked_groups(self, groups, n: int, what: str) -> np.ndarray:
        if groups is None:
            raise EcgbenchError(
                f"model {self.name!r} needs the record id of every beat ({what}), which the dataset does not have "
                "(record_normalisation = true)"
            )
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise EcgbenchError(
                f"model {self.name!r}: {what} must hold one record id per beat ({n}), got shape {groups.shape}"
            )
        return groups

    def _checked_part(self, X, y, x_what: str, y_what: str, width: int | None = None):
        X = self._checked_beats(X, x_what, width)
        y = np.asarray(y)
        if y.ndim != 1 or len(y) != len(X):
            raise EcgbenchError(
                f"model {self.name!r}: {y_what} must hold one label per row of {x_what} ({len(X)}), got shape {y.shape}"
            )
        if x_what == "X" and not len(y):
            raise EcgbenchError(f"model {self.name!r}: no training beats")
        if len(y) and not np.issubdtype(y.dtype, np.integer):
            raise EcgbenchError(f"model {self.name!r}: {y_what} must be integer class labels, got {y.dtype}")
        outside = sorted({int(c) for c in y[(y < 0) | (y >= self.n_classes)]}) if len(y) else []
        if outside:
            raise EcgbenchError(
                f"model {self.name!r}: {y_what} holds labels outside 0..{self.n_classes - 1} "
                f"(n_classes = {self.n_classes}): {outside}"
            )
        return X, y

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


MODEL_FILE = "model.json"  # what the model was built with, beside the files its _save wrote
PICKLE_FILE = "model.pkl"  # only for models that declare saved_by_pickle
MODEL_FORMAT_VERSION = 1


def read_model_meta(folder: str | Path) -> dict:
    """``model.json`` of a saved model, checked for the keys :meth:`Model.load` needs."""
    path = Path(folder) / MODEL_FILE
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EcgbenchError(f"{folder} holds no saved model ({MODEL_FILE} is missing)") from None
    except (OSError, ValueError) as exc:
        raise EcgbenchError(f"{path} is damaged ({exc})") from None
    needed = ("model", "n_classes", "seed", "n_context", "n_columns", "params")
    if not isinstance(meta, dict) or any(k not in meta for k in needed):
        raise EcgbenchError(
            f"{path} is damaged: it lacks {', '.join(k for k in needed if k not in meta)}"
            if isinstance(meta, dict)
            else f"{path} is damaged: not a JSON object"
        )
    if meta.get("format_version", 1) > MODEL_FORMAT_VERSION:
        raise EcgbenchError(f"{path}: saved by a newer ecgbench (format {meta['format_version']})")
    return meta


def probability_problem(proba: np.ndarray, n: int, n_classes: int) -> str | None:
    """What is wrong with ``proba`` as the probabilities of ``n`` beats over ``n_classes`` classes (None: nothing)."""
    if proba.shape != (n, n_classes):
        return f"must return (n, n_classes) = {(n, n_classes)}, got shape {proba.shape}"
    bad = ~np.isfinite(proba).all(axis=1)
    if bad.any():
        return f"returned non-finite probabilities (NaN or infinite) for {bad.sum()} of {n} beats"
    if (proba < 0).any():
        return f"returned negative probabilities (min {proba.min():.3g})"
    sums = proba.sum(axis=1)
    if not np.allclose(sums, 1, atol=1e-5):
        return f"rows must sum to 1, found sums from {sums.min():.6g} to {sums.max():.6g}"
    return None


def check_prior_weights(model: str, weights, n_classes: int) -> None:
    """Refuse ``prior_weights`` that are not ``None`` or one positive number per class."""
    if weights is None:
        return
    if (
        not isinstance(weights, (list, tuple))
        or len(weights) != n_classes
        or not all(isinstance(w, (int, float)) and not isinstance(w, bool) and w > 0 for w in weights)
    ):
        raise EcgbenchError(
            f"model {model!r}: prior_weights must be {n_classes} positive numbers, one per class in "
            f"class order, got {weights!r}"
        )


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
