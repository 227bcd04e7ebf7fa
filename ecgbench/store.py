"""The run store: the one module that knows the layout of a run folder ``results/<run-id>/``.

Everything else (the runner, reports, ``compare``, the leaderboard, the rescoring commands) reads and writes a
run through :class:`RunStore`. Layout (schema version :data:`SCHEMA_VERSION`; docs/results-format.md says what
each column means)::

    manifest.json                       command, suite, commit, versions, machine, datasets, status, failures
    lock.json                           while a client runs it: host, process id, start time (cells/.../lock.json
                                        likewise while ``run-cell`` runs that cell)
    splits/<dataset>.npz                train / val / test indices of every split
    cells/<dataset>/<split>/<model>/seed<k>/
        predictions.parquet             index, group, [condition,] y_true, y_pred, p_<class> (float32)
        metrics.json                    the cell's metrics, with the checksum of its predictions; written last
        error.txt                       the traceback of a failed cell
        log.txt                         the cell's log lines, from whichever process ran it
    results.csv  metrics.json  summary.md  confusion/*.png     the report, rebuilt from the cells alone
    ranks/<dataset>.png  noise/<dataset>/<model>.png         its other figures (:meth:`RunStore.figure`)

A cell is finished when its ``metrics.json`` exists and the predictions file has the checksum recorded in it.
Every file carries ``schema_version``; :func:`upgrade` converts a run written by an older ecgbench.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.errors import EcgbenchError
from ecgbench.io import atomic_write, os_error_text, sha256_file, write_json, write_text

SCHEMA_VERSION = 2
NOT_RUN = "not run"
PREDICTIONS = "predictions.parquet"
CELL_METRICS = "metrics.json"
MODEL_DIR = "model"  # the cell's fitted model and its card; the checksums of its files: metrics' model_sha256
MANIFEST_KEYS = ("suite", "datasets")  # the tables every reader of a manifest relies on

log = logging.getLogger(__name__)


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


def read_json(path: Path) -> dict | list:
    """A JSON file of the store; a damaged one is named, never a bare traceback."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EcgbenchError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EcgbenchError(f"{path} is damaged (not valid JSON: {exc})") from None


class RunStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)

    # ---- the manifest --------------------------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def exists(self) -> bool:
        return self.manifest_path.is_file()

    def read_manifest(self) -> dict:
        manifest = read_json(self.manifest_path)
        if not isinstance(manifest, dict):
            raise EcgbenchError(f"{self.manifest_path} is damaged (a JSON {type(manifest).__name__}, not a run's "
                                "manifest)")
        self._require_current(manifest.get("schema_version", 1), self.manifest_path)
        wrong = [key for key in MANIFEST_KEYS if not isinstance(manifest.get(key), dict)]
        if wrong:
            raise EcgbenchError(f"{self.manifest_path} is damaged: {' and '.join(wrong)} missing or not a table")
        return manifest

    def write_manifest(self, manifest: dict) -> None:
        write_json(self.manifest_path, {"schema_version": SCHEMA_VERSION, **manifest})

    def _require_current(self, version, path: Path) -> None:
        if version != SCHEMA_VERSION:
            raise EcgbenchError(f"{path} has schema version {version}, this ecgbench reads {SCHEMA_VERSION}; "
                                f"convert the run with `python -m ecgbench upgrade {self.root}`")

    # ---- splits --------------------------------------------------------------------------------------------------

    def splits_path(self, dataset: str) -> Path:
        return self.root / "splits" / f"{dataset}.npz"

    def save_splits(self, dataset: str, splits) -> None:
        """Every split's indices, so that any report can be recomputed on exactly the same beats."""
        arrays = {f"{s.name}_{part}": getattr(s, part) for s in splits for part in ("train", "val", "test")}
        write_npz(self.splits_path(dataset), {"schema_version": np.array(SCHEMA_VERSION), **arrays})

    def load_split(self, dataset: str, split: str) -> dict[str, np.ndarray]:
        path = self.splits_path(dataset)
        try:
            with np.load(path) as saved:
                return {part: saved[f"{split}_{part}"] for part in ("train", "val", "test")}
        except FileNotFoundError:
            raise EcgbenchError(f"{path} is missing: plan the run first (python -m ecgbench run ...)") from None
        except KeyError:
            raise EcgbenchError(f"{path} holds no split {split!r}") from None
        except (OSError, ValueError) as exc:
            raise EcgbenchError(f"{path} is damaged: {exc}") from None

    # ---- cells ---------------------------------------------------------------------------------------------------

    def cell_dir(self, key: CellKey) -> Path:
        return self.root / "cells" / key.dataset / key.split / key.model / f"seed{key.seed}"

    def cell_problem(self, key: CellKey) -> str | None:
        """Why a stored cell cannot be used as finished: None where its metrics exist and the predictions they were
        computed from are the ones on disk (their checksum), ``NOT_RUN`` where it has no metrics."""
        folder = self.cell_dir(key)
        if not (folder / CELL_METRICS).is_file():
            return NOT_RUN
        try:
            metrics = read_json(folder / CELL_METRICS)
        except EcgbenchError as exc:
            return str(exc)
        self._require_current(metrics.get("schema_version", 1), folder / CELL_METRICS)
        predictions = folder / PREDICTIONS
        if not predictions.is_file():
            return f"{predictions} is missing"
        if metrics.get("predictions_sha256") != sha256_file(predictions):
            return f"{predictions} is not the file its metrics were computed from (checksum differs)"
        return None

    def cell_finished(self, key: CellKey) -> bool:
        problem = self.cell_problem(key)
        if problem not in (None, NOT_RUN):
            log.warning("cell %s: %s; it is computed again", key.id, problem)
        return problem is None

    def write_cell(self, key: CellKey, predictions: pd.DataFrame, metrics: dict, model=None,
                   card: dict | None = None) -> None:
        """The cell's predictions, its fitted ``model`` and ``card`` where given (``model/``, checksummed in the
        metrics as ``model_sha256``), then its metrics."""
        folder = self.cell_dir(key)
        write_predictions(folder / PREDICTIONS, predictions)
        (folder / "error.txt").unlink(missing_ok=True)
        extra = {}
        if model is not None:
            try:
                extra["model_sha256"] = write_model_folder(folder / MODEL_DIR, model, card)
            except NotImplementedError as exc:  # a plugin that neither implements _save nor declares saved_by_pickle
                log.warning("cell %s: its model is not stored: %s", key.id, exc)
        if "model_sha256" not in extra:  # a model of an earlier computation must not stand beside these predictions
            remove_tree(folder / MODEL_DIR)
        write_json(folder / CELL_METRICS, {"schema_version": SCHEMA_VERSION, **metrics,
                                           "predictions_sha256": sha256_file(folder / PREDICTIONS), **extra})

    def model_dir(self, key: CellKey) -> Path:
        return self.cell_dir(key) / MODEL_DIR

    def lock(self):
        """The run's lock (``lock.json``): one client per run folder (:mod:`ecgbench.locks`)."""
        from ecgbench.locks import FileLock

        return FileLock(self.root / "lock.json", f"run folder {self.root}")

    def cell_lock(self, key: CellKey):
        """One cell's lock, for ``run-cell``: a job array runs each cell once at a time."""
        from ecgbench.locks import FileLock

        return FileLock(self.cell_dir(key) / "lock.json", f"cell {key.id} of {self.root}")

    def write_failure(self, key: CellKey, exc: BaseException) -> dict:
        """The traceback into the cell's ``error.txt``; returns the failure as a record for the manifest."""
        folder = self.cell_dir(key)
        for stale in (CELL_METRICS, PREDICTIONS):  # an earlier result of this cell must not stand beside its failure
            (folder / stale).unlink(missing_ok=True)
        remove_tree(folder / MODEL_DIR)
        write_text(folder / "error.txt", "".join(traceback.format_exception(exc)))
        return {"cell": key.id, "error": type(exc).__name__, "message": str(exc)}

    def cells(self) -> list[dict]:
        """The metrics of every finished cell, in the order of their folders; a damaged cell is left out, with a
        warning, never used."""
        cells = []
        for path in sorted((self.root / "cells").glob(f"*/*/*/seed*/{CELL_METRICS}")):
            key = CellKey.from_id("/".join(path.parts[-5:-1]))
            problem = self.cell_problem(key)
            if problem is None:
                cells.append(read_json(path))
            else:
                log.warning("cell %s is left out of the report: %s", key.id, problem)
        return cells

    def predictions(self, key: CellKey) -> pd.DataFrame:
        path = self.cell_dir(key) / PREDICTIONS
        try:
            return pd.read_parquet(path)
        except FileNotFoundError:
            raise EcgbenchError(f"{path} is missing") from None
        except Exception as exc:  # pyarrow's errors on a damaged file are of several types
            raise EcgbenchError(f"{path} is damaged: {exc}") from None

    # ---- the report ----------------------------------------------------------------------------------------------

    @property
    def results_path(self) -> Path:
        return self.root / "results.csv"

    def write_results(self, table: pd.DataFrame, cells: list[dict]) -> None:
        table = table.assign(schema_version=SCHEMA_VERSION)
        atomic_write(self.results_path, lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
        write_json(self.root / "metrics.json", {"schema_version": SCHEMA_VERSION, "cells": cells})

    def read_results(self) -> pd.DataFrame:
        """The report's flat table; a damaged, truncated or foreign one is named, never read as fewer rows."""
        path = self.results_path
        try:
            table = pd.read_csv(path)
            ends_a_line = _last_byte(path) == b"\n"
        except FileNotFoundError:
            raise EcgbenchError(f"{self.root} is not a finished run: results.csv is missing") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise EcgbenchError(f"{path} is damaged: {str(exc).strip()}") from None
        except OSError as exc:
            raise EcgbenchError(f"{path} cannot be read: {os_error_text(exc, file=False)}") from None
        missing = {"dataset", "model", "seed", "split", "schema_version"} - set(table.columns)
        if missing:
            raise EcgbenchError(f"{path} is damaged or from an older ecgbench: it lacks column(s) "
                                f"{', '.join(sorted(missing))}")
        incomplete = table.index[table["schema_version"].ne(SCHEMA_VERSION)]
        if not ends_a_line or len(incomplete):
            row = incomplete[0] + 2 if len(incomplete) else len(table) + 1
            raise EcgbenchError(f"{path} is damaged (truncated or altered at line {row}); rebuild the report with "
                                f"`python -m ecgbench upgrade {self.root}`")
        report = self.root / "metrics.json"
        cells = read_json(report) if report.is_file() else {}
        cells = cells.get("cells", []) if isinstance(cells, dict) else []
        if report.is_file() and len(cells) != len(table):
            raise EcgbenchError(f"{path} is damaged: {len(table)} row(s), but {report} lists {len(cells)} cell(s); "
                                f"rebuild the report with `python -m ecgbench upgrade {self.root}`")
        return table

    def write_summary(self, text: str) -> None:
        write_text(self.root / "summary.md", text)

    def heatmap_path(self, key: CellKey) -> Path:
        return self.root / "confusion" / f"{key.dataset}_{key.split}_{key.model}_seed{key.seed}.png"

    def figure(self, kind: str, *names: str) -> Path:
        """A figure of the report, relative to the run folder (as summary.md links it): ``ranks/<dataset>.png``,
        ``noise/<dataset>/<model>.png``."""
        return Path(kind, *names[:-1], f"{names[-1]}.png")


def _last_byte(path: Path) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        if fh.tell() == 0:
            return b""
        fh.seek(-1, 2)
        return fh.read(1)


def remove_tree(path: Path) -> None:
    import shutil

    if path.is_dir():
        shutil.rmtree(path)


def write_model_folder(target: Path, model, card: dict | None = None) -> dict[str, str]:
    """``model.save`` and its card (``card.json``, ``card.md``) into a temporary folder beside ``target``, renamed
    into place once complete; returns the sha256 of every file (:func:`ecgbench.models.saving.model_checksums`)."""
    import tempfile

    from ecgbench.cards import CARD_JSON, CARD_MD, card_markdown
    from ecgbench.models.saving import model_checksums

    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    try:
        model.save(tmp)
        if card is not None:
            write_json(tmp / CARD_JSON, card)
            write_text(tmp / CARD_MD, card_markdown(card))
        checksums = model_checksums(tmp)
        tmp.chmod(0o777 & ~_umask())
        remove_tree(target)
        tmp.rename(target)
    except BaseException:
        remove_tree(tmp)
        raise
    return checksums


def _umask() -> int:
    from ecgbench.io import _UMASK

    return _UMASK


def write_npz(path: Path, arrays: dict) -> None:
    def write(tmp: Path):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, write)


def write_predictions(path: Path, predictions: pd.DataFrame) -> None:
    """Typed, compressed columns: probabilities as float32, floats split by byte for zstd (a quarter of the CSV)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    frame = predictions.astype({c: "float32" for c in predictions if c.startswith("p_")}
                               | {"y_true": "int16", "y_pred": "int16", "index": "int64"})
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**table.schema.metadata, b"ecgbench_schema_version": b"%d" % SCHEMA_VERSION})
    encodings = {c: "BYTE_STREAM_SPLIT" for c in frame if c.startswith("p_")} | {"index": "DELTA_BINARY_PACKED"}
    atomic_write(path, lambda tmp: pq.write_table(
        table, tmp, compression="zstd", compression_level=9, use_dictionary=[c for c in frame if c not in encodings],
        column_encoding=encodings))


def predictions_frame(index, y_true, proba: np.ndarray, classes, groups=None, conditions=None,
                      samples=None) -> pd.DataFrame:
    """The predictions of one cell: the beats' indices, record ids where known, test conditions where the dataset
    has them (the noise track), labels and probabilities."""
    frame = pd.DataFrame({"index": index})
    if groups is not None:  # record ids: the summary shows which records hold the missed beats
        frame["group"] = groups
    if samples is not None:  # the beat's R peak in its record (record's own sampling rate): found in the record
        frame["sample"] = samples
    if conditions is not None:  # the noise track: each beat's condition (noise, SNR), scored apart
        frame["condition"] = conditions
    frame["y_true"] = y_true
    frame["y_pred"] = proba.argmax(axis=1)
    for i, name in enumerate(classes):
        frame[f"p_{name}"] = proba[:, i]
    return frame


def resolve_run(name: str | Path, results_dir: Path) -> RunStore:
    """A run by folder or by run id under ``results_dir``; its manifest is read once, so a damaged one is named
    before anything else is."""
    for candidate in (Path(name), Path(results_dir) / name):
        if (candidate / "manifest.json").is_file():
            store = RunStore(candidate)
            store.read_manifest()
            return store
    raise EcgbenchError(f"no run found at {str(name)!r} or {Path(results_dir) / name} (expected a manifest.json in it)")


def pooled_probabilities(store: RunStore) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
    """Per model, the saved probabilities of every split's test beats in one (beats, classes) array, and the labels.

    Seed 0 of each model; the beats are in the same order for every model. For a ``group-kfold`` run this is one
    out-of-fold prediction per beat, by models that never saw the beat's patient.
    """
    cells = [c for c in store.cells() if c["seed"] == 0]
    if not cells:
        raise EcgbenchError(f"{store.root} holds no finished seed-0 cells")
    by_model: dict[str, list[pd.DataFrame]] = {}
    for cell in cells:
        by_model.setdefault(cell["model"], []).append(store.predictions(CellKey.of(cell)).assign(split=cell["split"]))
    frames = {m: pd.concat(parts).sort_values(["split", "index"], ignore_index=True) for m, parts in by_model.items()}
    first = next(iter(frames.values()))
    for model, frame in frames.items():
        if not frame[["split", "index"]].equals(first[["split", "index"]]):
            raise EcgbenchError(f"{model} has not finished the same splits as the other models in {store.root}")
    columns = [c for c in first.columns if c.startswith("p_")]
    classes = tuple(c[2:] for c in columns)
    return {m: f[columns].to_numpy(dtype=np.float64) for m, f in frames.items()}, first["y_true"].to_numpy(), classes


# ---- older runs ----------------------------------------------------------------------------------------------------

CELL_DEFAULTS = {"peak_memory_mb": None, "peak_memory_scope": None, "baseline_f1_macro": None, "commit": None,
                 "context_features": []}  # keys that schema-1 cells written by early versions may lack


def upgrade(store: RunStore) -> int:
    """Convert a schema-1 run (CSV predictions, protocol as prose) to the current schema, in place; return the
    number of cells converted. Each cell's metrics are recomputed from the converted predictions and must equal
    the stored ones, so the conversion provably changes no number. The report is not rebuilt here."""
    from ecgbench.data import dataset_spec
    from ecgbench.evaluation import evaluation_of
    from ecgbench.metrics import classification_metrics

    manifest = read_json(store.manifest_path)
    if manifest.get("schema_version", 1) == SCHEMA_VERSION:
        return 0
    split_protocol = manifest["suite"]["split"]["protocol"]
    for name, info in manifest["datasets"].items():
        protocols = {s["protocol"] for s in info["splits"].values()} or {split_protocol}
        info["evaluation"] = evaluation_of(dataset_spec(name).evaluation, protocols.pop()).value
        with np.load(store.splits_path(name)) as saved:
            write_npz(store.splits_path(name), {"schema_version": np.array(SCHEMA_VERSION), **saved})
    manifest["failures"] = [{"cell": None, "error": None, "message": f} if isinstance(f, str) else f
                            for f in manifest.get("failures", [])]
    converted = 0
    for path in sorted((store.root / "cells").glob(f"*/*/*/seed*/{CELL_METRICS}")):
        metrics = {**CELL_DEFAULTS, **read_json(path)}
        csv = path.parent / "predictions.csv"
        predictions = pd.read_csv(csv)
        recomputed = classification_metrics(predictions["y_true"].to_numpy(), predictions["y_pred"].to_numpy(),
                                            tuple(metrics["classes"]))
        for name, value in recomputed.items():
            if metrics[name] != value:
                raise EcgbenchError(f"{csv}: {name} recomputed from the predictions is {value}, the stored one "
                                    f"{metrics[name]}; not converted")
        store.write_cell(CellKey.of(metrics), predictions, {k: v for k, v in metrics.items() if k != "schema_version"})
        csv.unlink()
        converted += 1
    from ecgbench.environment import git_commit, now

    upgrades = manifest.setdefault("upgrades", [])
    upgrades.append({"from_schema": manifest.get("schema_version", 1), "to_schema": SCHEMA_VERSION, "at": now(),
                     **git_commit()})
    store.write_manifest({k: v for k, v in manifest.items() if k != "schema_version"})
    return converted
