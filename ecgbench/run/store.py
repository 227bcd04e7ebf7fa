"""The run store: the one module that knows the layout of a run folder ``results/<run-id>/``.

Everything else (the runner, reports, ``compare``, the leaderboard, the rescoring commands) reads and writes a
run through :class:`RunStore`. Layout (schema version :data:`SCHEMA_VERSION`; docs/results-format.md says what
each column means)::

    manifest.json                       command, suite, commit, versions, machine, datasets, status, failures
    lock.json                           while a client runs it: host, process id, start time (cells/.../lock.json
                                        likewise while ``run-cell`` runs that cell)
    splits/<dataset>.npz                train / val / test indices of every split
    cells/<dataset>/<split>/<model>/seed<k>/
        predictions.parquet             index, group, [sample,] [condition,] y_true, y_pred, p_<class> (uint16:
                                        the probability in steps of 1/65535)
        metrics.json                    the cell's metrics, with the checksum of its predictions; written last
        error.txt                       the traceback of a failed cell
        log.txt                         the cell's log lines, from whichever process ran it
    results.csv  metrics.json  summary.md  confusion/*.png     the report, rebuilt from the cells alone
    ranks/<dataset>.png  noise/<dataset>/<model>.png         its other figures (:meth:`RunStore.figure`)

A cell is finished when its ``metrics.json`` exists, the predictions file has the checksum recorded in it, and
everything else it claims is proven by what is stored (:meth:`RunStore.cell_problem`): it is a cell of the plan, was
scored on the split and data the manifest records, its predictions are of the split's test beats with the recorded
labels, and its scores are those its predictions give. Every file carries ``schema_version``; :func:`upgrade`
converts a run written by an older ecgbench.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import traceback
from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import (
    atomic_write,
    os_error_text,
    regular_file,
    sha256_array,
    sha256_file,
    write_json,
    write_text,
)
from ecgbench.run.records import (
    SCHEMA_VERSION,
    CellKey,
    CellResult,
    DatasetRecord,
    Failure,
    Manifest,
    SchemaVersionError,
)

NOT_RUN = "not run"
PREDICTIONS = "predictions.parquet"
CELL_METRICS = "metrics.json"
RESULTS_FLOAT_FORMAT = "%.6g"
MODEL_DIR = "model"  # the cell's fitted model and its card; the checksums of its files: metrics' model_sha256
MANIFEST_KEYS = ("suite", "datasets")  # the tables every reader of a manifest relies on
# A probability is stored as round(p * 65535) in a uint16 (schema 3): within half a step, 7.7e-6, of the model's,
# finer than any score needs, at a third of float32's bytes (docs/decisions.md, 2026-12-06: storage budget)
PROBABILITY_STEPS = 65535

log = logging.getLogger(__name__)


def read_json(path: Path) -> dict | list:
    """A JSON file of the store; a damaged one is named, never a bare traceback."""
    try:
        return json.loads(regular_file(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EcgbenchError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise EcgbenchError(f"{path} is damaged (not valid JSON: {exc})") from None


class RunStore:
    def __init__(self, root: str | Path):
        self.root = Path(root)
        # cell_problem's answers, per cell, with the state of the files they rest on: a report, compare or the
        # leaderboard read the same cells several times in one command, and proving them costs a full read each
        self._proofs: dict[CellKey, tuple[tuple, str | None]] = {}

    # ---- the manifest --------------------------------------------------------------------------------------------

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    def exists(self) -> bool:
        return regular_file(self.manifest_path).is_file()  # a FIFO there is refused, not taken for no run

    def read_manifest(self) -> Manifest:
        data = read_json(self.manifest_path)
        if not isinstance(data, dict):
            raise EcgbenchError(f"{self.manifest_path} is damaged (a JSON {type(data).__name__}, not a run's manifest)")
        wrong = [key for key in MANIFEST_KEYS if not isinstance(data.get(key), dict)]
        if wrong and data.get("schema_version", 1) == SCHEMA_VERSION:
            raise EcgbenchError(f"{self.manifest_path} is damaged: {' and '.join(wrong)} missing or not a table")
        manifest = self._from_json(Manifest, data, self.manifest_path)
        self._verify_suite(manifest)
        self._verify_evaluations(manifest)
        return manifest

    def _verify_evaluations(self, manifest: dict) -> None:
        """Each dataset's ``evaluation`` is what its dataset and split protocol make it: the leaderboard files a run
        under it and the reports warn by it (intra-patient: optimistic), so an edited one would pass intra-patient
        numbers off as inter-patient ones."""
        from ecgbench.core.evaluation import evaluation_of
        from ecgbench.data import dataset_spec

        for name, info in manifest.datasets.items():
            splits = info.splits
            if not splits or info.evaluation is None:
                continue
            try:
                spec = dataset_spec(name)
            except EcgbenchError:  # a plugin's dataset not installed here: nothing to check it against
                continue
            try:
                expected = evaluation_of(spec.evaluation, next(iter(splits.values()))["protocol"]).value
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise EcgbenchError(
                    f"{self.manifest_path} is damaged: dataset {name!r} has no split protocol "
                    f"({type(exc).__name__}: {exc})"
                ) from None
            if info.evaluation != expected:
                raise EcgbenchError(
                    f"{self.manifest_path} is damaged: dataset {name!r} is recorded as evaluated "
                    f"{info.evaluation!r}, but its data and split make it {expected!r}"
                )

    def _verify_suite(self, manifest: Manifest) -> None:
        """The suite that every reader trains or reports is the one the fingerprint (and the command) describes:
        an edited ``suite`` would otherwise change what a resumed run, ``run-cell`` or ``finish`` does."""
        from ecgbench.run.suite import Suite

        try:
            fingerprint = Suite(**manifest.suite).fingerprint()
        except (TypeError, ValueError) as exc:
            raise EcgbenchError(f"{self.manifest_path} is damaged: its suite is not a suite ({exc})") from None
        if fingerprint != manifest.suite_fingerprint:
            raise EcgbenchError(
                f"{self.manifest_path} is damaged: its suite does not match its suite_fingerprint "
                f"(the suite was edited after the run was planned); restore it, or start the run "
                f"over under another --run-id"
            )

    def planned_keys(self, manifest: Manifest | None = None) -> list[CellKey]:
        """Every cell of the run's plan, in run order, from its (verified) manifest alone."""
        from ecgbench.run.suite import Suite

        manifest = manifest or self.read_manifest()
        suite = Suite(**manifest.suite)
        datasets = manifest.datasets
        return [
            CellKey(dataset, split, model, seed)
            for dataset in suite.datasets
            for split in (datasets[dataset].splits if dataset in datasets else {})
            for model in suite.models
            for seed in suite.seeds_for(model)
        ]

    def write_manifest(self, manifest: Manifest) -> None:
        write_json(self.manifest_path, manifest.to_json())

    def _from_json(self, record: type[Manifest] | type[CellResult], data: dict, path: Path):
        """The typed record of a file of this run: another schema version is named with the command that converts
        the run, a key missing or of another shape as the file's damage."""
        try:
            return record.from_json(data, str(path))
        except SchemaVersionError as exc:
            raise EcgbenchError(
                f"{path} has schema version {exc.version}, this ecgbench reads {SCHEMA_VERSION}; "
                f"convert the run with `python -m ecgbench upgrade {self.root}`"
            ) from None
        except EcgbenchError as exc:
            raise EcgbenchError(f"{path} is damaged: {exc}") from None
        except (TypeError, AttributeError) as exc:
            raise EcgbenchError(f"{path} is damaged ({type(exc).__name__}: {exc})") from None

    # ---- splits --------------------------------------------------------------------------------------------------

    def splits_path(self, dataset: str) -> Path:
        return self.root / "splits" / f"{dataset}.npz"

    def save_splits(self, dataset: str, splits) -> None:
        """Every split's indices, so that any report can be recomputed on exactly the same beats."""
        arrays = {f"{s.name}_{part}": getattr(s, part) for s in splits for part in ("train", "val", "test")}
        write_npz(self.splits_path(dataset), {"schema_version": np.array(SCHEMA_VERSION), **arrays})

    def load_split(self, dataset: str, split: str, manifest: Manifest | None = None) -> dict[str, np.ndarray]:
        """A split's indices, proven to be the ones the run was planned with: disjoint parts inside the dataset,
        and (where the manifest records it) the checksum recorded at planning. An altered file is refused by name,
        never scored."""
        path = self.splits_path(dataset)
        try:
            with np.load(regular_file(path), allow_pickle=False) as saved:  # a run folder never runs code
                parts = {part: saved[f"{split}_{part}"] for part in ("train", "val", "test")}
        except FileNotFoundError:
            raise EcgbenchError(f"{path} is missing: plan the run first (python -m ecgbench run ...)") from None
        except KeyError:
            raise EcgbenchError(f"{path} holds no split {split!r}") from None
        except Exception as exc:  # a damaged file: OSError, ValueError, zipfile.BadZipFile, EOFError...
            raise EcgbenchError(f"{path} is damaged: {exc}") from None
        manifest = manifest if manifest is not None else (self.read_manifest() if self.exists() else None)
        info = manifest.datasets.get(dataset) if manifest is not None else None
        info = info or DatasetRecord()
        check_split(path, split, parts, info.n_beats)
        recorded = info.splits.get(split, {}).get("sha256")
        if recorded and split_checksum(parts) != recorded:
            raise EcgbenchError(
                f"{path}: split {split!r} is not the one this run was planned with (its checksum "
                "differs from the one in manifest.json): the file was altered; its cells are not "
                "scored. Rerun the run's command with its --run-id to rewrite it from the data"
            )
        return parts

    # ---- cells ---------------------------------------------------------------------------------------------------

    def cell_dir(self, key: CellKey) -> Path:
        return self.root / "cells" / key.dataset / key.split / key.model / f"seed{key.seed}"

    def cell_problem(self, key: CellKey, manifest: Manifest | None = None) -> str | None:
        """Why a stored cell cannot be used as finished: None where everything it claims is proven by what is
        stored, ``NOT_RUN`` where it has no metrics. Proven: the predictions are the file its metrics were computed
        from (checksum); it is the cell of its folder; where the manifest records them (runs planned since
        2026-12-06), the split checksum, data fingerprint and test-label checksum the cell was scored on are the
        manifest's; its predictions are of the split's test beats, in order; and every score it stores is the one
        its predictions give. An altered splits file is raised (the whole run's problem), not returned."""
        folder = self.cell_dir(key)
        if not (folder / CELL_METRICS).is_file():
            return NOT_RUN
        try:
            data = read_json(folder / CELL_METRICS)
        except EcgbenchError as exc:
            return str(exc)
        if not isinstance(data, dict):
            return f"{folder / CELL_METRICS} is damaged (a JSON {type(data).__name__}, not a cell's metrics)"
        if data.get("schema_version", 1) != SCHEMA_VERSION:  # the whole run needs converting: raised, not returned
            self._from_json(CellResult, data, folder / CELL_METRICS)
        try:
            metrics = self._from_json(CellResult, data, folder / CELL_METRICS)
        except EcgbenchError as exc:
            return str(exc)
        predictions = folder / PREDICTIONS
        if not predictions.is_file():
            return f"{predictions} is missing"
        if metrics.predictions_sha256 != sha256_file(predictions):
            return f"{predictions} is not the file its metrics were computed from (checksum differs)"
        if isinstance(metrics.model_sha256, dict):  # a stored model is part of the cell: a tampered one too
            from ecgbench.models.saving import checksum_problem

            problem = checksum_problem(folder / MODEL_DIR, metrics.model_sha256)
            if problem:
                return problem
        if manifest is None and not self.exists():
            return None  # a bare cell folder (no run around it): nothing more to prove it against
        manifest = manifest if manifest is not None else self.read_manifest()
        info = manifest.datasets.get(key.dataset)
        state = (self._files_state(key), json.dumps(info and info.to_dict(), sort_keys=True, default=str))
        cached = self._proofs.get(key)
        if cached is not None and cached[0] == state:
            return cached[1]
        try:
            problem = self._cell_evidence_problem(key, metrics, manifest)
        except (KeyError, TypeError, ValueError, IndexError) as exc:  # a key or value edited into another shape
            problem = f"{folder / CELL_METRICS} is damaged ({type(exc).__name__}: {exc})"
        self._proofs[key] = (state, problem)
        return problem

    def _files_state(self, key: CellKey) -> tuple:
        """What identifies the files a cell's proof reads: any rewrite (atomic: a new inode) or edit changes it."""
        paths = (self.cell_dir(key) / CELL_METRICS, self.cell_dir(key) / PREDICTIONS, self.splits_path(key.dataset))
        state = []
        for path in paths:
            try:
                st = path.stat()
                state.append((st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            except OSError:
                state.append(None)
        return tuple(state)

    def _cell_evidence_problem(self, key: CellKey, metrics: CellResult, manifest: Manifest) -> str | None:
        from ecgbench.core.metrics import classification_metrics

        where = self.cell_dir(key) / CELL_METRICS
        if metrics.key != key:
            return f"{where} describes cell {metrics.key.id}, not the cell of its folder"
        info = manifest.datasets.get(key.dataset)
        if info is None or key.split not in info.splits:
            return f"{key.dataset}/{key.split} is not a dataset and split of this run's manifest"
        planned = info.splits[key.split]
        recorded = {
            "split_sha256": planned.get("sha256"),
            "data_fingerprint": info.fingerprint,
            "test_labels_sha256": planned.get("test_labels_sha256"),
        }
        for field, expected in recorded.items():
            # a run planned since cells record them: each must be there and equal; an older run's cells may lack
            # them (then the index and label checks below still hold them to the split)
            stored = getattr(metrics, field)
            if stored is not None or info.cells_carry_checksums:
                if stored != expected:
                    what = {"split_sha256": "split", "data_fingerprint": "data", "test_labels_sha256": "test labels"}[
                        field
                    ]
                    return (
                        f"it was scored on other {what} than the run's manifest and splits record "
                        f"({field} {str(stored)[:12]} vs {str(expected)[:12]})"
                    )
        if list(metrics.classes) != list(info.classes):
            return f"its classes {metrics.classes} are not the dataset's {info.classes}"
        for name, expected in (("protocol", planned.get("protocol")), ("synthetic", info.synthetic)):
            stored = getattr(metrics, name)
            if stored is not None and expected is not None and stored != expected:
                return f"its {name} {stored!r} is not the run's ({expected!r})"
        split = self.load_split(key.dataset, key.split, manifest)
        try:
            frame = self.predictions(key)
        except EcgbenchError as exc:
            return str(exc)
        index = frame["index"].to_numpy()
        if len(index) != len(split["test"]) or not np.array_equal(index, split["test"]):
            return (
                f"its predictions are not of the split's test beats (their index column differs from "
                f"{self.splits_path(key.dataset).name}'s {key.split}_test)"
            )
        y_true, y_pred = frame["y_true"].to_numpy(np.int64), frame["y_pred"].to_numpy(np.int64)
        if planned.get("test_labels_sha256") and labels_checksum(y_true) != planned["test_labels_sha256"]:
            return "its predictions' true labels (y_true) are not the test labels the run's manifest records"
        # record ids choose the bootstrap's resampling unit and the missed-beats tables, a text column such as
        # the beats' conditions what is scored apart: data, like the labels
        records = beats_checksum(frame.get("group"), beat_columns(frame))
        if planned.get("test_records_sha256", records) != records:
            return (
                "its predictions' record ids or conditions (group, text columns) are not those of the test "
                "beats the run's manifest records"
            )
        k = len(metrics.classes)
        if len(y_true) and (y_true.min() < 0 or y_true.max() >= k or y_pred.min() < 0 or y_pred.max() >= k):
            return "its predictions hold class numbers outside its classes"
        proba = frame[[f"p_{c}" for c in metrics.classes]].to_numpy(np.float64)
        problem = probability_problem(proba, y_pred)
        if problem:
            return problem
        expected = {
            **classification_metrics(y_true, y_pred, tuple(metrics.classes)),
            "n_test": len(split["test"]),
            "n_train": len(split["train"]),
            "n_val": len(split["val"]),
        }
        for name, value in expected.items():
            stored = getattr(metrics, name)
            if stored is not None and stored != value or stored is None and name in SCORE_KEYS:
                return (
                    f"its {name} in {CELL_METRICS} is not what its predictions give (stored "
                    f"{_short(stored)}, recomputed {_short(value)}): the metrics were altered"
                )
        return None

    def cell_finished(self, key: CellKey, manifest: Manifest | None = None) -> bool:
        problem = self.cell_problem(key, manifest)
        if problem not in (None, NOT_RUN):
            log.warning("cell %s: %s; it is computed again", key.id, problem)
        return problem is None

    def write_cell(
        self, key: CellKey, predictions: pd.DataFrame, metrics: CellResult, model=None, card: dict | None = None
    ) -> None:
        """The cell's predictions, its fitted ``model`` and ``card`` where given (``model/``, checksummed in the
        metrics as ``model_sha256``), then its metrics."""
        folder = self.cell_dir(key)
        write_predictions(folder / PREDICTIONS, predictions)
        (folder / "error.txt").unlink(missing_ok=True)
        model_sha256 = metrics.model_sha256
        if model is not None:
            try:
                model_sha256 = write_model_folder(folder / MODEL_DIR, model, card)
            except NotImplementedError as exc:  # a plugin that neither implements _save nor declares saved_by_pickle
                log.warning("cell %s: its model is not stored: %s", key.id, exc)
        # A model of an earlier computation must not stand beside these predictions; metrics that carry their
        # model's checksums (upgrade rewrites a cell's files) keep it, and cell_problem proves it against them.
        if model_sha256 is None:
            remove_tree(folder / MODEL_DIR)
        stored = dataclasses.replace(
            metrics, predictions_sha256=sha256_file(folder / PREDICTIONS), model_sha256=model_sha256
        )
        write_json(folder / CELL_METRICS, stored.to_json())

    def model_dir(self, key: CellKey) -> Path:
        return self.cell_dir(key) / MODEL_DIR

    def lock(self):
        """The run's lock (``lock.json``): one client per run folder (:mod:`ecgbench.run.locks`)."""
        from ecgbench.run.locks import FileLock

        return FileLock(self.root / "lock.json", f"run folder {self.root}")

    def cell_lock(self, key: CellKey):
        """One cell's lock, for ``run-cell``: a job array runs each cell once at a time."""
        from ecgbench.run.locks import FileLock

        return FileLock(self.cell_dir(key) / "lock.json", f"cell {key.id} of {self.root}")

    def write_failure(self, key: CellKey, exc: BaseException) -> Failure:
        """The traceback into the cell's ``error.txt``; returns the failure as a record for the manifest."""
        folder = self.cell_dir(key)
        for stale in (CELL_METRICS, PREDICTIONS):  # an earlier result of this cell must not stand beside its failure
            (folder / stale).unlink(missing_ok=True)
        remove_tree(folder / MODEL_DIR)
        write_text(folder / "error.txt", "".join(traceback.format_exception(exc)))
        return Failure.of(key.id, exc)

    def cells(self) -> list[dict]:
        """The metrics of every finished cell of the plan, in the order of their folders, each proven against its
        predictions, split and data (:meth:`cell_problem`); a damaged cell, and a folder the plan does not hold
        (copied under another name, another seed or model), is left out with a warning, never used."""
        manifest = self.read_manifest()
        planned = set(self.planned_keys(manifest))
        cells = []
        for path in sorted((self.root / "cells").glob(f"*/*/*/*/{CELL_METRICS}")):
            cell_id = "/".join(path.parts[-5:-1])
            try:
                key = CellKey.from_id(cell_id)
            except EcgbenchError:
                key = None
            if key not in planned:
                log.warning("cell folder %s is not a cell of this run's plan; it is ignored", path.parent)
                continue
            problem = self.cell_problem(key, manifest)
            if problem is None:
                cells.append(read_json(path))
            else:
                log.warning("cell %s is left out of the report: %s", key.id, problem)
        return cells

    def predictions(self, key: CellKey) -> pd.DataFrame:
        return read_predictions(self.cell_dir(key) / PREDICTIONS)

    # ---- the report ----------------------------------------------------------------------------------------------

    @property
    def results_path(self) -> Path:
        return self.root / "results.csv"

    def write_results(self, table: pd.DataFrame, cells: list[dict]) -> None:
        table = table.assign(schema_version=SCHEMA_VERSION)
        atomic_write(self.results_path, lambda tmp: table.to_csv(tmp, index=False, float_format=RESULTS_FLOAT_FORMAT))
        write_json(self.root / "metrics.json", {"schema_version": SCHEMA_VERSION, "cells": cells})

    def read_results(self) -> pd.DataFrame:
        """The report's flat table; a damaged, truncated or foreign one is named, never read as fewer rows."""
        path = self.results_path
        try:
            table = pd.read_csv(regular_file(path))
            ends_a_line = _last_byte(path) == b"\n"
        except FileNotFoundError:
            raise EcgbenchError(f"{self.root} is not a finished run: results.csv is missing") from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise EcgbenchError(f"{path} is damaged: {str(exc).strip()}") from None
        except OSError as exc:
            raise EcgbenchError(f"{path} cannot be read: {os_error_text(exc, file=False)}") from None
        missing = {"dataset", "model", "seed", "split", "schema_version"} - set(table.columns)
        if missing:
            raise EcgbenchError(
                f"{path} is damaged or from an older ecgbench: it lacks column(s) {', '.join(sorted(missing))}"
            )
        incomplete = table.index[table["schema_version"].ne(SCHEMA_VERSION)]
        if not ends_a_line or len(incomplete):
            row = incomplete[0] + 2 if len(incomplete) else len(table) + 1
            raise EcgbenchError(
                f"{path} is damaged (truncated or altered at line {row}); rebuild the report with "
                f"`python -m ecgbench upgrade {self.root}`"
            )
        report = self.root / "metrics.json"
        cells = read_json(report) if report.is_file() else {}
        cells = cells.get("cells", []) if isinstance(cells, dict) else []
        if report.is_file() and len(cells) != len(table):
            raise EcgbenchError(
                f"{path} is damaged: {len(table)} row(s), but {report} lists {len(cells)} cell(s); "
                f"rebuild the report with `python -m ecgbench upgrade {self.root}`"
            )
        return table

    def write_summary(self, text: str) -> None:
        write_text(self.root / "summary.md", text)

    def heatmap_path(self, key: CellKey) -> Path:
        return self.root / "confusion" / f"{key.dataset}_{key.split}_{key.model}_seed{key.seed}.png"

    def figure(self, kind: str, *names: str) -> Path:
        """A figure of the report, relative to the run folder (as summary.md links it): ``ranks/<dataset>.png``,
        ``noise/<dataset>/<model>.png``."""
        return Path(kind, *names[:-1], f"{names[-1]}.png")


SCORE_KEYS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "per_class", "confusion")


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def split_checksum(parts: dict[str, np.ndarray]) -> str:
    """The checksum of a split's train / val / test indices (their sizes first, so no index can move between
    parts unnoticed); recorded in the manifest when the run is planned, and in each cell scored on it."""
    arrays = [np.ascontiguousarray(parts[p], dtype=np.int64) for p in ("train", "val", "test")]
    return sha256_array(np.array([len(a) for a in arrays], dtype=np.int64), *arrays)


def labels_checksum(labels) -> str:
    """The checksum of a split's test labels, as class numbers."""
    return sha256_array(np.ascontiguousarray(labels, dtype=np.int64))


def beats_checksum(groups, columns: dict) -> str | None:
    """The checksum of the test beats' record ids and of their per-beat text columns (a beat's test condition:
    data the cell is scored by, like its labels), as text (the predictions keep the dataset's types), or None
    where the dataset has neither. Numeric columns (a beat's position in its record) are not data: left out."""
    text = {name: values for name, values in sorted(columns.items()) if np.asarray(values).dtype.kind in "OUS"}
    if groups is None and not text:
        return None
    digest = hashlib.sha256()
    for name, values in ({"group": groups} | text).items():
        if values is not None:
            digest.update(f"{name}:{len(values)}\n".encode())
            digest.update("\n".join(map(str, np.asarray(values).tolist())).encode())
    return digest.hexdigest()


PREDICTION_COLUMNS = ("index", "group", "y_true", "y_pred")  # beside the probabilities p_<class>


def beat_columns(frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The per-beat columns of a dataset (``Dataset.columns``) that a predictions file keeps."""
    return {c: frame[c] for c in frame.columns if c not in PREDICTION_COLUMNS and not c.startswith("p_")}


def check_split(path: Path, split: str, parts: dict[str, np.ndarray], n_beats: int | None) -> None:
    """Train, validation and test are disjoint sets of beat indices inside the dataset: a test beat that is also
    trained on would be scored as unseen."""
    for name, part in parts.items():
        if part.ndim != 1 or not np.issubdtype(part.dtype, np.integer):
            raise EcgbenchError(f"{path}: split {split!r} {name} is not a list of beat indices")
        if len(np.unique(part)) != len(part):
            raise EcgbenchError(f"{path}: split {split!r} lists a beat twice in its {name} part")
        if len(part) and (part.min() < 0 or (n_beats is not None and part.max() >= n_beats)):
            raise EcgbenchError(f"{path}: split {split!r} {name} holds indices outside the dataset's {n_beats} beats")
    for a, b in (("train", "test"), ("val", "test"), ("train", "val")):
        shared = np.intersect1d(parts[a], parts[b])
        if len(shared):
            raise EcgbenchError(
                f"{path}: split {split!r} puts {len(shared)} beat(s) in both {a} and {b} (e.g. "
                f"beat {shared[0]}); the parts must be disjoint: the file was altered"
            )


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

    from ecgbench.models.cards import CARD_JSON, CARD_MD, card_markdown
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
    from ecgbench.core.io import _UMASK

    return _UMASK


def write_npz(path: Path, arrays: dict) -> None:
    def write(tmp: Path):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, write)


def probability_problem(proba: np.ndarray, y_pred: np.ndarray) -> str | None:
    """Why stored probabilities cannot be a cell's, or None. Each is within half a step of the model's: a row sums
    to 1 within a half step per class (beside the model's own float32 rounding), and y_pred, the argmax of the
    model's probabilities, is the maximum of the stored ones within one step (a near-tie may round to a tie or
    flip)."""
    step = 1 / PROBABILITY_STEPS
    if (np.abs(proba.sum(axis=1) - 1) > 1e-4 + proba.shape[1] * step / 2).any():
        return "its probabilities are not probabilities (each row must sum to 1)"
    if len(y_pred) and (proba[np.arange(len(y_pred)), y_pred] < proba.max(axis=1) - step).any():
        return "its predicted labels (y_pred) are not the argmax of its probabilities"
    return None


def stored_probabilities(proba) -> np.ndarray:
    """The probabilities as a predictions file gives them back: rounded to steps of 1/65535 (float rounding
    outside [0, 1] clipped)."""
    return quantised(proba) / PROBABILITY_STEPS


def quantised(proba) -> np.ndarray:
    proba = np.asarray(proba, dtype=np.float64)
    if not np.isfinite(proba).all():
        raise EcgbenchError("the model gave probabilities that are not finite (NaN or infinity); nothing was stored")
    return np.rint(np.clip(proba, 0, 1) * PROBABILITY_STEPS).astype(np.uint16)


def write_predictions(path: Path, predictions: pd.DataFrame) -> None:
    """Typed, compressed columns: probabilities in uint16 steps (:data:`PROBABILITY_STEPS`), split by byte for
    zstd; indices and R-peak samples as deltas; labels and record ids dictionary-encoded."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    probabilities = [c for c in predictions if c.startswith("p_")]
    frame = predictions.astype({"y_true": "int16", "y_pred": "int16", "index": "int64"})
    frame[probabilities] = quantised(predictions[probabilities].to_numpy())
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata({**table.schema.metadata, b"ecgbench_schema_version": b"%d" % SCHEMA_VERSION})
    encodings = {c: "BYTE_STREAM_SPLIT" for c in probabilities} | {
        c: "DELTA_BINARY_PACKED" for c in ("index", "sample") if c in frame
    }
    atomic_write(
        path,
        lambda tmp: pq.write_table(
            table,
            tmp,
            compression="zstd",
            compression_level=19,
            use_dictionary=[c for c in frame if c not in encodings],
            column_encoding=encodings,
        ),
    )


def read_predictions(path: Path) -> pd.DataFrame:
    """A predictions file, its probabilities as float64 (the stored steps divided by :data:`PROBABILITY_STEPS`);
    a file of another schema is refused with the command that converts its run."""
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(regular_file(path))
    except FileNotFoundError:
        raise EcgbenchError(f"{path} is missing") from None
    except Exception as exc:  # pyarrow's errors on a damaged file are of several types
        raise EcgbenchError(f"{path} is damaged: {exc}") from None
    version = (table.schema.metadata or {}).get(b"ecgbench_schema_version", b"1").decode()
    if version != str(SCHEMA_VERSION):
        raise EcgbenchError(
            f"{path} has schema version {version}, this ecgbench reads {SCHEMA_VERSION}; "
            f"convert its run with `python -m ecgbench upgrade RUN`"
        )
    frame = table.to_pandas()
    probabilities = [c for c in frame if c.startswith("p_")]
    frame[probabilities] = frame[probabilities].to_numpy(np.float64) / PROBABILITY_STEPS
    return frame


def predictions_frame(index, y_true, proba: np.ndarray, classes, groups=None, columns=None) -> pd.DataFrame:
    """The predictions of one cell: the beats' indices, record ids where known, the dataset's per-beat columns
    (``Dataset.columns``, by their names) where it has them, labels and probabilities."""
    frame = pd.DataFrame({"index": index})
    if groups is not None:  # record ids: the summary shows which records hold the missed beats
        frame["group"] = groups
    for name, values in (columns or {}).items():
        frame[name] = values
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


# ---- older runs ----------------------------------------------------------------------------------------------------

CELL_DEFAULTS = {
    "peak_memory_mb": None,
    "peak_memory_scope": None,
    "baseline_f1_macro": None,
    "commit": None,
    "context_features": [],
}  # keys that schema-1 cells written by early versions may lack


SCHEMA_2_PREDICTIONS = "predictions.schema2.parquet"  # a schema-2 cell's float32 predictions while it is converted


def upgrade(store: RunStore) -> int:
    """Convert a run of an older schema to the current one, in place; return the number of cells converted. Schema 1
    (CSV predictions, protocol as prose) and schema 2 (float32 probabilities) convert alike: each cell's metrics are
    recomputed from its predictions and must equal the stored ones, and its probabilities, rounded to the stored
    steps, must still give its y_pred, so the conversion provably changes no score. The report is not rebuilt here.

    All or nothing: every cell is read and checked before anything is written, so a refused cell leaves the run as
    it was; then each step can be done again (the splits rewritten, a cell converted anew from its old predictions,
    which are removed only after its new files are in place), and the manifest, written last, is what makes the run
    current. So an upgrade stopped midway (a full disk, a kill) leaves a run that the same command finishes."""
    manifest = read_json(store.manifest_path)
    if not isinstance(manifest, dict):
        raise EcgbenchError(f"{store.manifest_path} is damaged (not a run's manifest)")
    version = manifest.get("schema_version", 1)
    if version == SCHEMA_VERSION:
        return 0
    try:
        split_protocol = manifest["suite"]["split"]["protocol"]
        datasets = manifest["datasets"].items()
    except (KeyError, TypeError):
        raise EcgbenchError(f"{store.manifest_path} is damaged: no suite split protocol or datasets") from None
    # 1. read and check everything; nothing is written yet
    todo, done = [], []
    for path in sorted((store.root / "cells").glob(f"*/*/*/seed*/{CELL_METRICS}")):
        metrics = read_json(path)
        source = _old_predictions(path.parent, metrics)
        if source is None:
            done.append(path.parent)  # converted by an earlier upgrade that stopped before the manifest
            continue
        metrics = {**CELL_DEFAULTS, **metrics} if version == 1 else metrics
        todo.append((metrics, _checked_old_predictions(source, metrics), source))
    # 2. write: every step repeatable, the manifest last
    if version == 1:
        from ecgbench.core.evaluation import evaluation_of
        from ecgbench.data import dataset_spec

        for name, info in datasets:
            protocols = {s["protocol"] for s in info["splits"].values()} or {split_protocol}
            info["evaluation"] = evaluation_of(dataset_spec(name).evaluation, protocols.pop()).value
    for name, _ in datasets:
        with np.load(regular_file(store.splits_path(name)), allow_pickle=False) as saved:
            arrays = dict(saved)
        write_npz(store.splits_path(name), {**arrays, "schema_version": np.array(SCHEMA_VERSION)})
    manifest["failures"] = [Failure.from_json(f).to_json() for f in manifest.get("failures", [])]
    for metrics, predictions, source in todo:
        if source.name == PREDICTIONS:  # kept under another name until the converted cell is in place
            source = source.rename(source.with_name(SCHEMA_2_PREDICTIONS))
        result = CellResult.from_dict(
            {k: v for k, v in metrics.items() if k not in ("schema_version", "predictions_sha256")}
        )
        store.write_cell(result.key, predictions, result)
        source.unlink()
    for folder in done:  # old predictions left beside a converted cell by an upgrade stopped right after it
        for leftover in ("predictions.csv", SCHEMA_2_PREDICTIONS):
            (folder / leftover).unlink(missing_ok=True)
    from ecgbench.core.environment import git_commit, now

    upgrades = manifest.setdefault("upgrades", [])
    upgrades.append({"from_schema": version, "to_schema": SCHEMA_VERSION, "at": now(), **git_commit()})
    store.write_manifest(Manifest.from_dict({k: v for k, v in manifest.items() if k != "schema_version"}))
    return len(todo) + len(done)


def _old_predictions(folder: Path, metrics: dict) -> Path | None:
    """The predictions file a cell of an older schema is converted from; None where the cell is converted already."""
    current = folder / PREDICTIONS
    if metrics.get("schema_version") == SCHEMA_VERSION:
        if current.is_file() and metrics.get("predictions_sha256") == sha256_file(current):
            return None
        raise EcgbenchError(f"{folder}: its metrics are converted but its predictions are not theirs; not converted")
    for source in (folder / "predictions.csv", folder / SCHEMA_2_PREDICTIONS, current):
        if source.is_file():
            return source
    raise EcgbenchError(f"{folder}: no predictions to convert; nothing was converted")


def _checked_old_predictions(source: Path, metrics: dict) -> pd.DataFrame:
    """An older cell's predictions, proven to give its stored scores, and the same y_pred once rounded to the
    stored probability steps."""
    from ecgbench.core.metrics import classification_metrics

    if source.suffix == ".parquet" and metrics.get("predictions_sha256") != sha256_file(source):
        raise EcgbenchError(f"{source} is not the file its metrics were computed from; nothing was converted")
    try:
        predictions = pd.read_csv(regular_file(source)) if source.suffix == ".csv" else pd.read_parquet(source)
        recomputed = classification_metrics(
            predictions["y_true"].to_numpy(), predictions["y_pred"].to_numpy(), tuple(metrics["classes"])
        )
        proba = stored_probabilities(predictions[[f"p_{c}" for c in metrics["classes"]]].to_numpy())
    except (KeyError, ValueError, OSError, EcgbenchError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise EcgbenchError(f"{source} is damaged ({type(exc).__name__}: {exc}); nothing was converted") from None
    for name, value in recomputed.items():
        if metrics.get(name) != value:
            raise EcgbenchError(
                f"{source}: {name} recomputed from the predictions is {value}, the stored one "
                f"{metrics.get(name)}; nothing was converted"
            )
    problem = probability_problem(proba, predictions["y_pred"].to_numpy())
    if problem:
        raise EcgbenchError(f"{source}: rounded to the stored steps, {problem}; nothing was converted")
    return predictions
