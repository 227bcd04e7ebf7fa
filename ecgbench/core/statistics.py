"""Evidence, not just numbers: intervals, paired comparisons, verdicts and rankings, computed from arrays.

This is the pure statistics layer: it takes labels, predictions and record ids (or tables of scores) as arrays and
knows nothing of how runs are stored. Every metric here is higher-is-better.

Metrics from confusion matrices
    :func:`metrics_from_confusion` scores a stack of confusion matrices ``(..., k, k)`` (rows = true class) at once:
    the one definition of the scores (:func:`ecgbench.core.metrics.classification_metrics` stores a cell's). A zero
    division gives 0, and the macro averages run over the classes that occur in the true or the predicted labels
    (balanced accuracy over the classes that occur in the true labels), as scikit-learn's defaults do. Se is the
    recall, +P the precision.

Cluster (patient) bootstrap — :func:`cluster_bootstrap`
    Beats of one record are not independent, so the resampling unit is the record (``unit="patient"``); with
    ``groups=None`` it is the beat (``unit="beat"``). One confusion matrix is built per group once; a resample is a
    vector of draw counts per group (multinomial: the groups drawn with replacement), and its confusion matrix is
    that count vector times the per-group matrices, so ``B`` resamples are one ``(B, n_groups) @ (n_groups, k*k)``
    product. At beat level the beats are first pooled into their distinct (true label, predictions) cells, which
    is the same resampling distribution with at most ``k ** (1 + n_seeds)`` units instead of ``n``.

    Several seeds of one cell (predictions ``(n_seeds, n)``): each resample scores the metric per seed on the same
    resampled groups and takes the mean over seeds, so that the interval of the seed-mean covers the patients and
    the training together; the SD over seeds of the full-test-set metric is returned beside it.

    Interval method: percentile (default 95 %, 2,000 resamples, fixed seed 0). BCa needs a jackknife
    acceleration, which with ~22 clusters rests on 22 leave-one-record-out values and is unstable (one record
    holding most of a class moves it a lot); the percentile interval is also what the PTB-XL benchmark
    (Strodthoff et al. 2021) reports. Percentile intervals with few clusters run slightly narrow; the tests check
    the coverage on simulated patient-effect data.

    Absent-class rule: in a resample where a class does not occur in the true labels, its per-class metrics
    (Se, +P, F1) are undefined and set to NaN (rather than the 0 of ``classification_metrics``); the per-class
    interval is taken over the resamples where it is defined, and ``n_defined`` says how many there were (an
    interval with ``n_defined`` well below ``n_resamples`` rests on the resamples that happened to draw the few
    records holding that class: read it with that in mind). The same rule holds for the point estimate (a class
    absent from the whole test set gets NaN, ``n_defined = 0`` and a NaN interval). The aggregate metrics
    (accuracy, balanced accuracy, macro and weighted F1) are defined in every resample, with the macro averages
    over the classes occurring in that resample, as for the point estimate.

Two-class tasks — :func:`binary_bootstrap`
    Sensitivity (recall of class 1, the abnormal class), specificity (recall of class 0) and ROC AUC of the
    positive class's probability, with the same resampling units, seed handling (mean over seeds per resample),
    percentile interval and absent-class rule as :func:`cluster_bootstrap`. The AUC needs the scores, not a
    confusion matrix, so a resample is a weight per beat (how often its record or the beat was drawn) and the AUC
    is the weighted Mann-Whitney statistic (ties count one half), computed for all resamples of a chunk at once
    from one sort of the scores.

Paired comparison — :func:`paired_bootstrap`, :func:`mcnemar_exact`, :func:`holm`, :func:`paired_verdicts`
    Two cells scored on the same test beats are resampled with the same groups, and the difference B − A is
    scored per resample. Its two-sided bootstrap p-value is ``min(1, 2 * min(#(d <= 0) + 1, #(d >= 0) + 1) /
    (B + 1))`` over the ``B`` resamples where the difference is defined: the share of resampled differences on
    the far side of 0 (ties with 0 count on both sides), doubled, with the +1 correction that keeps it above 0.
    A cell compared with itself has a difference of exactly 0 in every resample, hence an interval [0, 0] and
    p = 1. McNemar's exact test on beat correctness is offered beside it; it treats beats as independent, which
    they are not within a record, so it is the beat-level view only. The verdicts apply Holm's step-down
    correction over the rows given.

Target and anchor verdicts — :func:`target_verdict`, :func:`anchor_verdict`
    Intervals are closed: an endpoint equal to the threshold (or the anchor) means the interval contains it, so
    "met" needs ``low > threshold`` and "missed" needs ``high < threshold``; otherwise "not resolved" (and for an
    anchor, "above" / "below" / "indistinguishable"). A NaN interval resolves nothing.

Ranking over blocks — :func:`rank_models`
    For a table of scores (rows = blocks such as DS1 folds or DS2 patients, columns = models): Friedman's test
    (``scipy.stats.friedmanchisquare``) and pairwise Wilcoxon signed-rank tests with Holm's correction, from
    scikit-posthocs (``posthoc_wilcoxon``; its ``critical_difference_diagram`` draws the result in
    :mod:`ecgbench.reports.plots`: nothing here draws or writes a file).
    scikit-posthocs was chosen over autorank and aeon: it is small (one pure-Python package over numpy, scipy,
    pandas, seaborn, matplotlib and statsmodels, the first five already dependencies here), it offers exactly
    the two pieces needed and draws on a given matplotlib Axes; autorank adds baycomp and decides the test
    itself, and aeon is a large time-series toolkit (numba and more) for a single plotting function. Note that
    with 5 blocks the smallest two-sided exact Wilcoxon p-value is 2/32 = 0.0625: pairwise differences need
    more blocks (DS2 patients rather than DS1 folds) to be declared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

AGGREGATES = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")
PER_CLASS = ("recall", "precision", "f1")  # Se, +P, F1
DEFAULT_RESAMPLES = 2_000
DEFAULT_LEVEL = 0.95
DEFAULT_SEED = 0
_CHUNK_ENTRIES = 4_000_000  # resamples are drawn in chunks of at most this many (resample, unit) counts

Unit = Literal["patient", "beat"]


# ---------------------------------------------------------------------------------------------------------------
# Metrics from confusion matrices
# ---------------------------------------------------------------------------------------------------------------


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros(np.broadcast(num, den).shape), where=den > 0)


def metrics_from_confusion(cm: np.ndarray, *, absent_nan: bool = False) -> dict[str, np.ndarray]:
    """Metrics of a stack of confusion matrices ``(..., k, k)`` (rows = true class, columns = predicted class).

    Returns ``accuracy``, ``balanced_accuracy``, ``f1_macro``, ``f1_weighted`` with shape ``(...)`` and the
    per-class ``recall`` (Se), ``precision`` (+P) and ``f1`` with shape ``(..., k)``. Zero division → 0; macro
    averages over the classes occurring in the true or predicted labels. With ``absent_nan=True`` the per-class
    metrics of a class absent from the true labels are NaN instead (the bootstrap's absent-class rule). A matrix
    with no beats gives NaN aggregates.
    """
    cm = np.asarray(cm, dtype=float)
    if cm.ndim < 2 or cm.shape[-1] != cm.shape[-2]:
        raise ValueError(f"confusion matrices must have shape (..., k, k), got {cm.shape}")
    tp = np.diagonal(cm, axis1=-2, axis2=-1)
    support = cm.sum(axis=-1)
    predicted = cm.sum(axis=-2)
    n = support.sum(axis=-1)
    recall = _ratio(tp, support)
    precision = _ratio(tp, predicted)
    # 2PR / (P + R), 0 where both are 0: computed so, not as the equal 2TP / (support + predicted), because the
    # stored metrics of every committed cell are, and a cell's scores are proven by recomputing them bit for bit
    f1 = _ratio(2 * precision * recall, precision + recall)
    present = support > 0
    occurring = (support + predicted) > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {
            "accuracy": tp.sum(axis=-1) / n,
            "balanced_accuracy": (recall * present).sum(axis=-1) / present.sum(axis=-1),
            "f1_macro": (f1 * occurring).sum(axis=-1) / occurring.sum(axis=-1),
            "f1_weighted": (f1 * support).sum(axis=-1) / n,
        }
    if absent_nan:
        recall, precision, f1 = (np.where(present, m, np.nan) for m in (recall, precision, f1))
    out.update(recall=recall, precision=precision, f1=f1)
    return out


def metric_names(classes: Sequence[str]) -> list[str]:
    """The flat metric names of the bootstrap results: the aggregates, then ``recall:<class>``, ``precision:<class>``
    and ``f1:<class>`` for each class."""
    return [*AGGREGATES] + [f"{m}:{c}" for m in PER_CLASS for c in classes]


def _flatten(metrics: dict[str, np.ndarray], classes: Sequence[str]) -> dict[str, np.ndarray]:
    flat = {name: metrics[name] for name in AGGREGATES}
    for m in PER_CLASS:
        for i, c in enumerate(classes):
            flat[f"{m}:{c}"] = metrics[m][..., i]
    return flat


# ---------------------------------------------------------------------------------------------------------------
# Resampling units and draws
# ---------------------------------------------------------------------------------------------------------------


def _as_seeds(y_pred: np.ndarray, n: int, name: str = "y_pred") -> np.ndarray:
    y_pred = np.asarray(y_pred)
    if y_pred.ndim == 1:
        y_pred = y_pred[None, :]
    if y_pred.ndim != 2 or y_pred.shape[1] != n:
        raise ValueError(f"{name} must have shape (n,) or (n_seeds, n) with n = {n}, got {y_pred.shape}")
    return y_pred


def _classes(classes: Sequence[str] | None, *label_arrays: np.ndarray) -> tuple[str, ...]:
    if not all(a.size for a in label_arrays):
        raise ValueError("no beats to score")
    if any(not np.issubdtype(a.dtype, np.integer) or a.min() < 0 for a in label_arrays):
        raise ValueError("labels must be integer class indices 0 .. k-1")
    top = max(int(a.max()) for a in label_arrays) + 1
    if classes is None:
        return tuple(str(i) for i in range(top))
    if top > len(classes):
        raise ValueError(f"labels go up to {top - 1} but only {len(classes)} classes were given")
    return tuple(classes)


def _units(
    y_true: np.ndarray, preds: list[np.ndarray], groups: np.ndarray | None, k: int
) -> tuple[list[np.ndarray], np.ndarray, int, Unit]:
    """Per-unit confusion matrices ``(units, n_seeds * k * k)`` for each prediction stack, the number of times each
    unit occurs in the test set (draw probabilities proportional to it), the number of draws per resample and the
    unit name.

    Patient level: the units are the groups (matrix: the group's counts), drawn ``n_groups`` times uniformly. Beat
    level: the units are the distinct (true, every prediction) cells (matrix: that of one beat of the cell), drawn
    ``n`` times with probability proportional to their beat count — the same distribution as drawing ``n`` beats
    with replacement."""
    n = len(y_true)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
        _, unit = np.unique(groups, return_inverse=True)
        n_units = int(unit.max()) + 1
        sizes = np.ones(n_units, dtype=int)
        draws, name = n_units, "patient"
    else:
        labels = np.vstack([y_true[None, :], *preds]).astype(np.int64)
        if len(labels) * math.log2(k) < 62:  # one integer code per beat: faster than np.unique over columns
            code = np.zeros(n, dtype=np.int64)
            for row in labels:
                code = code * k + row
            _, unit = np.unique(code, return_inverse=True)
        else:
            _, unit = np.unique(labels, axis=1, return_inverse=True)
        unit = unit.ravel()
        n_units = int(unit.max()) + 1
        sizes = np.bincount(unit, minlength=n_units)
        draws, name = n, "beat"
    matrices = []
    for pred in preds:
        s = pred.shape[0]
        index = ((unit[None, :] * s + np.arange(s)[:, None]) * k + y_true[None, :]) * k + pred
        counts = np.bincount(index.ravel(), minlength=n_units * s * k * k).reshape(n_units, s * k * k)
        if name == "beat":  # one beat of each cell: its cell's matrix divided by the cell's size (exact, 0 or 1)
            counts = counts // sizes[:, None]
        matrices.append(counts.astype(float))
    return matrices, sizes, draws, name


def _resampled_confusions(
    matrices: list[np.ndarray], sizes: np.ndarray, draws: int, n_resamples: int, k: int, seed: int
) -> list[np.ndarray]:
    """Confusion matrices ``(n_resamples, n_seeds, k, k)`` per prediction stack, every stack on the same draws."""
    rng = np.random.default_rng(seed)
    n_units = len(sizes)
    probabilities = sizes / sizes.sum()
    chunk = max(1, min(n_resamples, _CHUNK_ENTRIES // max(n_units, 1)))
    out = [np.empty((n_resamples, m.shape[1])) for m in matrices]
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        counts = rng.multinomial(draws, probabilities, size=stop - start).astype(float)
        for o, m in zip(out, matrices, strict=True):
            o[start:stop] = counts @ m
    return [o.reshape(n_resamples, -1, k, k) for o in out]


def _full_confusions(matrices: list[np.ndarray], sizes: np.ndarray, k: int) -> list[np.ndarray]:
    return [(sizes.astype(float) @ m).reshape(-1, k, k) for m in matrices]


def _seed_mean(cms: np.ndarray, classes: Sequence[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per metric: the mean over seeds (axis -1 of the per-seed values) and the per-seed values."""
    per_seed = _flatten(metrics_from_confusion(cms, absent_nan=True), classes)
    return {m: v.mean(axis=-1) for m, v in per_seed.items()}, per_seed


def _percentile(values: np.ndarray, level: float) -> tuple[float, float, int]:
    defined = values[~np.isnan(values)]
    if defined.size == 0:
        return math.nan, math.nan, 0
    low, high = np.percentile(defined, [50 * (1 - level), 50 * (1 + level)])
    return float(low), float(high), int(defined.size)


# ---------------------------------------------------------------------------------------------------------------
# Cluster bootstrap
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """One metric's point estimate (mean over seeds on the whole test set) and percentile interval."""

    metric: str
    estimate: float
    low: float
    high: float
    seed_sd: float  # SD over seeds of the whole-test-set metric (ddof=1); NaN with one seed
    unit: Unit
    level: float
    n_resamples: int
    n_defined: int  # resamples in which the metric was defined (see the absent-class rule)
    n_groups: int  # records (unit "patient") or beats (unit "beat")
    n_seeds: int


@dataclass(frozen=True)
class BootstrapResult:
    intervals: dict[str, Interval]
    samples: dict[str, np.ndarray] = field(repr=False)  # metric -> (n_resamples,) resampled seed-mean values

    def __getitem__(self, metric: str) -> Interval:
        return self.intervals[metric]

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: estimate, low, high, seed_sd, unit, level, n_resamples, n_defined, n_groups, n_seeds."""
        return pd.DataFrame([asdict(i) for i in self.intervals.values()]).set_index("metric")


def cluster_bootstrap(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    classes: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> BootstrapResult:
    """Percentile bootstrap intervals of every metric, resampling records (``groups``, one id per beat) or beats.

    ``y_pred`` is ``(n,)`` or ``(n_seeds, n)`` (several seeds of one cell on the same beats): each resample scores
    the mean over seeds. Labels are integers ``0 .. k-1``; ``classes`` names them (default ``"0" .. "k-1"``). See
    the module docstring for the interval method and the absent-class rule."""
    y_true = np.asarray(y_true)
    preds = _as_seeds(y_pred, len(y_true))
    classes = _classes(classes, y_true, preds)
    k = len(classes)
    matrices, sizes, draws, unit = _units(y_true, [preds], groups, k)
    n_groups = len(sizes) if unit == "patient" else len(y_true)
    (full,) = _full_confusions(matrices, sizes, k)
    estimate, per_seed = _seed_mean(full, classes)
    (resampled,) = _resampled_confusions(matrices, sizes, draws, n_resamples, k, seed)
    samples, _ = _seed_mean(resampled, classes)
    n_seeds = preds.shape[0]
    intervals = {}
    for name in metric_names(classes):
        low, high, n_defined = _percentile(samples[name], level)
        seed_sd = float(np.std(per_seed[name], ddof=1)) if n_seeds > 1 else math.nan
        intervals[name] = Interval(
            name, float(estimate[name]), low, high, seed_sd, unit, level, n_resamples, n_defined, n_groups, n_seeds
        )
    return BootstrapResult(intervals, samples)


# ---------------------------------------------------------------------------------------------------------------
# Two-class tasks: sensitivity, specificity, ROC AUC
# ---------------------------------------------------------------------------------------------------------------

BINARY_METRICS = ("sensitivity", "specificity", "roc_auc")


def weighted_binary_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, score: np.ndarray, weights: np.ndarray
) -> dict[str, np.ndarray]:
    """Sensitivity, specificity and ROC AUC of one prediction per beat, under each row of ``weights`` ``(r, n)``
    (a beat's weight: how often a resample drew it; a row of ones is the test set itself). Class 1 is the positive
    (abnormal) class. ROC AUC is the Mann-Whitney probability that a positive beat scores above a negative one,
    ties counting one half, weighted. A class with no (weighted) beat leaves its metric and the AUC NaN."""
    y_true, y_pred, score = (np.asarray(a) for a in (y_true, y_pred, score))
    weights = np.atleast_2d(np.asarray(weights, dtype=float))
    positive, negative = y_true == 1, y_true == 0
    w_pos, w_neg = weights @ positive, weights @ negative
    with np.errstate(invalid="ignore", divide="ignore"):
        sensitivity = weights @ (positive & (y_pred == 1)) / w_pos
        specificity = weights @ (negative & (y_pred == 0)) / w_neg
        order = np.argsort(score, kind="stable")
        ranked = score[order]
        # tied scores form blocks: a positive beats the negatives below its block and ties with those in it
        _, first, inverse = np.unique(ranked, return_index=True, return_inverse=True)
        last = np.append(first[1:], len(ranked))
        cumulative = np.zeros((len(weights), len(ranked) + 1))
        np.cumsum(weights[:, order] * negative[order], axis=1, out=cumulative[:, 1:])
        below = cumulative[:, first[inverse]]
        tied = cumulative[:, last[inverse]] - below
        wins = ((weights[:, order] * positive[order]) * (below + 0.5 * tied)).sum(axis=1)
        auc = wins / (w_pos * w_neg)
    nan = (w_pos == 0) | (w_neg == 0)
    return {
        "sensitivity": np.where(w_pos == 0, np.nan, sensitivity),
        "specificity": np.where(w_neg == 0, np.nan, specificity),
        "roc_auc": np.where(nan, np.nan, auc),
    }


def _binary_resamples(y_true, sides, groups, n_resamples: int, seed: int):
    """Per side (``(preds, scores)``, each ``(n_seeds, n)``): the whole-test-set metrics per seed and the resampled
    seed-mean of each metric, every side on the same draws; and the unit name and count."""
    n = len(y_true)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(f"groups must have shape ({n},), got {groups.shape}")
        _, unit = np.unique(groups, return_inverse=True)
        n_units, unit_name = int(unit.max()) + 1, "patient"
    else:
        unit, n_units, unit_name = np.arange(n), n, "beat"
    full = [
        [weighted_binary_metrics(y_true, p, sc, np.ones((1, n))) for p, sc in zip(preds, scores, strict=True)]
        for preds, scores in sides
    ]
    samples = [{name: np.empty(n_resamples) for name in BINARY_METRICS} for _ in sides]
    rng = np.random.default_rng(seed)
    chunk = max(1, min(n_resamples, _CHUNK_ENTRIES // (4 * max(n, 1))))
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        weights = rng.multinomial(n_units, np.full(n_units, 1 / n_units), size=stop - start)[:, unit].astype(float)
        for (preds, scores), out in zip(sides, samples, strict=True):
            per_seed = [weighted_binary_metrics(y_true, p, sc, weights) for p, sc in zip(preds, scores, strict=True)]
            for name in BINARY_METRICS:
                out[name][start:stop] = np.mean([m[name] for m in per_seed], axis=0)
    return full, samples, unit_name, n_units


def _binary_side(y_true, y_pred, score, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    preds = _as_seeds(y_pred, len(y_true), f"{what}y_pred")
    scores = _as_seeds(score, len(y_true), f"{what}score").astype(float)
    if preds.shape != scores.shape:
        raise ValueError(f"{what}y_pred and {what}score must have the same shape, got {preds.shape} and {scores.shape}")
    _classes(("negative", "positive"), y_true, preds)
    return preds, scores


def binary_bootstrap(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    score: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> BootstrapResult:
    """Percentile bootstrap intervals of sensitivity, specificity and ROC AUC of a two-class task (labels 0 =
    negative, 1 = positive), resampling records (``groups``) or beats, as :func:`cluster_bootstrap` does.

    ``y_pred`` and ``score`` (the positive class's probability) are ``(n,)`` or ``(n_seeds, n)``; each resample
    scores every seed on the same drawn records (or beats) and takes the mean over seeds. A resample is a weight
    per beat: the number of times its record (or the beat itself) was drawn. A resample without a positive (or a
    negative) beat leaves sensitivity (specificity) and the AUC undefined there (the absent-class rule)."""
    y_true = np.asarray(y_true)
    side = _binary_side(y_true, y_pred, score)
    (full,), (samples,), unit_name, n_units = _binary_resamples(y_true, [side], groups, n_resamples, seed)
    n_seeds = len(side[0])
    intervals = {}
    for name in BINARY_METRICS:
        values = np.array([float(m[name][0]) for m in full])
        low, high, n_defined = _percentile(samples[name], level)
        seed_sd = float(np.std(values, ddof=1)) if n_seeds > 1 else math.nan
        intervals[name] = Interval(
            name, float(values.mean()), low, high, seed_sd, unit_name, level, n_resamples, n_defined, n_units, n_seeds
        )
    return BootstrapResult(intervals, samples)


def binary_paired_bootstrap(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    score_a: np.ndarray,
    pred_b: np.ndarray,
    score_b: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> PairedResult:
    """:func:`paired_bootstrap` for sensitivity, specificity and ROC AUC: both cells on the same resampled records
    (or beats), the difference B − A per resample, its percentile interval and bootstrap p-value."""
    y_true = np.asarray(y_true)
    sides = [_binary_side(y_true, pred_a, score_a, "a: "), _binary_side(y_true, pred_b, score_b, "b: ")]
    (full_a, full_b), (res_a, res_b), unit_name, n_units = _binary_resamples(y_true, sides, groups, n_resamples, seed)
    out, samples = {}, {}
    for name in BINARY_METRICS:
        d = res_b[name] - res_a[name]
        low, high, n_defined = _percentile(d, level)
        pa = float(np.mean([m[name][0] for m in full_a]))
        pb = float(np.mean([m[name][0] for m in full_b]))
        out[name] = Difference(
            name, pa, pb, pb - pa, low, high, bootstrap_p_value(d), unit_name, level, n_resamples, n_defined, n_units
        )
        samples[name] = d
    return PairedResult(out, samples)


# ---------------------------------------------------------------------------------------------------------------
# Paired comparison
# ---------------------------------------------------------------------------------------------------------------


def bootstrap_p_value(differences: np.ndarray) -> float:
    """Two-sided bootstrap p-value of resampled differences against 0: ``min(1, 2 * (min(#(d <= 0), #(d >= 0)) + 1)
    / (B + 1))`` over the ``B`` defined (non-NaN) differences; NaN when none is defined."""
    d = np.asarray(differences, dtype=float)
    d = d[~np.isnan(d)]
    if d.size == 0:
        return math.nan
    tail = min(int((d <= 0).sum()), int((d >= 0).sum()))
    return min(1.0, 2 * (tail + 1) / (d.size + 1))


@dataclass(frozen=True)
class Difference:
    """One metric's paired difference B − A: point estimates, percentile interval and bootstrap p-value."""

    metric: str
    a: float
    b: float
    difference: float
    low: float
    high: float
    p_value: float
    unit: Unit
    level: float
    n_resamples: int
    n_defined: int
    n_groups: int


@dataclass(frozen=True)
class PairedResult:
    differences: dict[str, Difference]
    samples: dict[str, np.ndarray] = field(repr=False)  # metric -> (n_resamples,) resampled differences

    def __getitem__(self, metric: str) -> Difference:
        return self.differences[metric]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(d) for d in self.differences.values()]).set_index("metric")


def paired_bootstrap(
    y_true: np.ndarray,
    pred_a: np.ndarray,
    pred_b: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    classes: Sequence[str] | None = None,
    n_resamples: int = DEFAULT_RESAMPLES,
    level: float = DEFAULT_LEVEL,
    seed: int = DEFAULT_SEED,
) -> PairedResult:
    """Paired cluster bootstrap of the difference B − A of every metric, both cells scored on the same resampled
    records (or beats, with ``groups=None``) in each resample. ``pred_a`` and ``pred_b`` are ``(n,)`` or
    ``(n_seeds, n)`` (the seed counts may differ); each cell's metric is its mean over seeds."""
    y_true = np.asarray(y_true)
    a = _as_seeds(pred_a, len(y_true), "pred_a")
    b = _as_seeds(pred_b, len(y_true), "pred_b")
    classes = _classes(classes, y_true, a, b)
    k = len(classes)
    matrices, sizes, draws, unit = _units(y_true, [a, b], groups, k)
    n_groups = len(sizes) if unit == "patient" else len(y_true)
    full_a, full_b = (_seed_mean(cm, classes)[0] for cm in _full_confusions(matrices, sizes, k))
    res_a, res_b = (
        _seed_mean(cm, classes)[0] for cm in _resampled_confusions(matrices, sizes, draws, n_resamples, k, seed)
    )
    out, samples = {}, {}
    for name in metric_names(classes):
        d = res_b[name] - res_a[name]
        low, high, n_defined = _percentile(d, level)
        pa, pb = float(full_a[name]), float(full_b[name])
        out[name] = Difference(
            name, pa, pb, pb - pa, low, high, bootstrap_p_value(d), unit, level, n_resamples, n_defined, n_groups
        )
        samples[name] = d
    return PairedResult(out, samples)


@dataclass(frozen=True)
class McNemarResult:
    only_a_correct: int
    only_b_correct: int
    statistic: int  # the smaller discordant count, as statsmodels reports it
    p_value: float


def mcnemar_exact(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray) -> McNemarResult:
    """McNemar's exact test on beat correctness: two-sided binomial test (p = 1/2) on the discordant beats (one
    cell right, the other wrong). It assumes independent beats — beats of one record are not — so it is a
    beat-level view beside the patient-level :func:`paired_bootstrap`, not a replacement. One prediction per cell
    (``(n,)``)."""
    y_true, pred_a, pred_b = (np.asarray(x) for x in (y_true, pred_a, pred_b))
    if not (y_true.ndim == pred_a.ndim == pred_b.ndim == 1 and y_true.shape == pred_a.shape == pred_b.shape):
        raise ValueError("mcnemar_exact takes one prediction per cell: y_true, pred_a and pred_b of equal shape (n,)")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    only_a, only_b = int((right_a & ~right_b).sum()), int((right_b & ~right_a).sum())
    n = only_a + only_b
    smaller = min(only_a, only_b)
    p = 1.0 if n == 0 else min(1.0, 2 * float(stats.binom.cdf(smaller, n, 0.5)))
    return McNemarResult(only_a, only_b, smaller, p)


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error rate), in the input order. NaN entries stay NaN and
    do not count towards the number of tests."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    defined = np.flatnonzero(~np.isnan(p))
    m = defined.size
    if m:
        order = defined[np.argsort(p[defined], kind="stable")]
        stepped = np.maximum.accumulate((m - np.arange(m)) * p[order])
        adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


Verdict = Literal["B better", "A better", "no detectable difference"]


def paired_verdicts(differences: Sequence[float], p_values: Sequence[float], *, alpha: float = 0.05) -> list[Verdict]:
    """Per row (one comparison B − A each): "B better" / "A better" where the Holm-adjusted p-value (over the rows
    given) is at most ``alpha`` and the difference is positive / negative, else "no detectable difference"."""
    d = np.asarray(differences, dtype=float)
    adjusted = holm(p_values)
    if d.shape != adjusted.shape:
        raise ValueError(f"{d.size} differences but {adjusted.size} p-values")
    out: list[Verdict] = []
    for diff, p in zip(d, adjusted, strict=True):
        if not np.isnan(p) and p <= alpha and diff > 0:
            out.append("B better")
        elif not np.isnan(p) and p <= alpha and diff < 0:
            out.append("A better")
        else:
            out.append("no detectable difference")
    return out


# ---------------------------------------------------------------------------------------------------------------
# Target and anchor verdicts
# ---------------------------------------------------------------------------------------------------------------


def target_verdict(low: float, high: float, threshold: float) -> Literal["met", "missed", "not resolved"]:
    """ "met" if the closed interval [low, high] lies wholly above the threshold (``low > threshold``), "missed" if
    wholly below (``high < threshold``), else "not resolved" — an endpoint equal to the threshold, or a NaN
    interval, does not resolve it."""
    if low > threshold:
        return "met"
    if high < threshold:
        return "missed"
    return "not resolved"


def anchor_verdict(low: float, high: float, anchor: float) -> Literal["above", "below", "indistinguishable"]:
    """Against a published value: "above" if ``low > anchor``, "below" if ``high < anchor``, else
    "indistinguishable" (the same closed-interval edge rule as :func:`target_verdict`)."""
    return {"met": "above", "missed": "below", "not resolved": "indistinguishable"}[target_verdict(low, high, anchor)]


# ---------------------------------------------------------------------------------------------------------------
# Ranking over blocks
# ---------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RankingResult:
    friedman_statistic: float
    friedman_p: float
    average_ranks: pd.Series  # 1 = best, per model, sorted best first
    wilcoxon_p: pd.DataFrame  # pairwise Wilcoxon signed-rank p-values, Holm-adjusted over the pairs
    n_blocks: int
    alpha: float  # the level of the tests (and of the diagram's bars: ecgbench.reports.plots)


def rank_models(
    scores: pd.DataFrame,
    *,
    higher_is_better: bool = True,
    alpha: float = 0.05,
) -> RankingResult:
    """Friedman's test, average ranks and pairwise Wilcoxon signed-rank tests (Holm-adjusted); the
    critical-difference diagram of the result is :func:`ecgbench.reports.plots.write_critical_difference`.

    ``scores``: rows = blocks (DS1 folds, DS2 patients, datasets), columns = models (at least 3 models and 5
    blocks, no missing values). Ties within a block share the average rank."""
    scores = pd.DataFrame(scores).rename(columns=str)
    if scores.shape[1] < 3 or scores.shape[0] < 5:
        raise ValueError(f"ranking needs at least 3 models and 5 blocks, got {scores.shape[1]} and {scores.shape[0]}")
    if scores.isna().to_numpy().any():
        raise ValueError("scores must not have missing values (every model scored on every block)")
    values = scores.to_numpy(dtype=float)
    friedman = stats.friedmanchisquare(*values.T)
    ranks = stats.rankdata(-values if higher_is_better else values, axis=1)
    average = pd.Series(ranks.mean(axis=0), index=scores.columns, name="average_rank").sort_values()

    import scikit_posthocs as sp  # imports statsmodels and pyplot: only when ranking

    long = scores.melt(var_name="model", value_name="score")
    with warnings.catch_warnings():  # identical columns: scipy warns and returns p = 1
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        wilcoxon = sp.posthoc_wilcoxon(long, val_col="score", group_col="model", p_adjust="holm")
    wilcoxon = wilcoxon.fillna(1.0).loc[scores.columns, scores.columns]

    return RankingResult(float(friedman.statistic), float(friedman.pvalue), average, wilcoxon, len(scores), alpha)
