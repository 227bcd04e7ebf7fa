"""What the deep models' training options do to beats, batches and the loss, in plain numpy (Keras only for the loss).

Each option is off at its default, so that the default training is the one the committed runs were made with:

- augmentation (:class:`Augmentation`): every training batch is drawn afresh from the standardised beats, with a
  random amplitude scaling, baseline wander (a low-frequency sinusoid), Gaussian noise, time shift and time stretch,
  each bounded by its strength; all generated here, never from the noise records that the noise track tests with;
- record normalisation (:func:`record_normalised`): each beat relative to its own record (level and amplitude), each
  context column relative to its record's median (so the RR ratios relate to the record's median rhythm); it needs
  the record id of every beat and uses no label;
- balanced batches (:func:`balanced_batch`): each batch holds every class present about equally often, drawn with
  replacement;
- focal loss (:func:`focal_loss`): cross-entropy scaled down on beats the network already gets right.

Randomness comes from ``numpy.random.default_rng`` seeded with the model's seed, the epoch and the batch, so a fit is
reproducible and does not depend on how often Keras asks for a batch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecgbench.data import SAMPLING_RATE_HZ
from ecgbench.data.context import relative_to_record

WANDER_HZ = (0.05, 0.5)  # baseline wander: respiration and movement, below the ~0.67 Hz cut of ECG high-pass filters
PROBABILITY_FLOOR = 1e-7  # Keras's epsilon: the log of a probability never sees 0


@dataclass(frozen=True)
class Augmentation:
    """The strengths of the augmentations, in the units of the standardised beat; 0 turns one off.

    ``scale``: amplitude times a factor in [1 - scale, 1 + scale]; ``wander``: plus a sinusoid of amplitude up to
    ``wander`` and frequency in :data:`WANDER_HZ`; ``noise``: plus Gaussian noise of standard deviation ``noise``;
    ``shift``: moved by up to ``shift`` samples either way; ``stretch``: time scaled by a factor in
    [1 - stretch, 1 + stretch] about the beat's start (the R peak). Shifted or stretched beats repeat their edge
    samples where they run out.
    """

    scale: float = 0.0
    wander: float = 0.0
    noise: float = 0.0
    shift: int = 0
    stretch: float = 0.0

    @classmethod
    def from_params(cls, params: dict) -> Augmentation:
        return cls(
            scale=float(params["augment_scale"]),
            wander=float(params["augment_wander"]),
            noise=float(params["augment_noise"]),
            shift=int(params["augment_shift"]),
            stretch=float(params["augment_stretch"]),
        )

    @property
    def active(self) -> bool:
        return any((self.scale, self.wander, self.noise, self.shift, self.stretch))

    def apply(self, beats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Augmented copies of ``beats`` (n, length) float32; the beats themselves where every strength is 0."""
        if not self.active:
            return beats
        n, length = beats.shape
        out = np.asarray(beats, dtype=np.float64)
        if self.shift or self.stretch:
            out = self._moved(out, rng)
        if self.scale:
            out = out * rng.uniform(1 - self.scale, 1 + self.scale, (n, 1))
        if self.wander:
            seconds = np.arange(length) / SAMPLING_RATE_HZ
            amplitude = rng.uniform(0, self.wander, (n, 1))
            hz = rng.uniform(*WANDER_HZ, (n, 1))
            phase = rng.uniform(0, 2 * np.pi, (n, 1))
            out = out + amplitude * np.sin(2 * np.pi * hz * seconds + phase)
        if self.noise:
            out = out + rng.normal(0, self.noise, out.shape)
        return out.astype(np.float32)

    def _moved(self, beats: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Each beat read at ``(t - shift) / stretch``, linearly interpolated and clipped to the beat."""
        n, length = beats.shape
        shift = rng.integers(-self.shift, self.shift, (n, 1), endpoint=True) if self.shift else np.zeros((n, 1))
        factor = rng.uniform(1 - self.stretch, 1 + self.stretch, (n, 1)) if self.stretch else np.ones((n, 1))
        position = np.clip((np.arange(length) - shift) / factor, 0, length - 1)
        low = np.floor(position).astype(np.int64)
        high = np.minimum(low + 1, length - 1)
        weight = position - low
        rows = np.arange(n)[:, None]
        return beats[rows, low] * (1 - weight) + beats[rows, high] * weight


def record_normalised(
    beats: np.ndarray, context: np.ndarray | None, groups: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """``(beats, context)`` relative to each beat's record (``groups``: one record id per beat).

    A record's beats have its level (the median over its beats of each beat's median sample) subtracted and are
    divided by its amplitude (the median of their peak-to-peak amplitudes; 1 where that is 0). Each context column
    is divided by the magnitude of its median over the record (:func:`ecgbench.data.context.relative_to_record`).
    Only the beats given are used, never a label: the same beats give the same output at fit and predict time.
    """
    beats = np.array(beats, dtype=np.float32)
    context = None if context is None else np.array(context, dtype=np.float32)
    for record in np.unique(groups):
        rows = np.flatnonzero(groups == record)
        level = np.median(np.median(beats[rows], axis=1))
        amplitude = np.median(np.ptp(beats[rows], axis=1))
        beats[rows] = (beats[rows] - level) / (amplitude if amplitude > 0 else 1.0)
        if context is not None:
            context[rows] = relative_to_record(context[rows])
    return beats, context


def balanced_batch(rows_by_class: list[np.ndarray], batch_size: int, rng: np.random.Generator) -> np.ndarray:
    """Row indices of one batch of ``batch_size``: the classes (their rows in ``rows_by_class``) equally often,
    the remainder of ``batch_size`` over the classes going to randomly chosen ones, drawn with replacement."""
    k = len(rows_by_class)
    counts = np.full(k, batch_size // k)
    counts[rng.permutation(k)[: batch_size % k]] += 1
    rows = np.concatenate([rng.choice(r, size=c) for r, c in zip(rows_by_class, counts, strict=True)])
    return rng.permutation(rows)


def focal_loss(keras, gamma: float):
    """The focal loss of Lin et al. (2017), ``-(1 - p)^gamma log p`` with ``p`` the predicted probability of the
    true class (sparse labels, softmax outputs): cross-entropy at ``gamma = 0``, less weight on easy beats above."""
    ops = keras.ops

    def loss(y_true, y_pred):
        true = ops.cast(ops.reshape(y_true, (-1, 1)), "int32")
        p = ops.clip(ops.take_along_axis(y_pred, true, axis=-1)[:, 0], PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
        return -ops.power(1.0 - p, gamma) * ops.log(p)

    return loss
