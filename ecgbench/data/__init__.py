"""Datasets: beats ``X`` (float32, n x 187 at 125 Hz), integer labels ``y``, class names, groups, provenance.

Datasets are found by name through a registry, so that the runner never needs to know where one comes from::

    @register_dataset("mitbih", description="...", evaluation="intra-patient", missing=lambda data_dir, **params: ...)
    def load_mitbih(data_dir, **params) -> Dataset: ...

A module of this package that calls ``register_dataset`` is found and imported when the registry is first read (no
list to edit); external packages join through the entry-point group ``ecgbench.datasets``, whose entry points name
a module that registers datasets (importing it is enough): docs/datasets.md#a-dataset-from-another-package.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import SPLIT_PROTOCOLS, Evaluation
from ecgbench.core.params import Param, check_params, typed_by_default
from ecgbench.core.registry import (
    Registry,
    describe_plugin,
    entry_point_info,
    listing_rank,
    registering_modules,
)

BEAT_LENGTH = 187
SAMPLING_RATE_HZ = 125
AAMI_CLASSES = ("N", "S", "V", "F", "Q")

# per-beat columns (Dataset.columns) that the runner and the reports read by name
SAMPLE = "sample"  # the R peak's position in its record
CONDITION = "condition"  # the test condition a beat is scored under


@dataclass
class Dataset:
    """A set of beats ready for the models.

    ``groups`` holds a record or patient id per beat where known (None otherwise). ``predefined_split`` holds
    ``(train_indices, test_indices)`` for datasets that ship their own train/test files. ``provenance`` says
    where the beats came from (``source``, per-file checksums under ``files``, ``synthetic``) and goes into the
    manifest. ``validation_by_group`` asks the splits to carve the validation part by whole groups (records), so
    that no patient crosses from validation into training. ``context`` holds per-beat features that a beat cut
    at its R peak cannot show (float32, n x k; named by ``context_names``), such as the RR intervals of
    :mod:`ecgbench.data.rr`; models that declare ``uses_context`` get them as extra columns. ``columns`` holds
    other per-beat values, by the name of the predictions' column that keeps them beside each test beat: e.g.
    ``sample`` (the R peak's position in its record, at the record's own rate: with ``groups`` it finds the beat
    in its record) and ``condition`` (the test condition a beat is scored under, "" for none: scored apart, each
    condition on its own). Its text columns are data a cell is proven against, like ``groups``
    (:func:`ecgbench.run.store.beats_checksum`).
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    groups: np.ndarray | None = None
    predefined_split: tuple[np.ndarray, np.ndarray] | None = None
    provenance: dict = field(default_factory=dict)
    validation_by_group: bool = False  # carve the validation part by whole groups (inter-patient protocols)
    context: np.ndarray | None = None
    context_names: tuple[str, ...] = ()
    columns: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        self.X = np.ascontiguousarray(self.X, dtype=np.float32)
        self.y = np.asarray(self.y, dtype=np.int64)
        if self.X.ndim != 2 or len(self.X) != len(self.y):
            raise ValueError(f"{self.name}: X must be (n, length) with one label per row")
        if self.groups is not None and len(self.groups) != len(self.y):
            raise ValueError(f"{self.name}: one group per beat expected")
        if self.context is not None:
            self.context = np.ascontiguousarray(self.context, dtype=np.float32)
            if self.context.shape != (len(self.y), len(self.context_names)):
                raise ValueError(f"{self.name}: context must be (n, len(context_names))")
        self.columns = {name: np.asarray(values) for name, values in self.columns.items()}
        for name, values in self.columns.items():
            if values.ndim != 1 or len(values) != len(self.y):
                raise ValueError(f"{self.name}: column {name!r} must hold one value per beat")

    def subset(self, keep: np.ndarray, **changes) -> Dataset:
        """The beats ``keep`` (indices), every per-beat field sliced alike; ``changes``: other fields replaced."""
        return replace(
            self,
            X=self.X[keep],
            y=self.y[keep],
            groups=None if self.groups is None else self.groups[keep],
            context=None if self.context is None else self.context[keep],
            columns={name: values[keep] for name, values in self.columns.items()},
            **changes,
        )

    @property
    def synthetic(self) -> bool:
        return bool(self.provenance.get("synthetic", False))

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def class_counts(self) -> dict[str, int]:
        counts = np.bincount(self.y, minlength=self.n_classes)
        return dict(zip(self.classes, counts.tolist(), strict=True))


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    load: Callable[..., Dataset]
    description: str
    evaluation: Evaluation  # how its test beats relate to its training beats (reports and leaderboard read it)
    # (data_dir, **dataset params) -> what keeps the data from being read (a file named) and how to get it, or None
    missing: Callable[..., str | None]
    params: dict[str, Param] = field(default_factory=dict)  # the loader's keyword parameters, with their defaults
    # The split protocol the dataset is meant to be split by when the suite says "auto" (ecgbench.run.splits): "auto"
    # (its own train/test files, else a hold-out), or e.g. "group-kfold" for a set of training records alone.
    split_protocol: str = "auto"

    def check_params(self, params: dict, where: str | None = None) -> None:
        """Refuse parameters the loader does not take and values outside their schema (before any data loads);
        ``where`` starts the message (default: ``dataset 'name'``)."""
        where = where or f"dataset {self.name!r}"
        unknown = ", ".join(sorted(set(params) - set(self.params)))
        if unknown and not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(self.load).parameters.values()):
            if not self.params:
                raise EcgbenchError(f"{where} takes no parameters; got {unknown}")
            raise EcgbenchError(f"{where}: unknown parameter(s) {unknown}; known: {', '.join(self.params)}")
        check_params(self.params, params, where)

    def is_available(self, data_dir, **params) -> bool:
        return self.missing(data_dir, **params) is None


ENTRY_POINT_GROUP = "ecgbench.datasets"
log = logging.getLogger(__name__)
# The datasets that entry points brought in: name -> {"distribution", "version", "entry_point"}.
_PLUGINS: dict[str, dict] = {}


@functools.cache
def builtin_modules() -> list[str]:
    """The modules of this package that register datasets (they call ``register_dataset``), by name."""
    return registering_modules(__name__, "register_dataset")


def _load_datasets():
    """Import the built-in dataset modules, then every entry point of ``ecgbench.datasets``."""
    for module in builtin_modules():
        importlib.import_module(module)
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        _load_plugin(entry_point)


def _load_plugin(entry_point) -> None:
    """Import one entry point and record the datasets it registers. A name already taken is refused (a dataset
    named like a built-in one would silently be another dataset); an entry point that cannot be imported, or
    that registers nothing, is warned about by name and skipped, so that one broken plugin takes nothing else down."""
    info = entry_point_info(entry_point)
    source = f"{entry_point.name!r} ({entry_point.value}, from {describe_plugin(info)})"
    before = set(DATASETS._entries)
    try:
        entry_point.load()
    except EcgbenchError as exc:  # its register_dataset took a name already registered
        raise EcgbenchError(
            f"plugin {describe_plugin(info)}: entry point {entry_point.name!r} could not be registered: {exc}"
        ) from None
    except Exception as exc:  # a broken plugin must not take the other datasets down
        log.warning("dataset plugin %s could not be loaded, skipped: %s: %s", source, type(exc).__name__, exc)
        return
    # what its import registered, or, imported before, what its module registered then
    names = [
        name
        for name, spec in DATASETS._entries.items()
        if name not in before or spec.load.__module__ == entry_point.module
    ]
    if not names:
        log.warning("dataset plugin %s registers no dataset, skipped: its module calls no register_dataset", source)
    for name in names:
        _PLUGINS[name] = info


DATASETS: Registry[DatasetSpec] = Registry("dataset", _load_datasets)


def register_dataset(
    name: str,
    *,
    description: str,
    evaluation: Evaluation,
    missing=lambda data_dir, **params: None,
    params: dict[str, Param] | None = None,
    split_protocol: str = "auto",
):
    """Decorator that adds a loader ``load(data_dir: Path, **params) -> Dataset`` to the registry.

    ``missing(data_dir, **params)`` names what keeps the data from being read (which file is absent, empty or a
    folder) and how to get it, or returns None; it must be cheap, since ``list`` calls it for every dataset.
    ``params`` gives the loader's keyword parameters their types and ranges (:class:`ecgbench.core.params.Param`, the
    default taken from the loader's signature); a parameter left out is checked against its default's type.
    ``split_protocol``: how the dataset is split when the suite's protocol is "auto" (``--quick`` keeps it)."""

    def decorate(load):
        defaults = {
            p.name: p.default
            for p in list(inspect.signature(load).parameters.values())[1:]
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
        if split_protocol not in SPLIT_PROTOCOLS:
            raise ValueError(f"dataset {name!r}: split_protocol must be one of {SPLIT_PROTOCOLS}")
        if set(params or {}) - set(defaults):
            raise ValueError(f"dataset {name!r}: params names what its loader does not take")
        taken = DATASETS._entries.get(name)
        if taken is not None:  # the registry would name both in full; the modules say where each comes from
            raise EcgbenchError(
                f"dataset {name!r} is registered twice: by {taken.load.__module__} and by {load.__module__}"
            )
        schema = {
            **typed_by_default(defaults),
            **{k: replace(v, default=defaults[k]) for k, v in (params or {}).items()},
        }
        DATASETS.register(
            name, DatasetSpec(name, load, description, Evaluation(evaluation), missing, schema, split_protocol)
        )
        return load

    return decorate


def dataset_names() -> list[str]:
    """Built-in datasets in their modules' listing order (:func:`ecgbench.core.registry.listing_rank`; in a module,
    in the order it registers them), then plugins; the same whatever was imported first."""
    names = DATASETS.names()  # imports the modules, whose LISTED_AT the rank reads
    rank = listing_rank(builtin_modules())
    return sorted(names, key=lambda name: rank.get(DATASETS.get(name).load.__module__, len(rank)))


def dataset_origin(name: str) -> str:
    """``built-in``, ``plugin DISTRIBUTION VERSION`` (an entry point), or the module that registered the dataset."""
    module = dataset_spec(name).load.__module__
    if name in _PLUGINS:
        return f"plugin {describe_plugin(_PLUGINS[name])}"
    return "built-in" if module.startswith("ecgbench.") else module


def dataset_spec(name: str) -> DatasetSpec:
    return DATASETS.get(name)


def require_available(name: str, data_dir: Path, **params) -> DatasetSpec:
    spec = dataset_spec(name)
    reason = spec.missing(data_dir, **params)
    if reason:
        raise EcgbenchError(f"dataset {name!r} cannot be read from {data_dir}: {reason}")
    return spec


def load_dataset(name: str, data_dir: Path | None = None, **params) -> Dataset:
    data_dir = resolve_data_dir(data_dir)
    dataset_spec(name).check_params(params)
    spec = require_available(name, data_dir, **params)
    return spec.load(data_dir, **params)


def resolve_data_dir(data_dir: str | Path | None = None) -> Path:
    """``--data-dir``, else ``$ECGBENCH_DATA``, else a per-user cache folder."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("ECGBENCH_DATA"):
        return Path(os.environ["ECGBENCH_DATA"]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "ecgbench"
