"""Kachuee et al. 2018's beat segmentation, the one copy that the WFDB rebuild and the synthetic dataset share.

A signal is resampled to 125 Hz and cut into 10 s windows, each min-max scaled to [0, 1]; a beat runs from its
R peak for 1.2 x its window's median RR (never past the window's end), then is cropped or zero-padded to 187
samples. Choices where the paper is vague: docs/datasets.md.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from ecgbench.data import BEAT_LENGTH, SAMPLING_RATE_HZ

WINDOW_S = 10.0  # Kachuee: the signal is cut into 10 s windows, each scaled to [0, 1]
RR_FACTOR = 1.2  # Kachuee: a beat spans 1.2 x the window's median RR from its R peak


def window_samples(window_s: float = WINDOW_S, rate_hz: int = SAMPLING_RATE_HZ) -> int:
    """The length of a ``window_s`` window in samples at ``rate_hz``."""
    return int(round(window_s * rate_hz))


def resample_to(signal: np.ndarray, fs: float, rate_hz: int = SAMPLING_RATE_HZ, padtype: str = "line") -> np.ndarray:
    """``signal`` at ``rate_hz`` by polyphase filtering (zero delay, so sample k is at time k / rate_hz).

    ``padtype="line"`` keeps the filter from pulling the first and last samples towards zero; ``"constant"``
    (scipy's default) is what the synthetic simulator v1 was built with.
    """
    ratio = Fraction(rate_hz) / Fraction(fs).limit_denominator(1000)
    if ratio == 1:
        return np.asarray(signal, dtype=np.float64)
    return resample_poly(signal, ratio.numerator, ratio.denominator, padtype=padtype)


def resampled_positions(samples: np.ndarray, fs: float, n: int, rate_hz: int = SAMPLING_RATE_HZ) -> np.ndarray:
    """Sample positions at ``fs`` moved to ``rate_hz`` (the same instants, as :func:`resample_to` has no delay),
    kept within a signal of ``n`` samples."""
    return np.rint(samples * rate_hz / fs).astype(np.int64).clip(0, max(n - 1, 0))


def scale_windows(signal: np.ndarray, window: int) -> np.ndarray:
    """``signal`` with every ``window``-sample window min-max scaled to [0, 1] (the last one over its own samples)."""
    n = len(signal)
    if n == 0:
        return np.zeros(0)
    n_windows = -(-n // window)
    # Edge padding repeats the last sample, which leaves the last window's minimum and maximum unchanged.
    padded = np.pad(signal, (0, n_windows * window - n), mode="edge").reshape(n_windows, window)
    low, high = padded.min(1, keepdims=True), padded.max(1, keepdims=True)
    return ((padded - low) / np.maximum(high - low, 1e-12)).ravel()[:n]


def window_median_rr(r_peaks: np.ndarray, window_of: np.ndarray, n_windows: int, fallback: float) -> np.ndarray:
    """Median RR (samples) of every window over the intervals between consecutive R peaks both in it.

    Vectorised: intervals sorted by (window, length), then the middle one or two of each window's run.
    Windows without such an interval get ``fallback``.
    """
    rr = np.diff(r_peaks)
    inside = window_of[1:] == window_of[:-1]
    rr, owner = rr[inside], window_of[1:][inside]
    order = np.lexsort((rr, owner))
    rr, owner = rr[order], owner[order]
    windows, first, count = np.unique(owner, return_index=True, return_counts=True)
    medians = np.full(n_windows, float(fallback))
    medians[windows] = (rr[first + (count - 1) // 2] + rr[first + count // 2]) / 2
    return medians


def segment_beats(
    signal_125: np.ndarray, r_peaks: np.ndarray, window: int, rr_factor: float = RR_FACTOR, length: int = BEAT_LENGTH
) -> np.ndarray:
    """Beats (len(r_peaks), length) float32 from a 125 Hz signal and its sorted R peaks (Kachuee et al. 2018).

    Every window is scaled to [0, 1]; a beat runs from its R peak for ``rr_factor`` x its window's median RR,
    cut at the window's end (and so at the record's end), then cropped or zero-padded to ``length``. A window
    with a single beat takes the median RR of the whole signal.
    """
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    n = len(signal_125)
    if len(r_peaks) == 0 or n == 0:
        return np.zeros((len(r_peaks), length), dtype=np.float32)
    scaled = scale_windows(signal_125, window)
    window_of = r_peaks // window
    fallback = np.median(np.diff(r_peaks)) if len(r_peaks) > 1 else length / rr_factor
    median_rr = window_median_rr(r_peaks, window_of, -(-n // window), fallback)
    span = np.floor(rr_factor * median_rr[window_of]).astype(np.int64)
    window_end = np.minimum((window_of + 1) * window, n)
    kept = np.clip(np.minimum(span, window_end - r_peaks), 0, length)
    offsets = np.arange(length)
    values = scaled[np.minimum(r_peaks[:, None] + offsets, n - 1)]
    return np.where(offsets < kept[:, None], values, 0.0).astype(np.float32)
