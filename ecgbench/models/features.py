"""tsfresh features + XGBoost: the classical feature-engineering baseline.

Feature set: tsfresh's ``EfficientFCParameters`` without its slowest calculators (``SLOW_CALCULATORS``). Measured
on 187-sample beats, those few calculators take about 85% of the extraction time of the efficient set; what
remains still describes amplitude, shape, spectrum and autocorrelation of the beat.

XGBoost: histogram trees, early stopping on the validation part's log loss, beats weighted by inverse class
frequency raised to ``class_weight_power`` (a tempered weighting: it lifts the rare classes without flooding the
majority class with false alarms).
"""

from __future__ import annotations

import logging
import time

import numpy as np

from ecgbench.models import register
from ecgbench.models.base import Model, sample_weights
from ecgbench.threads import current_threads

log = logging.getLogger("ecgbench")

SLOW_CALCULATORS = (
    "change_quantiles", "number_cwt_peaks", "agg_linear_trend", "friedrich_coefficients",
    "max_langevin_fixed_point", "augmented_dickey_fuller", "ar_coefficient", "fourier_entropy",
    "lempel_ziv_complexity", "cwt_coefficients", "permutation_entropy", "benford_correlation",
)


def feature_settings(exclude=SLOW_CALCULATORS) -> dict:
    from tsfresh.feature_extraction import EfficientFCParameters

    return {name: params for name, params in EfficientFCParameters().items() if name not in exclude}


def extract(X: np.ndarray, settings: dict, columns=None):
    """tsfresh features of every beat, one row per beat, in a fixed column order."""
    import pandas as pd
    from tsfresh import extract_features

    n, length = X.shape
    long = pd.DataFrame({"id": np.repeat(np.arange(n), length), "time": np.tile(np.arange(length), n),
                         "ecg": X.ravel().astype(np.float64)})
    # n_jobs=0 keeps extraction in this process, under the cell's thread pinning.
    features = extract_features(long, column_id="id", column_sort="time", default_fc_parameters=settings,
                                n_jobs=0, disable_progressbar=True)
    if columns is not None:
        features = features.reindex(columns=columns)
    return features.to_numpy(np.float32), list(features.columns)


@register("tsfresh-xgboost")
class TsfreshXGBoost(Model):
    description = "tsfresh features (efficient set minus slowest calculators) + XGBoost"
    default_params = {
        "n_estimators": 600,
        "max_depth": 6,
        "learning_rate": 0.1,
        "subsample": 0.8,
        "colsample_bytree": 0.5,
        "early_stopping_rounds": 30,
        "class_weight_power": 0.5,
    }
    quick_params = {"n_estimators": 50}

    def features(self, X, label):
        start = time.monotonic()
        values, self.columns = extract(X, feature_settings(), getattr(self, "columns", None))
        log.info("tsfresh-xgboost: %d features of %d %s beats in %.1f s", values.shape[1], len(X), label,
                 time.monotonic() - start)
        return values

    def fit(self, X, y, X_val, y_val):
        from xgboost import XGBClassifier

        train, val = self.features(X, "training"), self.features(X_val, "validation")
        # XGBoost wants labels 0..k-1: map the classes seen in training onto that range.
        self.seen = np.unique(y)
        code = {c: i for i, c in enumerate(self.seen)}
        in_seen = np.isin(y_val, self.seen)  # a class absent from training cannot be scored on
        p = self.params
        self.booster = XGBClassifier(
            n_estimators=p["n_estimators"], max_depth=p["max_depth"], learning_rate=p["learning_rate"],
            subsample=p["subsample"], colsample_bytree=p["colsample_bytree"],
            early_stopping_rounds=p["early_stopping_rounds"], tree_method="hist", random_state=self.seed,
            n_jobs=current_threads(), eval_metric="mlogloss" if len(self.seen) > 2 else "logloss",
        )
        self.booster.fit(
            train, np.vectorize(code.get)(y), sample_weight=sample_weights(y, self.n_classes, p["class_weight_power"]),
            eval_set=[(val[in_seen], np.vectorize(code.get)(y_val[in_seen]))], verbose=False,
        )
        log.info("tsfresh-xgboost: %d trees (best iteration %d)", self.booster.n_estimators,
                 self.booster.best_iteration)
        return self

    def predict_proba(self, X):
        return self.full_proba(self.booster.predict_proba(self.features(X, "test")), self.seen)
