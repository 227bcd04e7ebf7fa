"""The typed records a run folder holds: the manifest (:class:`Manifest`, with its :class:`DatasetRecord`,
:class:`Invocation` and :class:`Stop` records), a cell's metrics (:class:`CellResult`) and a failed cell's record
(:class:`Failure`). :class:`~ecgbench.run.store.RunStore` reads and writes them; nothing else builds their JSON.

Each record writes exactly the JSON ecgbench has always written for it: its keys in the order the file already had
them (a key added since goes after them, in the order of the record's fields, unless left at its default), keys
this ecgbench does not know kept as they were (``extra``), and a field that is None left out of the file (so
setting one to None removes its key), unless the record lists it in ``NULLABLE`` (written as null). So a committed
run reads and writes back unchanged. :class:`Manifest` and :class:`CellResult` carry the schema version
themselves: ``from_json`` refuses another one, ``to_json`` writes the current one first.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ecgbench.core.errors import EcgbenchError

SCHEMA_VERSION = 3


class SchemaVersionError(EcgbenchError):
    """A record written under another schema version; the store names the file and the command that converts it."""

    def __init__(self, version):
        super().__init__(f"schema version {version}, this ecgbench reads {SCHEMA_VERSION}")
        self.version = version


@dataclass
class Record:
    """A JSON object with typed fields (see the module docstring for how it is written)."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset()
    NESTED: ClassVar[dict[str, tuple[str, type]]] = {}  # field -> ("one" | "list" | "dict", record type)

    extra: dict[str, Any] = field(default_factory=dict, kw_only=True, repr=False, compare=False)
    key_order: tuple[str, ...] = field(default=(), kw_only=True, repr=False, compare=False)

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "key_order")]

    @classmethod
    def from_dict(cls, data: dict, where: str = "") -> Record:
        if not isinstance(data, dict):
            raise EcgbenchError(f"{where or cls.__name__} is not a JSON object (a {type(data).__name__})")
        names = cls.field_names()
        values = {name: _decode(cls.NESTED.get(name), data[name], f"{where}.{name}") for name in names if name in data}
        missing = [f.name for f in dataclasses.fields(cls) if f.name in names and f.name not in data and _required(f)]
        if missing:
            raise EcgbenchError(f"{where or cls.__name__} lacks {', '.join(missing)}")
        extra = {key: value for key, value in data.items() if key not in names}
        return cls(**values, extra=extra, key_order=tuple(data))

    def to_dict(self) -> dict:
        values = {name: _encode(getattr(self, name)) for name in self.field_names() if self._written(name)}
        values |= self.extra
        order = [key for key in self.key_order if key in values] + [key for key in values if key not in self.key_order]
        return {key: values[key] for key in order}

    def _written(self, name: str) -> bool:
        """Whether field ``name`` goes into the file: one the file had, or a new record's, unless None (null where
        nullable); one added to a record read from a file, unless None or left at its default."""
        value = getattr(self, name)
        if not self.key_order or name in self.key_order:
            return value is not None or name in self.NULLABLE
        return value is not None and value != _default(type(self), name)


def _default(record: type, name: str):
    f = next(f for f in dataclasses.fields(record) if f.name == name)
    return f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default


def _required(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _decode(nested: tuple[str, type] | None, value, where: str):
    if nested is None or value is None:
        return value
    kind, record = nested
    if kind == "list":
        return [record.from_dict(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if kind == "dict":
        return {name: record.from_dict(item, f"{where}.{name}") for name, item in value.items()}
    return record.from_dict(value, where)


def _encode(value):
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, list):
        return [_encode(item) for item in value]
    if isinstance(value, dict):
        return {name: _encode(item) for name, item in value.items()}
    return value


class Versioned(Record):
    """A record that is a whole file, stamped with the schema version it was written under."""

    @classmethod
    def from_json(cls, data: dict, where: str = ""):
        if not isinstance(data, dict):
            raise EcgbenchError(f"{where or cls.__name__} is not a JSON object (a {type(data).__name__})")
        version = data.get("schema_version", 1)
        if version != SCHEMA_VERSION:
            raise SchemaVersionError(version)
        return cls.from_dict({k: v for k, v in data.items() if k != "schema_version"}, where)

    def to_json(self) -> dict:
        return {"schema_version": SCHEMA_VERSION, **self.to_dict()}


# ---- the manifest --------------------------------------------------------------------------------------------------


@dataclass
class Stop(Record):
    """Why a run stopped: the signal that interrupted it, or the reason it failed."""

    at: str
    signal: str | None = None
    reason: str | None = None


@dataclass
class Invocation(Record):
    """One command that ran the run (a resume is another), its code, and how it stopped where it did."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"dirty"})
    NESTED: ClassVar[dict[str, tuple[str, type]]] = {"stopped": ("one", Stop)}

    command: str
    started: str
    commit: str | None = None
    dirty: bool | None = None
    stopped: Stop | None = None


@dataclass
class DatasetRecord(Record):
    """What the run was planned on for one dataset: its size, classes, checksums and splits. Fields other than
    ``splits`` may be absent in runs planned by older versions (None)."""

    n_beats: int | None = None
    classes: list[str] | None = None
    class_counts: dict[str, int] | None = None
    synthetic: bool | None = None
    evaluation: str | None = None
    fingerprint: str | None = None
    provenance: dict | None = None
    context_features: list[str] | None = None
    # per split: protocol, part sizes, the checksums of the split, its test labels and its test beats' columns
    splits: dict[str, dict] = field(default_factory=dict)
    cells_carry_checksums: bool | None = None


@dataclass
class Failure(Record):
    """A cell that failed: its id, the exception's type and its message. A run upgraded from schema 1 keeps its
    failures, recorded then as bare messages, with no cell or error."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"cell", "error"})

    cell: str | None
    error: str | None
    message: str

    @classmethod
    def of(cls, cell_id: str, exc: BaseException) -> Failure:
        return cls(cell_id, type(exc).__name__, str(exc))

    @classmethod
    def from_json(cls, data: dict | str, where: str = "failure") -> Failure:
        if isinstance(data, str):  # schema 1
            return cls(None, None, data)
        return cls.from_dict(data, where)

    def to_json(self) -> dict:
        return self.to_dict()


@dataclass
class Manifest(Versioned):
    """``manifest.json``: the suite, the code and machine that ran it, each dataset as planned, every invocation,
    the run's status, and its failures once finished."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset({"dirty"})
    NESTED: ClassVar[dict[str, tuple[str, type]]] = {
        "datasets": ("dict", DatasetRecord),
        "invocations": ("list", Invocation),
        "stopped": ("one", Stop),
        "failures": ("list", Failure),
    }

    run_id: str | None = None
    suite: dict = field(default_factory=dict)
    suite_fingerprint: str | None = None
    started: str | None = None
    datasets: dict[str, DatasetRecord] = field(default_factory=dict)
    invocations: list[Invocation] = field(default_factory=list)
    status: str | None = None
    command: str | None = None
    versions: dict | None = None
    machine: dict | None = None
    commit: str | None = None
    dirty: bool | None = None
    plugins: dict | None = None
    save_models: bool | None = None
    stopped: Stop | None = None
    partial_report: dict | None = None
    finished: str | None = None
    failures: list[Failure] | None = None
    upgrades: list[dict] | None = None


# ---- a cell ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class CellKey:
    """A cell's names: what it trains (model, seed) on what (dataset, split)."""

    dataset: str
    split: str
    model: str
    seed: int

    @property
    def id(self) -> str:
        return f"{self.dataset}/{self.split}/{self.model}/seed{self.seed}"

    @classmethod
    def from_id(cls, cell_id: str) -> CellKey:
        parts = cell_id.split("/")
        if len(parts) != 4 or not parts[3].startswith("seed") or not parts[3][4:].lstrip("-").isdigit():
            raise EcgbenchError(f"cell id {cell_id!r} is not of the form DATASET/SPLIT/MODEL/seedK")
        return cls(parts[0], parts[1], parts[2], int(parts[3][4:]))

    @classmethod
    def of(cls, metrics: dict) -> CellKey:
        return cls(metrics["dataset"], metrics["split"], metrics["model"], metrics["seed"])


@dataclass(kw_only=True)
class CellResult(Versioned):
    """A cell's ``metrics.json``: its scores (:func:`ecgbench.core.metrics.classification_metrics`, and
    :func:`~ecgbench.core.metrics.binary_metrics` for two classes), what it was trained and scored on, its costs,
    and the checksums that prove it (:meth:`ecgbench.run.store.RunStore.cell_problem`). Cells written by early
    versions may lack the fields that default to None."""

    NULLABLE: ClassVar[frozenset[str]] = frozenset(
        {"peak_memory_mb", "peak_memory_scope", "commit", "beats_per_second", "baseline_f1_macro"}
    )

    n: int | None = None
    accuracy: float | None = None
    balanced_accuracy: float | None = None
    f1_macro: float | None = None
    f1_weighted: float | None = None
    per_class: dict | None = None
    confusion: list | None = None
    confusion_normalized: list | None = None
    sensitivity: float | None = None
    specificity: float | None = None
    roc_auc: float | None = None
    dataset: str
    split: str
    protocol: str | None = None
    model: str
    seed: int
    synthetic: bool | None = None
    classes: list[str] = field(default_factory=list)
    params: dict | None = None
    threads: int | None = None
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    fit_seconds: float | None = None
    predict_seconds: float | None = None
    compile_seconds: float | None = None  # numba's compilation, timed apart from fitting (absent where none)
    fit_transform_seconds: float | None = None  # feature extraction or transform within fitting
    predict_transform_seconds: float | None = None  # the same within prediction
    peak_memory_scope: str | None = None
    peak_memory_mb: float | None = None
    context_features: list[str] = field(default_factory=list)
    commit: str | None = None
    beats_per_second: float | None = None
    baseline_f1_macro: float | None = None
    split_sha256: str | None = None
    data_fingerprint: str | None = None
    test_labels_sha256: str | None = None
    predictions_sha256: str | None = None
    model_sha256: dict[str, str] | None = None

    @property
    def key(self) -> CellKey:
        return CellKey(self.dataset, self.split, self.model, self.seed)
