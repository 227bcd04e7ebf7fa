"""tsfresh features + XGBoost: the classical feature-engineering baseline.

Features, the tsfresh way, at a fraction of its cost: extract tsfresh's ``EfficientFCParameters`` without its
slowest calculators (``SLOW_CALCULATORS``; measured on 187-sample beats, those few take about 85% of the efficient
set's extraction time) from a stratified sample of ``selection_beats`` training beats, rank them by tsfresh's
hypothesis tests of relevance to the classes (with Benjamini-Yekutieli FDR control; tsfresh's relevance table,
vectorised in :mod:`ecgbench.models.relevance`), keep the best ``max_features``, and extract only those from all
training, validation and test beats. The beat's context features (RR intervals), where the dataset has them, join
the tsfresh features as further columns. Every calculator of that candidate set has a vectorised twin in
:mod:`ecgbench.models.fast_features`, which gives tsfresh's values on the whole beat matrix at once; tsfresh itself
computes only the columns of other calculators.

XGBoost: histogram trees, early stopping on the validation part's log loss, beats weighted by inverse class
frequency raised to ``class_weight_power`` (a tempered weighting: it lifts the rare classes without flooding the
majority class with false alarms). ``prior_weights`` optionally shifts the predicted probabilities towards some
classes after fitting (a decision rule; see :func:`ecgbench.models.base.shift_priors`).
"""

from __future__ import annotations

import logging
import time
from concurrent.futures.process import BrokenProcessPool
from functools import partial

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.params import Param
from ecgbench.core.progress import BeatProgress
from ecgbench.core.threads import current_threads, map_in_pool
from ecgbench.models import fast_features, register
from ecgbench.models.base import Model, check_prior_weights, sample_weights, shift_priors
from ecgbench.models.feature_cache import cached_extract

# Where `list` and `run --all` put this module's models (ecgbench.core.registry.listing_rank): as before discovery.
LISTED_AT = 1

log = logging.getLogger(__name__)

SLOW_CALCULATORS = (
    "change_quantiles",
    "number_cwt_peaks",
    "agg_linear_trend",
    "friedrich_coefficients",
    "max_langevin_fixed_point",
    "augmented_dickey_fuller",
    "ar_coefficient",
    "fourier_entropy",
    "lempel_ziv_complexity",
    "cwt_coefficients",
    "permutation_entropy",
    "benford_correlation",
)


def feature_settings(exclude=SLOW_CALCULATORS) -> dict:
    from tsfresh.feature_extraction import EfficientFCParameters

    return {name: params for name, params in EfficientFCParameters().items() if name not in exclude}


EXTRACT_CHUNK_SIZE = 2_500  # beats per tsfresh call, bounding its memory (docs/decisions.md#tsfresh-extract-chunk)
PREDICT_PIECE_SIZE = 25_000  # test beats featurised and classified at a time (docs/decisions.md#tsfresh-predict-pieces)
PIECES_PER_WORKER = 4  # with a process pool: enough pieces that the workers finish together


def extract(X: np.ndarray, settings: dict, columns=None, chunk_size: int = EXTRACT_CHUNK_SIZE):
    """tsfresh features of every beat, one row per beat, in a fixed column order (``columns`` when given, else
    sorted by name).

    tsfresh wants the beats in a long table (one row per sample, several copies of it while it works), which for
    100,000 beats alone takes gigabytes; beats are independent, so pieces of at most ``chunk_size`` beats give the
    same features in bounded memory. With more than one thread the pieces are extracted in parallel, each in a
    worker of :func:`ecgbench.core.threads.process_pool` that returns its rows (the beats go out and the feature
    matrix comes back; tsfresh's own distributor would send every feature value back as a Python tuple).
    """
    if current_threads() > 1:  # the process pool's workers
        chunk_size = max(1, min(chunk_size, -(-len(X) // (current_threads() * PIECES_PER_WORKER))))
    pieces = [X[begin : begin + chunk_size] for begin in range(0, max(len(X), 1), chunk_size)]
    job = partial(extract_chunk, settings=settings, columns=columns)
    results, progress = [], BeatProgress("tsfresh features", len(X))
    try:
        for values, names in map_in_pool(job, pieces):
            results.append((values, names))
            progress.add(len(values))
    except BrokenProcessPool:  # the next extraction gets a fresh pool
        raise RuntimeError("a tsfresh extraction worker died (killed, or out of memory)") from None
    return np.concatenate([values for values, _ in results]), results[0][1]


def extract_chunk(X: np.ndarray, settings: dict, columns=None):
    """tsfresh features of a piece of beats, in this process."""
    import pandas as pd
    from tsfresh import extract_features

    n, length = X.shape
    long = pd.DataFrame(
        {
            "id": np.repeat(np.arange(n), length),
            "time": np.tile(np.arange(length), n),
            "ecg": X.ravel().astype(np.float64),
        }
    )
    features = extract_features(
        long, column_id="id", column_sort="time", default_fc_parameters=settings, n_jobs=0, disable_progressbar=True
    )
    features = features.reindex(columns=sorted(features.columns) if columns is None else columns)
    return features.to_numpy(np.float32), list(features.columns)


def extract_named(X: np.ndarray, columns: list[str], chunk_size: int = EXTRACT_CHUNK_SIZE) -> np.ndarray:
    """The named tsfresh feature columns of every beat, in that order (float32).

    A column whose calculator :mod:`ecgbench.models.fast_features` vectorises is computed there, on the whole beat
    matrix (tsfresh's values, at a small fraction of its cost: tests/test_fast_features.py); only the other columns
    go through tsfresh (:func:`extract`: its pieces of ``chunk_size`` beats, its process pool, its progress).
    """
    from tsfresh.feature_extraction.settings import from_columns

    fast = [i for i, column in enumerate(columns) if fast_features.covers(column)]
    rest = sorted(set(range(len(columns))) - set(fast))
    values = np.empty((len(X), len(columns)), dtype=np.float32)
    if fast:
        values[:, fast] = fast_features.extract(X, [columns[i] for i in fast])
    if rest:
        names = [columns[i] for i in rest]
        values[:, rest] = extract(X, from_columns(names)["ecg"], names, chunk_size)[0]
    return values


def candidate_columns(X: np.ndarray, settings: dict) -> list[str]:
    """The columns tsfresh's extraction gives for the settings, sorted by name as :func:`extract` sorts them.

    tsfresh names a column from its calculator and parameters, not from the values; where every calculator has a
    vectorised twin, :func:`fast_features.column_name` (tsfresh's naming, tests/test_fast_features.py) names them
    without a tsfresh extraction (a second or two). Otherwise tsfresh extracts the first beat of ``X`` to name them.
    """
    from tsfresh.feature_extraction import feature_calculators

    names = [
        fast_features.column_name(name, param)
        for name, params in settings.items()
        # a calculator that needs a datetime index (linear_trend_timewise) gives no column on extract's long table,
        # whose index is the sample number
        if getattr(getattr(feature_calculators, name), "index_type", None) is None
        for param in (params or [None])
    ]
    if all(fast_features.covers(name) for name in names):
        return sorted(names)
    return extract(X[:1], settings)[1]


def balanced_sample(y: np.ndarray, size: int, rng: np.random.Generator) -> np.ndarray:
    """Sorted indices of at most ``size`` beats: every class up to an equal share, the share that small classes
    leave unused spread over the larger ones."""
    classes, counts = np.unique(y, return_counts=True)
    picked, left = [], size
    for rank, i in enumerate(np.argsort(counts, kind="stable")):  # smallest class first: its unused share passes on
        members = np.flatnonzero(y == classes[i])
        n = min(len(members), left // (len(classes) - rank))
        picked.append(rng.choice(members, n, replace=False))
        left -= n
    return np.sort(np.concatenate(picked))


@register("tsfresh-xgboost")
class TsfreshXGBoost(Model):
    description = "tsfresh features (efficient set minus slowest calculators, FDR-selected) + XGBoost"
    needs = ("tsfresh", "xgboost")
    default_params = {
        "n_estimators": Param(600, low=1, search=(100, 800), log=True),
        "max_depth": Param(6, low=1, search=(3, 10)),
        "learning_rate": Param(0.1, above=0, search=(0.02, 0.3), log=True),
        "subsample": Param(0.8, above=0, high=1, search=(0.5, 1.0)),
        "colsample_bytree": Param(0.5, above=0, high=1, search=(0.2, 1.0)),
        # on the validation beats' log loss; 0: no early stopping, n_estimators rounds
        "early_stopping_rounds": Param(30, low=0),
        "max_bin": Param(64, low=2),  # histogram bins per feature: tree cost grows with features x bins
        "class_weight_power": Param(0.5, low=0, search=(0.0, 1.5)),
        "fdr_level": Param(0.05, above=0, below=1),  # false discovery rate of tsfresh's feature selection
        # 300 features, chosen on validation parts only: docs/decisions.md#tsfresh-300-features
        "max_features": Param(300, low=1, search=(50, 400), log=True),
        "selection_beats": Param(5000, low=1),  # the sample of training beats on which features are selected
        # true: tsfresh's whole efficient set, selected on every training beat and all relevant features kept
        # (the naive pipeline; benchmarks/tsfresh_speed.py compares the two, docs/decisions.md#tsfresh-slow-calculators)
        "full_efficient_set": Param(False),
        # Multiplies each class's predicted probability (one factor per class, in class order) and renormalises:
        # the posterior under shifted class priors (ecgbench.models.base.shift_priors). None: unchanged.
        "prior_weights": Param(None, kind="list", optional=True, items=Param(kind="float", above=0)),
    }
    quick_params = {"n_estimators": 50}
    uses_context = True

    def __init__(self, n_classes, seed=0, n_context=0, **params):
        super().__init__(n_classes, seed, n_context, **params)
        check_prior_weights(self.name, self.params["prior_weights"], self.n_classes)

    def features(self, X, label):
        """The selected features of the beats, those extracted before for the same beats taken from the feature
        cache (:mod:`ecgbench.models.feature_cache`)."""
        start = time.monotonic()
        values = cached_extract(X, self.columns, self.extract_columns)
        self.timings["transform_seconds"] = self.timings.get("transform_seconds", 0.0) + time.monotonic() - start
        log.info(
            "tsfresh-xgboost: %d features of %d %s beats in %.1f s",
            values.shape[1],
            len(X),
            label,
            time.monotonic() - start,
        )
        return values

    def extract_columns(self, X, columns):
        return extract_named(X, columns, self.predict_chunk_size or EXTRACT_CHUNK_SIZE)

    def select(self, X, y):
        """Extract the full set from a sample of the training beats and keep the relevant features.

        Of the relevant features, at most ``max_features`` with the smallest p-values are kept: extraction and every
        tree cost more with each feature (the default's comment gives the validation numbers behind it). Relevance
        is a property of the population, so a sample of a few thousand beats ranks the features much as the whole
        training set would, at a fraction of the cost of extracting hundreds of features from every beat. The
        sample is class-balanced (up to an equal share per class), so that the tests see enough of the rare
        classes (F is 0.7% of MIT-BIH) to find the features that tell them apart.
        """
        from tsfresh.feature_extraction.settings import from_columns

        from ecgbench.models.relevance import relevance_table

        start = time.monotonic()
        full = self.params["full_efficient_set"]
        if not full:
            sample = balanced_sample(y, self.params["selection_beats"], np.random.default_rng(self.seed))
            X, y = X[sample], y[sample]
        settings = feature_settings(exclude=() if full else SLOW_CALCULATORS)
        # Through the feature cache, so that a rerun (the same beats, the same sample) selects without extracting.
        columns = candidate_columns(X, settings)
        values = cached_extract(X, columns, extract_named)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)  # undefined values as 0: the tests want numbers
        relevance = relevance_table(
            values, y, columns, fdr_level=self.params["fdr_level"], n_significant=1, multiclass=len(np.unique(y)) > 2
        )
        relevance = relevance[relevance["type"] != "constant"].reset_index(drop=True)  # no information: never kept
        relevance["p_min"] = relevance.filter(like="p_value").astype(float).min(axis=1)
        ranked = relevance.sort_values(["relevant", "p_min", "feature"], ascending=[False, True, True])
        keep = int(ranked["relevant"].sum()) if full else self.params["max_features"]
        self.columns = list(ranked["feature"][:keep])
        self.settings = from_columns(self.columns)["ecg"]
        log.info(
            "tsfresh-xgboost: kept %d of %d features (%d relevant), selected on %d training beats (%.1f s)",
            len(self.columns),
            len(columns),
            int(relevance["relevant"].sum()),
            len(X),
            time.monotonic() - start,
        )

    def feature_matrix(self, X, label):
        """The selected tsfresh features of the beats, followed by their context columns (if any)."""
        beats, context = self.split_context(X)
        values = self.features(beats, label)
        return values if context is None else np.hstack([values, context])

    def _fit(self, X, y, X_val, y_val):
        from xgboost import XGBClassifier

        self.select(self.split_context(X)[0], y)
        train = self.feature_matrix(X, "training")
        # XGBoost wants labels 0..k-1: map the classes seen in training onto that range.
        self.seen = np.unique(y)
        code = {c: i for i, c in enumerate(self.seen)}
        p = self.params
        # Early stopping needs validation beats of classes seen in training; without them (no validation part, an
        # empty one, or one of unseen classes only) the booster runs its n_estimators rounds, as with
        # early_stopping_rounds = 0 (docs/decisions.md#fit-without-validation).
        in_seen = np.isin(y_val, self.seen) if y_val is not None else np.zeros(0, dtype=bool)
        stop_early = p["early_stopping_rounds"] > 0 and bool(in_seen.any())
        self.booster = XGBClassifier(
            n_estimators=p["n_estimators"],
            max_depth=p["max_depth"],
            learning_rate=p["learning_rate"],
            subsample=p["subsample"],
            colsample_bytree=p["colsample_bytree"],
            early_stopping_rounds=p["early_stopping_rounds"] if stop_early else None,
            tree_method="hist",
            max_bin=p["max_bin"],
            random_state=self.seed,
            n_jobs=current_threads(),
            eval_metric="mlogloss" if len(self.seen) > 2 else "logloss",
        )
        eval_set = None
        if stop_early:  # without it the validation beats are not needed, so their features are not extracted
            val = self.feature_matrix(X_val, "validation")  # a class absent from training cannot be scored on
            eval_set = [(val[in_seen], np.vectorize(code.get)(y_val[in_seen]))]
        self.booster.fit(
            train,
            np.vectorize(code.get)(y),
            sample_weight=sample_weights(y, self.n_classes, p["class_weight_power"]),
            eval_set=eval_set,
            verbose=False,
        )
        rounds = self.booster.get_booster().num_boosted_rounds()
        if stop_early:
            log.info(
                "tsfresh-xgboost: early stopping after %d boosting rounds, best round %d",
                rounds,
                self.booster.best_iteration + 1,
            )
        else:
            log.info(
                "tsfresh-xgboost: %d boosting rounds (no early stopping%s)",
                rounds,
                "" if p["early_stopping_rounds"] == 0 else ": no validation beats of a trained class",
            )

    # -- saving: the booster in XGBoost's UBJSON, the tsfresh feature list as JSON ---------------------------------
    def _save(self, folder):
        from ecgbench.core.io import write_json

        # the extension chooses the format (UBJSON); the run store writes the whole folder atomically
        self.booster.get_booster().save_model(str(folder / "booster.ubj"))
        best = getattr(self.booster, "best_iteration", None) if self.booster.early_stopping_rounds else None
        write_json(
            folder / "features.json",
            {
                "tsfresh_columns": self.columns,
                "seen_classes": self.seen.tolist(),
                "best_iteration": None if best is None else int(best),
            },
        )

    def _load(self, folder):
        import json

        from tsfresh.feature_extraction.settings import from_columns
        from xgboost import Booster, XGBClassifier

        meta = json.loads((folder / "features.json").read_text(encoding="utf-8"))
        self.columns = list(meta["tsfresh_columns"])
        self.settings = from_columns(self.columns)["ecg"]
        self.seen = np.asarray(meta["seen_classes"], dtype=np.int64)
        booster = Booster(model_file=str(folder / "booster.ubj"))
        booster.set_param({"nthread": current_threads()})
        self.booster = XGBClassifier(n_jobs=current_threads())
        self.booster._Booster = booster
        self.booster.n_classes_ = len(self.seen)  # the booster's attributes keep best_iteration (early stopping)
        if meta["best_iteration"] is not None and self.booster.best_iteration != meta["best_iteration"]:
            raise EcgbenchError(
                f"{folder / 'booster.ubj'}: its best iteration {self.booster.best_iteration} is "
                f"not the saved {meta['best_iteration']}"
            )

    def _predict_proba(self, X):
        """Piece by piece (``predict_chunk_size`` beats, else ``PREDICT_PIECE_SIZE``), so that the feature matrices
        and their copies (the extracted pieces, the cache's columns, the context joined on, XGBoost's input) never
        hold more than a piece's beats: a beat's features and its trees' votes do not depend on the other beats."""
        proba = self.in_pieces(
            X,
            self.predict_chunk_size or PREDICT_PIECE_SIZE,
            lambda part: self.booster.predict_proba(self.feature_matrix(part, "test")),
            "tsfresh-xgboost: features and classification",
        )
        return shift_priors(self.full_proba(proba, self.seen), self.params["prior_weights"])
