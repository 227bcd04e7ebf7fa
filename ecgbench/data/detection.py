"""R peaks re-detected from the signal, for the noise track's ``r_peaks = "xqrs"`` (not the default).

By default the noise track cuts every condition's beats at the reference R peaks (the annotations), so the RR
intervals never see the noise. With re-detection, a condition's R peaks come from the signal as a deployed system
would find them: wfdb's XQRS detector (``wfdb.processing.xqrs_detect``, the detector wfdb-python maintains; its
GQRS port is marked unsupported), each detection moved to the nearest R-peak extremum (``correct_peaks``), then
matched beat by beat to the reference beats within :data:`MATCH_WINDOW_S` (``wfdb.processing.Comparitor``, the
matching rule of PhysioNet's ``bxb``). Beats are cut at the detections and every detection enters the RR intervals
and the other context, false ones included; a detection matched to a reference beat takes that beat's label and is
scored, an unmatched one has no true class and is not, and a missed beat has no prediction. The detector's
sensitivity and positive predictivity per condition are recorded beside the scores.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from ecgbench.data.records import Recording

DETECTOR = "xqrs"
MATCH_WINDOW_S = 0.15  # ANSI/AAMI EC57's beat-matching window, as bxb uses it
PEAK_SEARCH_S = 0.05  # how far correct_peaks may move a detection to the R-peak extremum
SMOOTH_WINDOW_S = 0.15  # correct_peaks' moving average, the baseline the extremum is measured from
UNMATCHED = "?"  # the symbol of a detection that matches no reference beat (label -1: never scored)


@dataclass(frozen=True)
class DetectionCounts:
    """Reference beats, detections, and detections matched to a reference beat (within the scored segments)."""

    reference: int = 0
    detected: int = 0
    matched: int = 0

    def __add__(self, other: DetectionCounts) -> DetectionCounts:
        return DetectionCounts(
            self.reference + other.reference, self.detected + other.detected, self.matched + other.matched
        )

    def as_dict(self) -> dict:
        return {
            **dataclasses.asdict(self),
            "sensitivity": self.matched / self.reference if self.reference else None,
            "positive_predictivity": self.matched / self.detected if self.detected else None,
        }


def detect_r_peaks(signal: np.ndarray, fs: float) -> np.ndarray:
    """Sorted sample positions of the R peaks XQRS finds in a physical ECG lead."""
    from wfdb import processing

    signal = np.asarray(signal, dtype=np.float64)
    qrs = processing.xqrs_detect(signal, fs, verbose=False)
    if len(qrs) == 0:
        return np.zeros(0, dtype=np.int64)
    peaks = processing.correct_peaks(
        signal,
        qrs,
        search_radius=int(PEAK_SEARCH_S * fs),
        smooth_window_size=int(SMOOTH_WINDOW_S * fs),
        peak_dir="compare",
    )
    return np.unique(np.asarray(peaks, dtype=np.int64))  # two detections moved onto one extremum are one beat


def matched_reference(reference: np.ndarray, detected: np.ndarray, fs: float) -> np.ndarray:
    """For every detection, the index of the reference beat it matches (bxb's rule, :data:`MATCH_WINDOW_S`),
    or -1."""
    from wfdb import processing

    owner = np.full(len(detected), -1, dtype=np.int64)
    if len(reference) == 0 or len(detected) == 0:
        return owner
    comparitor = processing.Comparitor(np.asarray(reference), np.asarray(detected), int(MATCH_WINDOW_S * fs))
    comparitor.compare()
    matched = comparitor.matching_sample_nums >= 0
    owner[comparitor.matching_sample_nums[matched]] = np.flatnonzero(matched)
    return owner


def redetected(recording: Recording) -> Recording:
    """``recording`` with its beats at the R peaks detected in its signal, labelled from the reference beats they
    match (label -1 and symbol :data:`UNMATCHED` where none)."""
    detected = detect_r_peaks(recording.signal, recording.fs)
    owner = matched_reference(recording.samples, detected, recording.fs)
    hit = owner >= 0
    symbols = np.full(len(detected), UNMATCHED, dtype=recording.symbols.dtype)
    symbols[hit] = recording.symbols[owner[hit]]
    labels = np.full(len(detected), -1, dtype=recording.labels.dtype)
    labels[hit] = recording.labels[owner[hit]]
    return dataclasses.replace(recording, samples=detected, symbols=symbols, labels=labels)


def counts(reference_in_segments: int, labels: np.ndarray, in_segments: np.ndarray) -> DetectionCounts:
    """The counts of one record in one condition: its reference beats in the scored segments, and its detections
    there (``labels`` of the re-detected beats, -1 unmatched; ``in_segments`` which of them lie in the segments)."""
    return DetectionCounts(int(reference_in_segments), int(in_segments.sum()), int((in_segments & (labels >= 0)).sum()))
