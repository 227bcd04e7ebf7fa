"""The runner: plan a run, then execute its cells.

:func:`plan_run` loads each dataset once, checks every model's data-dependent parameters against it, saves the
splits and the manifest, and returns the cells not yet finished, each a :class:`~ecgbench.run.store.CellKey` of names
only. :func:`run_cell` runs one cell in any process from its key, the run folder and the data directory: it reloads
its dataset (through the beat cache), checks that it is the data the run was planned on, reads its indices from the
saved splits, trains, predicts and stores the cell. An executor (:mod:`ecgbench.run.executors`) runs the list.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecgbench.core.environment import git_commit, machine, now, versions
from ecgbench.core.errors import EcgbenchError, Terminated, blame_the_model, signal_name
from ecgbench.core.evaluation import evaluation_of
from ecgbench.core.io import STORAGE_ERRNOS, os_error_text, sha256_array, writable_folder
from ecgbench.core.memory import PeakMemory
from ecgbench.core.metrics import binary_metrics, classification_metrics, majority_baseline
from ecgbench.core.progress import cell_log
from ecgbench.core.threads import pinned
from ecgbench.data import CONDITION, Dataset, dataset_spec, load_dataset
from ecgbench.models import build, check_plugins_unchanged, model_class, plugin_record
from ecgbench.run.locks import FileLock
from ecgbench.run.records import CellKey, CellResult, DatasetRecord, Invocation, Manifest, Stop
from ecgbench.run.splits import make_splits, stratified_partition
from ecgbench.run.store import (
    RunStore,
    beats_checksum,
    labels_checksum,
    predictions_frame,
    split_checksum,
    stored_probabilities,
)
from ecgbench.run.suite import Suite

log = logging.getLogger(__name__)


@dataclass
class Plan:
    store: RunStore
    suite: Suite
    data_dir: Path | None
    manifest: Manifest
    cells: list[CellKey]  # every cell of the suite, in run order
    pending: list[CellKey]  # those not finished yet
    datasets: dict[str, Dataset] = field(default_factory=dict)  # loaded while planning, for in-process executors
    lock: FileLock | None = (
        None  # the run folder's lock, held from planning to the report (ecgbench.workflow.run_suite releases it)
    )


# ---- data --------------------------------------------------------------------------------------------------------


def subsample(dataset: Dataset, max_beats: int, seed: int) -> Dataset:
    """A stratified subsample of about ``max_beats`` beats, keeping a predefined split's sides apart; test
    conditions that score the same beats keep the same beats (:func:`_paired_subsample`)."""
    if len(dataset.y) <= max_beats:
        return dataset
    rng = np.random.default_rng(seed)
    if CONDITION in dataset.columns and dataset.predefined_split is not None:
        keep = _paired_subsample(dataset, max_beats / len(dataset.y), rng)
    else:
        keep, _ = stratified_partition(dataset.y, 1 - max_beats / len(dataset.y), rng)
    predefined = None
    if dataset.predefined_split is not None:
        # keep is sorted, so a kept beat's new index is its position in keep
        predefined = tuple(np.searchsorted(keep, part[np.isin(part, keep)]) for part in dataset.predefined_split)
    provenance = {**dataset.provenance, "subsample": {"max_beats": max_beats, "seed": seed}}
    return dataset.subset(keep, predefined_split=predefined, provenance=provenance)


def _paired_subsample(dataset: Dataset, fraction: float, rng: np.random.Generator) -> np.ndarray:
    """The sorted indices of ``fraction`` of a dataset with test conditions (the noise track): a stratified
    subsample of the training beats, and of each condition group's (``DS2``, ``nstdb``) first condition, whose
    positions every other condition of the group keeps too, so that the conditions still compare the same clean
    beats. A group whose conditions hold different beats (R peaks re-detected: not paired anyway) is subsampled
    condition by condition."""
    train, test = dataset.predefined_split
    kept = [train[stratified_partition(dataset.y[train], 1 - fraction, rng)[0]]]
    names = dataset.columns[CONDITION][test]
    rows = {name: test[names == name] for name in dict.fromkeys(names.tolist())}
    groups: dict[str, list[str]] = {}
    for name in rows:
        groups.setdefault(name.split("/", 1)[0], []).append(name)
    for members in groups.values():
        first = rows[members[0]]
        paired = all(
            len(rows[m]) == len(first)
            and np.array_equal(dataset.y[rows[m]], dataset.y[first])
            and (dataset.groups is None or np.array_equal(dataset.groups[rows[m]], dataset.groups[first]))
            for m in members
        )
        if paired:
            positions = stratified_partition(dataset.y[first], 1 - fraction, rng)[0]
            kept += [rows[m][positions] for m in members]
        else:
            kept += [rows[m][stratified_partition(dataset.y[rows[m]], 1 - fraction, rng)[0]] for m in members]
    return np.sort(np.concatenate(kept))


def suite_dataset(suite: Suite, name: str, data_dir: Path | None) -> Dataset:
    """Dataset ``name`` as the suite's cells see it: its parameters applied, subsampled where the suite says."""
    dataset = load_dataset(name, data_dir, **suite.params_for_dataset(name))
    return subsample(dataset, suite.max_beats, suite.split["seed"]) if suite.max_beats else dataset


def data_fingerprint(dataset: Dataset) -> str:
    """The checksum of exactly what the models see: beats, labels, record ids and context."""
    arrays = [dataset.X, dataset.y]
    arrays += [a for a in (dataset.groups, dataset.context) if a is not None]
    return sha256_array(*(np.ascontiguousarray(a) for a in arrays))


def context_columns(dataset: Dataset, model_name: str) -> int:
    """How many context columns the model gets: the dataset's, where it has them and the model takes them."""
    if dataset.context is None or not model_class(model_name).uses_context:
        return 0
    return dataset.context.shape[1]


def model_input(dataset: Dataset, model_name: str) -> tuple[np.ndarray, int]:
    """The beats, followed by the dataset's context columns where the model gets them."""
    columns = context_columns(dataset, model_name)
    return (np.hstack([dataset.X, dataset.context]) if columns else dataset.X), columns


# ---- plan --------------------------------------------------------------------------------------------------------


def suite_cells(suite: Suite, splits_by_dataset: dict[str, list[str]]) -> list[CellKey]:
    return [
        CellKey(dataset, split, model, seed)
        for dataset in suite.datasets
        for split in splits_by_dataset[dataset]
        for model in suite.models
        for seed in suite.seeds_for(model)
    ]


def plan_run(suite: Suite, run_dir: Path, data_dir: Path | None, command: str, save_models: bool = True) -> Plan:
    """Open (or resume) the run folder and list its cells; nothing is trained here.

    Every dataset is loaded and checked before anything is written, so a data error leaves no run folder behind.
    Then the run folder's lock is taken (``plan.lock``; a second client is refused), to be released once the run
    is over, and the splits and the manifest are written under it."""
    store = RunStore(writable_folder(run_dir, "run folder"))  # checked, not created
    if store.exists():  # a run of another suite is refused before any data loads; again below, under the lock
        resumable_manifest(store, suite)
    datasets = {name: suite_dataset(suite, name, data_dir) for name in suite.datasets}
    splits = {}
    for name, dataset in datasets.items():
        for model_name in suite.models:  # values that depend on the data (prior_weights: one per class) fail here
            model = build(
                model_name,
                n_classes=dataset.n_classes,
                n_context=context_columns(dataset, model_name),
                **suite.params_for_model(model_name),
            )
            if model.uses_groups and dataset.groups is None:
                raise EcgbenchError(
                    f"model {model_name!r} needs the record id of every beat (record_normalisation = true), "
                    f"which dataset {name!r} does not have"
                )
        splits[name] = make_splits(dataset, **split_settings(suite, name))
        refuse_empty_parts(name, dataset, splits[name], suite)
        label = " (SYNTHETIC)" if dataset.synthetic else ""
        log.info(
            "dataset %s%s: %d beats %s; %s",
            name,
            label,
            len(dataset.y),
            dataset.class_counts(),
            ", ".join(
                f"{s.name} split: train {len(s.train)} / val {len(s.val)} / test {len(s.test)}" for s in splits[name]
            ),
        )
    new_folder = not store.root.exists()
    lock = store.lock().acquire()
    try:
        manifest = open_manifest(store, suite, command)
        manifest.save_models = bool(save_models)  # whether cells store their fitted models (run --no-models)
        for name, dataset in datasets.items():
            fingerprint = data_fingerprint(dataset)
            previous = manifest.datasets.get(name)
            planned = previous and previous.fingerprint
            if planned and planned != fingerprint:
                raise EcgbenchError(
                    f"{run_dir}: the data of dataset {name!r} differ from those this run was started "
                    "on (files replaced or preprocessing changed); choose another --run-id, or "
                    "delete the folder to start it over"
                )
            record = dataset_record(dataset, splits[name], suite, fingerprint)
            # cells of a run planned before cells recorded their split, data and label checksums lack them: they
            # are still proven by their index and labels against the split, never recomputed for the lack
            record.cells_carry_checksums = bool(previous is None or previous.cells_carry_checksums)
            manifest.datasets[name] = record
            store.save_splits(name, splits[name])
        store.write_manifest(manifest)
    except BaseException:
        lock.release()
        if new_folder:  # only this client wrote into it: it held the lock
            shutil.rmtree(store.root, ignore_errors=True)
        raise
    cells = suite_cells(suite, {name: [s.name for s in parts] for name, parts in splits.items()})
    pending = [cell for cell in cells if not store.cell_finished(cell, manifest)]
    return Plan(store, suite, data_dir, manifest, cells, pending, datasets, lock)


def split_settings(suite: Suite, name: str) -> dict:
    """The suite's [split] settings for dataset ``name``: protocol "auto" becomes the protocol the dataset declares
    (mitdb-ds1: group-kfold), so that neither ``run --all`` nor ``--quick`` changes how a dataset is split."""
    settings = dict(suite.split)
    if settings["protocol"] == "auto":
        settings["protocol"] = dataset_spec(name).split_protocol
    return settings


def refuse_empty_parts(name: str, dataset: Dataset, splits, suite: Suite) -> None:
    """Refuse, before anything is written, a split whose training part is empty or holds a single class, or whose
    test part (or one of its test conditions) is empty: its cells would store NaN metrics, or fail, in every
    model. Small files and subsampling (``max_beats``, ``--quick``) are how this happens."""
    if suite.max_beats:
        how = f"max_beats = {suite.max_beats:,}{' (--quick)' if suite.quick else ''} keeps {len(dataset.y):,} beats"
        fix = "raise max_beats (in the suite file), or run without --quick"
    else:
        how = f"the dataset holds {len(dataset.y):,} beats"
        fix = "give it more beats (its files or dataset parameters), or choose another split protocol"
    labels = dataset.columns.get(CONDITION)
    conditions = [] if labels is None else sorted(set(labels.tolist()) - {""})
    for split in splits:
        problem = None
        train_classes = np.unique(dataset.y[split.train])
        if len(split.train) == 0:
            problem = "the training part is empty"
        elif len(train_classes) < 2:
            problem = (
                f"the training part holds a single class ({dataset.classes[train_classes[0]]}), from which "
                "no classifier can be learnt"
            )
        elif len(split.test) == 0:
            problem = "the test part is empty"
        else:
            tested = set(labels[split.test].tolist()) if conditions else set()
            absent = [c for c in conditions if c not in tested]
            if absent:
                problem = f"the test part holds no beat of condition(s) {', '.join(absent[:3])}"
        if problem:
            raise EcgbenchError(
                f"dataset {name!r}, split {split.name}: {problem} ({how}; train {len(split.train):,}"
                f" / val {len(split.val):,} / test {len(split.test):,} beats); {fix}"
            )


def planned_cells(store: RunStore) -> list[CellKey]:
    """Every cell of a planned run folder, in run order, from its manifest alone."""
    return store.planned_keys()


def resumable_manifest(store: RunStore, suite: Suite) -> Manifest:
    """The manifest of the run in ``store``, refused unless it is a run of ``suite``."""
    manifest = store.read_manifest()
    if manifest.suite_fingerprint != suite.fingerprint():
        raise EcgbenchError(
            f"{store.root} holds a run of another suite (different datasets, models, seeds or "
            "parameters); choose another --run-id, or delete that folder to start it over"
        )
    check_plugins_unchanged(manifest.plugins, suite.models, str(store.root))
    return manifest


def open_manifest(store: RunStore, suite: Suite, command: str) -> Manifest:
    """Create the manifest, or reopen it when resuming a run with the same suite."""
    if store.exists():
        manifest = resumable_manifest(store, suite)
        manifest.stopped = None  # an earlier stop, now resumed (its invocation keeps the record)
    else:
        manifest = Manifest(
            run_id=store.root.name, suite=suite.to_dict(), suite_fingerprint=suite.fingerprint(), started=now()
        )
    code = git_commit()
    manifest.invocations.append(Invocation(command, now(), **code))
    manifest.status, manifest.command = "running", command
    manifest.versions, manifest.machine = versions(), machine()
    manifest.commit, manifest.dirty = code["commit"], code["dirty"]
    manifest.plugins = plugin_record(suite.models)
    return manifest


def dataset_record(dataset: Dataset, splits, suite: Suite, fingerprint: str) -> DatasetRecord:
    evaluation = evaluation_of(dataset_spec(dataset.name).evaluation, splits[0].protocol)
    return DatasetRecord(
        n_beats=len(dataset.y),
        classes=list(dataset.classes),
        class_counts=dataset.class_counts(),
        synthetic=dataset.synthetic,
        evaluation=evaluation.value,
        fingerprint=fingerprint,
        provenance=dataset.provenance,
        context_features=list(dataset.context_names),
        # each split's checksum and its test labels' checksum: every cell records the ones it was scored on, and
        # a cell or splits file that no longer matches them is not finished (RunStore.cell_problem)
        splits={
            s.name: {
                "protocol": s.protocol,
                "train": len(s.train),
                "val": len(s.val),
                "test": len(s.test),
                "sha256": split_checksum({"train": s.train, "val": s.val, "test": s.test}),
                "test_labels_sha256": labels_checksum(dataset.y[s.test]),
                "test_records_sha256": beats_checksum(
                    None if dataset.groups is None else dataset.groups[s.test],
                    {name: values[s.test] for name, values in dataset.columns.items()},
                ),
            }
            for s in splits
        },
    )


# ---- stops -------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def sigterm_as_interrupt():
    """SIGTERM (a batch system's cancel, ``kill``) raises :class:`~ecgbench.core.errors.Terminated`, a
    KeyboardInterrupt, so that a run stops as on Ctrl-C; the previous handler is restored afterwards."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    pid = os.getpid()

    def terminate(signum, frame):
        if os.getpid() != pid:  # a forked worker (a process pool's) inherited the handler: die as it would have
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated()

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def recording_stops(store: RunStore, resume: str):
    """Whatever stops a run while it is "running" is recorded in its manifest: "interrupted" with the signal, or
    "failed" with the reason; the exception leaves with ``resume`` (the command that continues the run) and a
    storage OSError as an EcgbenchError. A status already final (the report written) is left as it is."""
    try:
        yield
    except KeyboardInterrupt as exc:
        _record_stop(store, "interrupted", {"signal": signal_name(exc)})
        exc.resume = resume
        raise
    except OSError as exc:
        error = EcgbenchError(f"the run stopped: {os_error_text(exc)}; the cells finished so far are kept")
        _record_stop(store, "failed", {"reason": str(error)})
        error.resume = resume
        raise error from None
    except Exception as exc:
        reason = str(exc) if isinstance(exc, EcgbenchError) else f"{type(exc).__name__}: {exc}"
        _record_stop(store, "failed", {"reason": reason})
        exc.resume = resume
        raise


def _record_stop(store: RunStore, status: str, why: dict) -> None:
    try:
        manifest = store.read_manifest()
        if manifest.status != "running":
            return
        manifest.status, manifest.stopped = status, Stop(now(), **why)
        if manifest.invocations:
            manifest.invocations[-1].stopped = manifest.stopped
        store.write_manifest(manifest)
    except (OSError, EcgbenchError) as exc:  # a full disk may refuse the manifest too: say so, stop anyway
        log.warning("could not record the stop in %s: %s", store.manifest_path, exc)


def resume_command(command: str, run_id: str) -> str:
    return command if " --run-id" in command else f"{command} --run-id {run_id}"


# ---- one cell ----------------------------------------------------------------------------------------------------


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)


def cell_dataset(store: RunStore, key: CellKey, data_dir: Path | None, manifest: Manifest) -> Dataset:
    """The cell's dataset, reloaded as planned; refused if it is not the data the run was planned on."""
    suite = Suite(**manifest.suite)
    dataset = suite_dataset(suite, key.dataset, data_dir)
    if data_fingerprint(dataset) != manifest.datasets[key.dataset].fingerprint:
        raise EcgbenchError(
            f"{store.root}: dataset {key.dataset!r} as loaded from {data_dir} is not the data this "
            "run was planned on; point --data-dir at the same data"
        )
    return dataset


@contextlib.contextmanager
def models_own_code():
    """Whatever a model's fit or predict_proba raises is its cell's failure, EcgbenchError included (the checks
    of the model's own output raise one); only a full disk or a refused write, which would fail every later cell
    too, stays a reason to stop the run (ecgbench.run.executors.attempt)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in STORAGE_ERRNOS:
            blame_the_model(exc)
        raise
    except Exception as exc:
        blame_the_model(exc)
        raise
    except SystemExit as exc:  # a model calling sys.exit() must not end the run (or a Dask worker's task) with it
        raise blame_the_model(RuntimeError(f"the model called sys.exit({exc.code!r})")) from exc


def cost_parts(fit_timings: dict, predict_timings: dict) -> dict:
    """The parts of a cell's cost that its model timed: compile_seconds (numba's compilation), and the seconds
    spent extracting or transforming features within fitting (fit_transform_seconds) and prediction
    (predict_transform_seconds); absent where the model does not time them."""
    parts = {"compile_seconds": fit_timings.get("compile_seconds")}
    parts["fit_transform_seconds"] = fit_timings.get("transform_seconds")
    parts["predict_transform_seconds"] = predict_timings.get("transform_seconds")
    return {name: seconds for name, seconds in parts.items() if seconds is not None}


def run_cell(store: RunStore, key: CellKey, data_dir: Path | None, dataset: Dataset | None = None) -> CellResult:
    """Train and score one cell, store it, and return its metrics. ``dataset`` skips the reload (same process)."""
    manifest = store.read_manifest()
    suite = Suite(**manifest.suite)
    # A worker (run-cell, a Dask or batch job) may have another version of a plugin than the planning process.
    check_plugins_unchanged(manifest.plugins, [key.model], f"{store.root} (cell {key.id})")
    dataset = dataset if dataset is not None else cell_dataset(store, key, data_dir, manifest)
    split = store.load_split(key.dataset, key.split, manifest)  # verified against the manifest's checksum
    protocol = manifest.datasets[key.dataset].splits[key.split]["protocol"]
    params = suite.params_for_model(key.model)
    seed_everything(key.seed)
    X, n_context = model_input(dataset, key.model)
    model = build(key.model, n_classes=dataset.n_classes, seed=key.seed, n_context=n_context, **params)
    y, train, val, test = dataset.y, split["train"], split["val"], split["test"]
    records = dataset.groups  # the record ids reach only a model that uses them (uses_groups)
    with cell_log(store.cell_dir(key) / "log.txt"), pinned() as threads, PeakMemory() as peak, models_own_code():
        start = time.perf_counter()
        model.fit(
            X[train],
            y[train],
            X[val],
            y[val],
            groups=None if records is None else records[train],
            groups_val=None if records is None else records[val],
        )
        fit_seconds = time.perf_counter() - start
        fit_timings, model.timings = model.timings, {}
        start = time.perf_counter()
        proba = model.predict_proba(X[test], None if records is None else records[test])
        predict_seconds = time.perf_counter() - start
    scores = classification_metrics(y[test], proba.argmax(axis=1), dataset.classes)
    if dataset.n_classes == 2:  # normal (0) against abnormal (1): sensitivity, specificity, ROC AUC
        # of the probabilities as stored (rounded to 1/65535), so that the AUC is the one the predictions give
        scores.update(binary_metrics(y[test], stored_probabilities(proba)))
    metrics = CellResult(
        **scores,
        dataset=key.dataset,
        split=key.split,
        protocol=protocol,
        model=key.model,
        seed=key.seed,
        synthetic=dataset.synthetic,
        classes=list(dataset.classes),
        params=model.params,
        threads=threads,
        n_train=len(train),
        n_val=len(val),
        n_test=len(test),
        # numba's compilation (a warm-up the model times apart) is not fitting: a warm cache makes it vanish
        fit_seconds=fit_seconds - fit_timings.get("compile_seconds", 0.0),
        predict_seconds=predict_seconds,
        **cost_parts(fit_timings, model.timings),
        peak_memory_scope=peak.scope,
        # None where unknown: NaN and infinity are not JSON (ecgbench.core.io.write_json refuses them)
        peak_memory_mb=peak.mb if np.isfinite(peak.mb) else None,
        context_features=list(dataset.context_names) if n_context else [],
        commit=manifest.commit,
        beats_per_second=len(test) / predict_seconds if predict_seconds > 0 else None,
        baseline_f1_macro=majority_baseline(y[train], y[test], dataset.classes)["f1_macro"],
        # what the cell was scored on, so that a later edit of the split or the data cannot keep it finished
        split_sha256=split_checksum(split),
        data_fingerprint=data_fingerprint(dataset),
        test_labels_sha256=labels_checksum(y[test]),
    )
    groups = None if dataset.groups is None else dataset.groups[test]
    card = None
    if manifest.save_models is not False:
        from ecgbench.models.cards import model_card

        trained_on = None if dataset.groups is None else np.unique(dataset.groups[np.concatenate([train, val])])
        card = model_card(key, metrics, manifest, dataset, n_context, y[test], proba.argmax(axis=1), groups, trained_on)
    columns = {name: values[test] for name, values in dataset.columns.items()}
    frame = predictions_frame(test, y[test], proba, dataset.classes, groups, columns)
    store.write_cell(key, frame, metrics, model if card is not None else None, card)
    return metrics
