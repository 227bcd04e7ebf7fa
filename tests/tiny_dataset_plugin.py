"""The dataset plugin that tests/test_plugins.py installs (a copy of this file beside an entry point of the group
``ecgbench.datasets``), the worked example of docs/datasets.md: beats of five classes told apart by their level."""

import numpy as np

from ecgbench.core.params import Param
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH, Dataset, register_dataset


@register_dataset(
    "tiny-levels",
    description="five classes of noisy flat beats, one level per class (test plugin)",
    evaluation="intra-patient",
    split_protocol="holdout",
    params={"n_beats": Param(low=50)},
)
def load_tiny_levels(data_dir, n_beats: int = 600, seed: int = 0) -> Dataset:
    """Nothing is read (``data_dir`` is ignored): the beats are drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    y = np.arange(n_beats) % len(AAMI_CLASSES)
    X = y[:, None] + rng.normal(0, 0.3, (n_beats, BEAT_LENGTH))
    provenance = {"source": "tiny-levels (test plugin)", "synthetic": True, "params": {"n_beats": n_beats}}
    return Dataset("tiny-levels", X, y, AAMI_CLASSES, provenance=provenance)
