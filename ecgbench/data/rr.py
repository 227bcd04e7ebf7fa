"""RR-interval context of every beat: the timing that a beat cut from its own R peak cannot show.

A Kaggle-style beat starts at its R peak, so whether it came early (the mark of a supraventricular or ventricular
premature beat) is lost. The inter-patient literature restores it with RR-interval features next to the
morphology (de Chazal et al. 2004; Mondejar-Guerra et al. 2019); the ratios to the local rhythm are what carries
over from one patient to another, since resting heart rates differ widely between people.

Per beat, from the R-peak times of its own record (so no beat of another record, and no label, is used), with
``pre`` and ``post`` the intervals to the previous and the next beat (the first beat of a record takes its post-RR
as pre-RR, the last its pre-RR as post-RR), ``local`` the mean pre-RR of the ``LOCAL_BEATS`` beats on either side
(the beat itself included) and ``record`` the record's mean RR:

    pre / local, post / local, local / record, pre / post, pre / record, post / record

Only ratios, no interval in seconds, chosen on the training records alone: docs/decisions.md#rr-ratios.
"""

from __future__ import annotations

import numpy as np

RR_FEATURES = ("pre_local", "post_local", "local_record", "pre_post", "pre_record", "post_record")
LOCAL_BEATS = 10


def rr_features(r_times_s: np.ndarray, local_beats: int = LOCAL_BEATS) -> np.ndarray:
    """The :data:`RR_FEATURES` (n, 6) float32 of one record's beats from their sorted R-peak times in seconds."""
    r_times_s = np.asarray(r_times_s, dtype=np.float64)
    n = len(r_times_s)
    if n < 2:  # a lone beat has no rhythm: every ratio neutral
        return np.ones((n, len(RR_FEATURES)), dtype=np.float32)
    rr = np.maximum(np.diff(r_times_s), 1e-6)
    pre = np.concatenate([rr[:1], rr])
    post = np.concatenate([rr, rr[-1:]])
    # Centred moving mean over the beats that exist (the window shrinks at the record's edges).
    cumulative = np.concatenate([[0.0], np.cumsum(pre)])
    low = np.maximum(np.arange(n) - local_beats, 0)
    high = np.minimum(np.arange(n) + local_beats + 1, n)
    local = (cumulative[high] - cumulative[low]) / (high - low)
    record = rr.mean()
    return np.column_stack([pre / local, post / local, local / record, pre / post, pre / record, post / record]).astype(
        np.float32
    )
