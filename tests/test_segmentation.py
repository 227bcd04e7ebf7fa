"""Tests of ecgbench/data/segmentation.py, the Kachuee et al. 2018 segmentation (the synthetic dataset's
pinned checksums in tests/test_synthetic.py cover its use there)."""

from __future__ import annotations

import numpy as np

from ecgbench.data import BEAT_LENGTH
from ecgbench.data import segmentation as seg


def test_window_median_rr_equals_numpy_median_per_window():
    rng = np.random.default_rng(1)
    r_peaks = np.cumsum(rng.integers(30, 200, size=400))
    window_of = r_peaks // 1250
    n_windows = window_of.max() + 1
    got = seg.window_median_rr(r_peaks, window_of, n_windows, fallback=-1.0)
    for w in range(n_windows):
        rr = np.diff(r_peaks[window_of == w])
        assert got[w] == (np.median(rr) if len(rr) else -1.0)


def test_beats_stop_at_the_window_end_and_the_record_end():
    signal = np.sin(np.arange(2_600) / 7.0)
    r_peaks = np.array([100, 200, 300, 1_230, 2_400, 2_500, 2_590])  # 1230: 20 samples before a window end
    beats = seg.segment_beats(signal, r_peaks, window=1_250, rr_factor=1.2)
    lengths = (beats != 0).sum(1)
    assert lengths[0] == 120  # 1.2 x the window's median RR of 100
    assert lengths[3] <= 20 and not beats[3, 20:].any()
    assert lengths[6] <= 10 and not beats[6, 10:].any()  # kept, zero padded at the record end
    assert beats.shape == (7, BEAT_LENGTH) and beats.min() >= 0 and beats.max() <= 1
