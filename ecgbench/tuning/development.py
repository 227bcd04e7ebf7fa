"""The development set that ``tune`` searches on: the suite's dataset without its test part, split into folds by
whole records.

The test part is never used, and for the MIT-BIH tracks never read: ``mitdb-inter`` is loaded as its DS1 records
alone (:data:`DEVELOPMENT_LOADERS`), so no DS2 file is opened, hashed or taken from the beat cache. A dataset
with a predefined split and no such loader (the Kaggle CSVs, wfdb-cross, the noise track) is restricted to its
training part right after loading, before anything else sees it. A dataset without a split of its own is the
development set whole where the suite cross-validates it (``kfold``, ``group-kfold``: such suites, like
``mitdb-ds1-cv``, choose settings and keep no test part), and without the suite's hold-out test part otherwise.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import Dataset, dataset_spec, load_dataset, require_available, resolve_data_dir
from ecgbench.run.splits import Split, make_splits

log = logging.getLogger(__name__)


def _mitdb_development(track_name: str):
    def load(data_dir: Path, **params) -> Dataset:
        from ecgbench.data.mitdb import MITDB, TRACK_BY_NAME, load_track
        from ecgbench.data.records import records_problem

        track = TRACK_BY_NAME[track_name]
        problem = records_problem(Path(data_dir) / MITDB, track.train)  # the training records only
        if problem:
            raise EcgbenchError(
                f"dataset {track_name!r} (its training records) cannot be read from {data_dir}: {problem}"
            )
        defaults = {name: p.default for name, p in dataset_spec(track_name).params.items()}
        development = dataclasses.replace(track, test=[])  # only track.train is read
        dataset = load_track(development, data_dir, **{**defaults, **params})
        dataset.provenance["development_part"] = (
            f"the {len(track.train)} training records only; the {len(track.test)} test records are never read"
        )
        return dataset

    return load


# Datasets whose training part can be read without touching their test part's files.
DEVELOPMENT_ONLY = ("mitdb-inter",)  # loaded as its training part: what is left is development
DEVELOPMENT_LOADERS = {name: _mitdb_development(name) for name in ("mitdb-inter", "mitdb-ds1", "mitdb-intra")}


def restrict(dataset: Dataset, keep: np.ndarray, what: str) -> Dataset:
    keep = np.sort(np.asarray(keep))
    return dataset.subset(keep, predefined_split=None, provenance={**dataset.provenance, "development_part": what})


def development_dataset(suite, name: str, data_dir: Path | None) -> Dataset:
    """Dataset ``name`` as the suite loads it, less its test part (see the module's docstring)."""
    from ecgbench.run.runner import subsample

    params = suite.params_for_dataset(name)
    spec = dataset_spec(name)
    spec.check_params(params)
    if name in DEVELOPMENT_LOADERS:
        dataset = DEVELOPMENT_LOADERS[name](resolve_data_dir(data_dir), **params)
        if name == "mitdb-intra":  # no split of its own: the suite's hold-out applies below
            dataset = dataclasses.replace(dataset, predefined_split=None)
    else:
        require_available(name, resolve_data_dir(data_dir), **params)
        dataset = load_dataset(name, data_dir, **params)
        if dataset.predefined_split is not None:
            dataset = restrict(
                dataset,
                dataset.predefined_split[0],
                "the predefined training part; its test part is dropped on loading",
            )
    protocol = suite.split["protocol"]
    if dataset.predefined_split is None and protocol in ("auto", "holdout") and name not in DEVELOPMENT_ONLY:
        # mitdb-intra, synthetic: the suite holds out a random test part; tune never sees it
        (split,) = make_splits(dataset, **{**suite.split, "protocol": "holdout"})
        dataset = restrict(
            dataset,
            np.concatenate([split.train, split.val]),
            "the suite's hold-out training part (its test part is never used)",
        )
    if suite.max_beats:
        dataset = subsample(dataset, suite.max_beats, suite.split["seed"])
    return dataset


def development_folds(dataset: Dataset, suite) -> list[Split]:
    """Group k-fold over the development set's record ids (``n_folds``, ``val_size``, ``seed`` of the suite's
    [split]); each fold's validation part is carved from its training records, by whole records."""
    if dataset.groups is None:
        raise EcgbenchError(f"dataset {dataset.name!r} has no record ids: tune cross-validates by whole records")
    split = suite.split
    return make_splits(
        dataset,
        protocol="group-kfold",
        n_folds=split["n_folds"],
        val_size=split["val_size"],
        seed=split["seed"],
        max_train_beats=split["max_train_beats"] or None,
    )
