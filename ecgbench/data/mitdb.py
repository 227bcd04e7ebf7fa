"""The MIT-BIH Arrhythmia (mitdb) tracks: which records each dataset loads and how it splits them.

- ``mitdb-intra``: all 48 records; no split of its own, so the runner's stratified hold-out applies:
  **intra-patient** (beats of one patient on both sides), like the Kaggle files.
- ``mitdb-inter``: de Chazal et al. 2004's **inter-patient** protocol: train on DS1, test on DS2, paced records
  (102, 104, 107, 217) left out; the validation part is carved from DS1 by whole records.
- ``mitdb-ds1``: the DS1 records alone, for choosing models and parameters for ``mitdb-inter`` by
  cross-validation over its training patients (split protocol ``group-kfold``), without looking at DS2.

Beats are rebuilt by :mod:`ecgbench.data.wfdb_dataset`. Beat counts per class next to the published ones:
docs/datasets.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgbench.core.evaluation import Evaluation
from ecgbench.data import Dataset, register_dataset
from ecgbench.data.kaggle import INTRA_PATIENT
from ecgbench.data.leaks import dataset_identities, refuse_shared_records
from ecgbench.data.records import records_problem
from ecgbench.data.segmentation import RR_FACTOR, WINDOW_S
from ecgbench.data.wfdb_dataset import WFDB_PARAMS, load_wfdb_database

# Where `list` and `run --all` put this module's datasets (ecgbench.core.registry.listing_rank): as before discovery.
LISTED_AT = 3

MITDB = "mitdb"
MITDB_RECORDS = (
    "100 101 102 103 104 105 106 107 108 109 111 112 113 114 115 116 117 118 119 121 122 123 124 "
    "200 201 202 203 205 207 208 209 210 212 213 214 215 217 219 220 221 222 223 228 230 231 232 233 234"
).split()
# de Chazal et al. 2004's inter-patient division of MIT-BIH.
DS1 = "101 106 108 109 112 114 115 116 118 119 122 124 201 203 205 207 208 209 215 220 223 230".split()
DS2 = "100 103 105 111 113 117 121 123 200 202 210 212 213 214 219 221 222 228 231 232 233 234".split()
PACED_RECORDS = ("102", "104", "107", "217")  # excluded by de Chazal (AAMI EC57: paced records are not scored)


@dataclass(frozen=True)
class Track:
    """One MIT-BIH dataset: its ``train`` records (every record where there is no ``test`` side), the records of
    its predefined test side, and what its provenance says."""

    name: str
    description: str
    evaluation: Evaluation
    protocol: str
    train: list[str]
    test: list[str]
    validation_by_group: bool  # carve the validation part by whole records
    named_lists: dict[str, list[str]] = field(default_factory=dict)  # record lists the provenance names
    split_protocol: str = "auto"  # how the runner splits it when the suite says "auto"

    @property
    def records(self) -> list[str]:
        return self.train + self.test


TRACKS = (
    Track(
        "mitdb-intra",
        "MIT-BIH Arrhythmia, 48 records, beats rebuilt from the WFDB records as Kachuee et al. 2018 "
        "(5 AAMI classes); intra-patient: stratified hold-out over all beats",
        Evaluation.INTRA_PATIENT,
        INTRA_PATIENT,
        MITDB_RECORDS,
        [],
        validation_by_group=False,
        split_protocol="holdout",
    ),
    Track(
        "mitdb-inter",
        "MIT-BIH Arrhythmia, beats rebuilt from the WFDB records; inter-patient (de Chazal et al. 2004): "
        "train DS1, test DS2, paced records excluded, validation by whole DS1 records",
        Evaluation.INTER_PATIENT,
        "inter-patient (de Chazal et al. 2004): train DS1, test DS2, no record on both sides; paced records "
        f"{', '.join(PACED_RECORDS)} excluded",
        DS1,
        DS2,
        validation_by_group=True,
        named_lists={"DS1": DS1, "DS2": DS2},
        split_protocol="predefined",
    ),
    Track(
        "mitdb-ds1",
        "MIT-BIH Arrhythmia, the 22 DS1 records of the inter-patient protocol alone: model selection for "
        "mitdb-inter by cross-validation over whole records (--protocol group-kfold) that never sees DS2",
        Evaluation.INTRA_PATIENT,
        "the DS1 records of de Chazal et al. 2004 alone (DS2 is not loaded)",
        DS1,
        [],
        validation_by_group=True,
        named_lists={"DS1": DS1},
        split_protocol="group-kfold",
    ),
)
TRACK_BY_NAME = {track.name: track for track in TRACKS}


def load_track(track: Track, data_dir: Path, **options) -> Dataset:
    """``track``'s beats from ``data_dir / mitdb``; ``options`` as :func:`load_wfdb_database` takes them."""
    dataset = load_wfdb_database(Path(data_dir) / MITDB, track.records, name=track.name, **options)
    if track.test:
        folder = Path(data_dir) / MITDB
        refuse_shared_records(
            track.name,
            dataset_identities(folder, dataset, track.train),
            dataset_identities(folder, dataset, track.test),
        )
        in_train = np.isin(dataset.groups, [int(r) for r in track.train])
        dataset.predefined_split = (np.flatnonzero(in_train), np.flatnonzero(~in_train))
    dataset.validation_by_group = track.validation_by_group
    dataset.provenance["protocol"] = track.protocol
    dataset.provenance.update(track.named_lists)
    return dataset


def _loader(track: Track):
    # Explicit parameters: the registry checks a suite's dataset options against the loader's signature.
    def load(
        data_dir: Path,
        window_s: float = WINDOW_S,
        rr_factor: float = RR_FACTOR,
        drop_last_beat: bool = False,
        context=("rr",),
        verify_checksums: bool | None = None,
    ) -> Dataset:
        return load_track(
            track,
            data_dir,
            window_s=window_s,
            rr_factor=rr_factor,
            drop_last_beat=drop_last_beat,
            context=context,
            verify_checksums=verify_checksums,
        )

    load.__name__ = load.__qualname__ = f"load_{track.name.replace('-', '_')}"
    load.__doc__ = track.description
    return load


def _register(track: Track) -> None:
    register_dataset(
        track.name,
        description=track.description,
        evaluation=track.evaluation,
        params=WFDB_PARAMS,
        split_protocol=track.split_protocol,
        missing=lambda data_dir, **params: records_problem(Path(data_dir) / MITDB, track.records),
    )(_loader(track))


for _track in TRACKS:
    _register(_track)
