"""Per-beat context: what a beat cut from its own R peak cannot show, as named columns beside its samples.

A dataset rebuilt from WFDB records takes ``context = [...]``, a list of the groups of :data:`CONTEXT_GROUPS`
(default ``["rr"]``): ``rr``, ``morphology``, ``pre_r``, ``qrs``, ``neighbours``. Every group is computed per
record, from that record alone and without labels. What each group holds, and why the inter-patient suite uses
the ones it does: docs/datasets.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import SAMPLING_RATE_HZ
from ecgbench.data.rr import RR_FEATURES, rr_features

MORPHOLOGY_FEATURES = ("corr_record", "corr_record_early", "rms_from_record", "max_from_record")
EARLY_SAMPLES = round(0.2 * SAMPLING_RATE_HZ)  # the first 0.2 s after the R peak
PRE_R_OFFSETS = np.arange(32, 0, -2)  # samples at 125 Hz before the R peak: 256 ms to 16 ms, every 16 ms
PRE_R_FEATURES = tuple(f"pre_r_{offset * 1000 // SAMPLING_RATE_HZ}ms" for offset in map(int, PRE_R_OFFSETS))


def morphology_features(X: np.ndarray) -> np.ndarray:
    """The :data:`MORPHOLOGY_FEATURES` (n, 4) float32 of one record's beats ``X`` (n, length)."""
    X = np.asarray(X, dtype=np.float64)
    if len(X) == 0:
        return np.zeros((0, len(MORPHOLOGY_FEATURES)), dtype=np.float32)
    median = np.median(X, axis=0)
    difference = X - median
    return np.column_stack(
        [
            _correlation(X, median),
            _correlation(X[:, :EARLY_SAMPLES], median[:EARLY_SAMPLES]),
            np.sqrt((difference**2).mean(axis=1)) / (median.std() + 1e-9),
            np.abs(difference).max(axis=1),
        ]
    ).astype(np.float32)


def _correlation(X: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row of ``X`` with ``reference`` (0 where either is flat)."""
    rows = X - X.mean(axis=1, keepdims=True)
    reference = reference - reference.mean()
    return (rows @ reference) / (np.linalg.norm(rows, axis=1) * np.linalg.norm(reference) + 1e-9)


def pre_r_samples(scaled: np.ndarray, r_peaks: np.ndarray) -> np.ndarray:
    """The :data:`PRE_R_FEATURES` (n, 16) float32: the scaled 125 Hz signal before every R peak (the first sample
    repeated where a peak lies closer than 0.25 s to the record's start)."""
    if len(scaled) == 0:
        return np.zeros((len(r_peaks), len(PRE_R_OFFSETS)), dtype=np.float32)
    positions = np.clip(np.asarray(r_peaks, dtype=np.int64)[:, None] - PRE_R_OFFSETS, 0, len(scaled) - 1)
    return scaled[positions].astype(np.float32)


QRS_FEATURES = ("qrs_pp_record", "r_height_record", "qrs_width_record", "qrs_slope_record", "qrs_area_record")
QRS_HALF_WIDTH = round(0.15 * SAMPLING_RATE_HZ)  # samples each side of the R peak that hold the QRS complex
BASELINE_SPAN = (round(0.3 * SAMPLING_RATE_HZ), round(0.4 * SAMPLING_RATE_HZ))  # before and after R, for the median


def qrs_measures(signal: np.ndarray, r_peaks: np.ndarray) -> np.ndarray:
    """Per R peak of the unscaled 125 Hz ``signal``, in signal units (n, 5) float32: the QRS peak-to-peak amplitude,
    the R height above the baseline (the median of the signal from 0.3 s before to 0.4 s after R), the width (the
    time over which the squared slope accumulates from 10% to 90%, in samples), the slope energy (root of the summed
    squared slope) and the area between the signal and the baseline, all within 0.15 s of the R peak."""
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    if len(signal) == 0 or len(r_peaks) == 0:
        return np.zeros((len(r_peaks), len(QRS_FEATURES)), dtype=np.float32)
    signal = np.asarray(signal, dtype=np.float64)

    def around(first: int, last: int) -> np.ndarray:  # (n, last - first + 1), clipped at the record's ends
        return signal[np.clip(r_peaks[:, None] + np.arange(first, last + 1), 0, len(signal) - 1)]

    qrs = around(-QRS_HALF_WIDTH, QRS_HALF_WIDTH)
    baseline = np.median(around(-BASELINE_SPAN[0], BASELINE_SPAN[1]), axis=1)
    slope = np.diff(qrs, axis=1) ** 2
    share = np.cumsum(slope, axis=1) / (slope.sum(axis=1, keepdims=True) + 1e-12)
    width = (share >= 0.9).argmax(axis=1) - (share >= 0.1).argmax(axis=1)
    return np.column_stack(
        [
            qrs.max(axis=1) - qrs.min(axis=1),
            signal[r_peaks.clip(0, len(signal) - 1)] - baseline,
            width,
            np.sqrt(slope.sum(axis=1)),
            np.abs(qrs - baseline[:, None]).sum(axis=1),
        ]
    ).astype(np.float32)


def relative_to_record(measures: np.ndarray) -> np.ndarray:
    """Each column of one record's ``measures`` divided by its median's magnitude (0 where that median is 0)."""
    measures = np.asarray(measures, dtype=np.float64)
    if len(measures) == 0:
        return measures.astype(np.float32)
    median = np.abs(np.median(measures, axis=0))
    return np.divide(measures, median, out=np.zeros_like(measures), where=median > 0).astype(np.float32)


NEIGHBOUR_FEATURES = ("corr_previous", "corr_next", "corr_record_previous", "corr_record_next", "unlike_nearby")
NEIGHBOUR_SPAN = np.arange(-round(0.1 * SAMPLING_RATE_HZ), round(0.3 * SAMPLING_RATE_HZ))  # samples around R
NEARBY_BEATS = 10  # each side, for unlike_nearby
UNLIKE_MARGIN = 0.2  # unlike: a correlation with the record's median beat this far below the record's median one


def neighbour_correlations(signal: np.ndarray, r_peaks: np.ndarray) -> np.ndarray:
    """Per R peak of the unscaled 125 Hz ``signal`` (n, 2) float32: the correlation of the signal around it
    (:data:`NEIGHBOUR_SPAN`) with the signal around the previous and around the next R peak (1 for a record's
    first beat's previous and last beat's next, which do not exist)."""
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    if len(signal) == 0 or len(r_peaks) == 0:
        return np.ones((len(r_peaks), 2), dtype=np.float32)
    around = np.asarray(signal, dtype=np.float64)[np.clip(r_peaks[:, None] + NEIGHBOUR_SPAN, 0, len(signal) - 1)]
    around = around - around.mean(axis=1, keepdims=True)
    around /= np.linalg.norm(around, axis=1, keepdims=True) + 1e-9
    with_next = (around[1:] * around[:-1]).sum(axis=1)
    return np.column_stack([np.r_[1.0, with_next], np.r_[with_next, 1.0]]).astype(np.float32)


def unlike_nearby(corr_record: np.ndarray, nearby: int = NEARBY_BEATS) -> np.ndarray:
    """The share of the ``2 * nearby + 1`` beats centred on each beat (fewer at the record's ends) whose correlation
    with the record's median beat lies :data:`UNLIKE_MARGIN` or more below the record's median correlation."""
    if len(corr_record) == 0:
        return np.zeros(0, dtype=np.float32)
    unlike = corr_record < np.median(corr_record) - UNLIKE_MARGIN
    counted = np.concatenate([[0], np.cumsum(unlike)])
    low = np.maximum(np.arange(len(unlike)) - nearby, 0)
    high = np.minimum(np.arange(len(unlike)) + nearby + 1, len(unlike))
    return ((counted[high] - counted[low]) / (high - low)).astype(np.float32)


def neighbour_features(beats) -> np.ndarray:
    """The :data:`NEIGHBOUR_FEATURES` (n, 5) float32 of one record's beats (a ``RecordBeats``)."""
    corr_record = morphology_features(beats.X)[:, 0]
    if len(corr_record) == 0:
        return np.zeros((0, len(NEIGHBOUR_FEATURES)), dtype=np.float32)
    return np.column_stack(
        [
            beats.neighbours,
            np.r_[corr_record[:1], corr_record[:-1]],
            np.r_[corr_record[1:], corr_record[-1:]],
            unlike_nearby(corr_record),
        ]
    ).astype(np.float32)


@dataclass(frozen=True)
class ContextGroup:
    names: tuple[str, ...]
    compute: Callable  # (RecordBeats) -> (n, len(names)) float32


CONTEXT_GROUPS = {
    "rr": ContextGroup(RR_FEATURES, lambda beats: rr_features(beats.samples / beats.fs)),
    "morphology": ContextGroup(MORPHOLOGY_FEATURES, lambda beats: morphology_features(beats.X)),
    "pre_r": ContextGroup(PRE_R_FEATURES, lambda beats: beats.pre_r),
    "qrs": ContextGroup(QRS_FEATURES, lambda beats: relative_to_record(beats.qrs)),
    "neighbours": ContextGroup(NEIGHBOUR_FEATURES, neighbour_features),
}


def check_groups(groups) -> tuple[str, ...]:
    """``groups`` as a tuple of known group names, or a clear error naming the option."""
    problem = groups_problem(groups)
    if problem:
        raise EcgbenchError(f"dataset option context: {problem}")
    return (groups,) if isinstance(groups, str) else tuple(groups)


def groups_problem(groups) -> str | None:
    """What is wrong with ``groups`` as the value of the ``context`` option (a name or a list of names), or None."""
    if not isinstance(groups, (str, list, tuple)) or not all(isinstance(g, str) for g in groups):
        problem = "must be a list of group names"
    else:
        groups = (groups,) if isinstance(groups, str) else tuple(groups)
        unknown = [g for g in groups if g not in CONTEXT_GROUPS]
        if not unknown and len(set(groups)) == len(groups):
            return None
        problem = f"unknown group(s) {', '.join(map(repr, unknown))}" if unknown else "a group named twice"
    return (
        f"{problem}; known groups: {', '.join(CONTEXT_GROUPS)} "
        '(a list, e.g. context = ["rr", "morphology"]; [] for none)'
    )


def context_names(groups: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for group in groups for name in CONTEXT_GROUPS[group].names)


def record_context(beats, groups: tuple[str, ...]) -> np.ndarray:
    """The context columns of one record's beats (a ``RecordBeats``), group after group (at least one group)."""
    return np.hstack([CONTEXT_GROUPS[group].compute(beats) for group in groups]).astype(np.float32)
