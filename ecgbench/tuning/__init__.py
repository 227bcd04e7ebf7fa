"""``python -m ecgbench tune SUITE``: an equal hyperparameter budget per model family, on the development set only.

Every family (model) of the suite gets the same number of trials and the same time budget. A trial draws the
family's searched parameters (``Param(search=...)`` / ``Param(search_choices=...)`` beside each model's parameter
schema; the suite's ``[model_params]`` fix the rest) from Optuna's TPE sampler, and is scored by cross-validation
by whole records over the development set (:mod:`ecgbench.tuning.development`: the dataset's training part; the
test part is never used and, for the MIT-BIH tracks, never read). The objective (docs/decisions.md#tune-objective):
the mean of the S and V F1 scores over the pooled beats of the held-back folds (macro-F1 where the development set
has neither S nor V beats). After each fold the mean of the fold scores so far is reported, and a median pruner
stops trials that do badly after their first folds.

The study folder ``results/<study-id>/`` holds the manifest, the Optuna journal (``journal.log``, the sampler's
state, shared by worker processes), one JSON record per trial (``trials/<family>/NNNN.json``: the stored truth),
the cache of :mod:`ecgbench.tuning.cache` and the report (:mod:`ecgbench.tuning.report`). Rerunning the command
resumes: finished trials are kept, a trial interrupted mid-way is run again with the same parameters.

On a cluster (docs/tuning.md#on-a-cluster-a-job-array): ``tune SUITE --plan-only`` writes the study folder and
stops; ``tune-worker STUDY_DIR`` processes, started anywhere that sees the folder, run its trials until every
budget is used; rerunning ``tune SUITE`` then writes the report. Every process running trials holds a shared
flock on ``workers.lock``, so that ``tune`` can tell, before it marks the journal's running trials interrupted,
that no process still runs them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import math
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import write_json
from ecgbench.core.params import Param, show

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
STUDY_KIND = "tuning study"  # the manifest's "kind", which tells a study folder from a run folder
WORKERS_LOCK = "workers.lock"  # shared by every process running trials (results/*/*.lock stays out of git)
FINISHED = ("complete", "pruned", "failed")  # record states that use up a trial of the budget
N_STARTUP_TRIALS = 10  # TPE's random trials before it models the good region
PRUNER = {"name": "MedianPruner", "n_startup_trials": 5, "n_warmup_steps": 1}  # never after the first fold only
OBJECTIVE = (
    "mean of the S and V F1 scores (AAMI classes) over the pooled beats of the held-back folds of a "
    "group k-fold over the development set's records (macro-F1 where it has neither S nor V beats)"
)


# ---- search spaces -----------------------------------------------------------------------------------------------


def search_space(model_name: str) -> dict[str, Param]:
    """The searched parameters of a model (empty where it declares none)."""
    from ecgbench.models import model_class

    return {name: p for name, p in model_class(model_name).schema().items() if p.searched}


def describe_space(param: Param) -> str:
    if param.search_choices is not None:
        return "one of " + ", ".join(map(show, param.search_choices))
    low, high = param.search
    return f"{param.resolved_kind()} in [{show(low)}, {show(high)}]" + (", log scale" if param.log else "")


def suggest(trial, name: str, param: Param):
    if param.search_choices is not None:
        return trial.suggest_categorical(name, list(param.search_choices))
    low, high = param.search
    if param.resolved_kind() == "int":
        return trial.suggest_int(name, int(low), int(high), log=param.log)
    return trial.suggest_float(name, float(low), float(high), log=param.log)


def require_spaces(models: list[str]) -> None:
    from ecgbench.models import model_class

    for name in models:
        model_class(name)  # an unknown model is refused by name here
        if not search_space(name):
            raise EcgbenchError(
                f"model {name!r} declares no search space (no Param with search= or "
                "search_choices= in its default_params), so tune cannot give it a budget; declare "
                "one (docs/tuning.md) or leave it out of the suite"
            )


# ---- the objective -----------------------------------------------------------------------------------------------


def objective_classes(dataset) -> list[str]:
    """The classes whose F1 scores the objective averages: S and V where the development set has their beats."""
    return [c for c in ("S", "V") if c in dataset.classes and np.any(dataset.y == dataset.classes.index(c))]


def objective_score(y_true, y_pred, classes, targets: list[str]) -> float:
    from ecgbench.core.metrics import classification_metrics

    metrics = classification_metrics(np.asarray(y_true), np.asarray(y_pred), tuple(classes))
    if not targets:
        return metrics["f1_macro"]
    return float(np.mean([metrics["per_class"][c]["f1"] for c in targets]))


# ---- the study folder --------------------------------------------------------------------------------------------


@dataclass
class StudyFolder:
    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def journal_path(self) -> Path:
        return self.root / "journal.log"

    def trials_dir(self, family: str) -> Path:
        return self.root / "trials" / family

    def record_path(self, family: str, number: int) -> Path:
        return self.trials_dir(family) / f"{number:04d}.json"

    def records(self, family: str) -> dict[int, dict]:
        from ecgbench.run.store import read_json

        out = {}
        for path in sorted(self.trials_dir(family).glob("[0-9][0-9][0-9][0-9].json")):
            out[int(path.stem)] = read_json(path)
        return out

    def read_manifest(self) -> dict:
        from ecgbench.run.store import read_json

        return read_json(self.manifest_path)

    @contextlib.contextmanager
    def flock(self, name: str, operation: int):
        """An flock on the file ``name`` of the folder, held until the block ends (released, too, by the kernel
        when the process dies, however it dies)."""
        self.root.mkdir(parents=True, exist_ok=True)
        # "a+", readable too: over NFS a shared flock is a POSIX read lock, which needs a file open for reading
        with open(self.root / name, "a+") as fh:
            fcntl.flock(fh, operation)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def ask_lock(self):
        """Serialises counting and asking between the processes of one study."""
        return self.flock("ask.lock", fcntl.LOCK_EX)

    def running_trials(self):
        """Held (shared) by every process for as long as it runs trials of the study: tune, its pool's workers,
        tune-worker processes on other machines."""
        return self.flock(WORKERS_LOCK, fcntl.LOCK_SH)

    @contextlib.contextmanager
    def without_workers(self):
        """Held (exclusive) while the journal's running trials are taken for interrupted ones (:func:`recover`):
        that is only true while no process runs trials, so a study with one is refused, not waited for."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.flock(WORKERS_LOCK, fcntl.LOCK_EX | fcntl.LOCK_NB))
            except BlockingIOError:
                raise EcgbenchError(
                    f"{self.root}: the study has worker processes running trials (they hold "
                    f"{self.root / WORKERS_LOCK}); wait for them or stop them, then rerun"
                ) from None
            yield


def storage(folder: StudyFolder):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(folder.journal_path)))


def sampler_seed(seed: int, family: str, ordinal: int) -> int:
    """The sampler's seed for the ``ordinal``-th trial of ``family``'s budget: a fresh sampler per trial, so that a
    resumed study draws what an uninterrupted one would have drawn (and not the first trial's draws again)."""
    return int(hashlib.sha256(f"{seed}/{family}/{ordinal}".encode()).hexdigest()[:8], 16)


def optuna_study(folder: StudyFolder, family: str, seed: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=PRUNER["n_startup_trials"], n_warmup_steps=PRUNER["n_warmup_steps"]
    )
    return optuna.create_study(
        study_name=family,
        storage=storage(folder),
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=N_STARTUP_TRIALS),
        pruner=pruner,
        load_if_exists=True,
    )


# ---- one study, in one process -----------------------------------------------------------------------------------


class Tuner:
    """What a process needs to run trials: the study folder, its manifest, the development set and its folds."""

    def __init__(self, folder: StudyFolder, dataset, folds, manifest: dict):
        from ecgbench.run.suite import Suite
        from ecgbench.tuning.cache import FoldCache

        self.folder, self.dataset, self.folds, self.manifest = folder, dataset, folds, manifest
        self.suite = Suite(**manifest["suite"])
        self.targets = manifest["objective"]["classes"]
        self.budget = manifest["budget"]
        self.seed = manifest["sampler"]["seed"]
        self.cache = FoldCache(folder.root / "cache", dataset.X, manifest["data_fingerprint"])
        self.studies = {}

    def study(self, family: str):
        if family not in self.studies:
            self.studies[family] = optuna_study(self.folder, family, self.seed)
        return self.studies[family]

    # -- budget --------------------------------------------------------------------------------------------------
    def used(self, family: str) -> tuple[int, float]:
        """Trials of the budget used (finished records, and trials running elsewhere without one), seconds spent."""
        from optuna.trial import TrialState

        records = self.folder.records(family)
        finished = {n for n, r in records.items() if r["state"] in FINISHED}
        running = [
            t
            for t in self.study(family).get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if t.number not in finished
        ]
        return len(finished) + len(running), sum(r["seconds"] for r in records.values() if r["state"] in FINISHED)

    def has_budget(self, family: str) -> bool:
        n, seconds = self.used(family)
        timeout = self.budget["timeout_per_family_s"]
        return n < self.budget["trials_per_family"] and (timeout is None or seconds < timeout)

    def ask(self, family: str):
        """A new trial of ``family`` (None once its budget is used), asked under the study's lock."""
        import optuna

        with self.folder.ask_lock():
            if not self.has_budget(family):
                return None
            study = self.study(family)
            ordinal = self.used(family)[0]  # the trial's place in the budget (interrupted trials do not count)
            study.sampler = optuna.samplers.TPESampler(
                seed=sampler_seed(self.seed, family, ordinal), n_startup_trials=N_STARTUP_TRIALS
            )
            return study.ask()

    # -- one trial -----------------------------------------------------------------------------------------------
    def params(self, family: str, trial) -> tuple[dict, dict]:
        searched = {name: suggest(trial, name, p) for name, p in search_space(family).items()}
        return searched, {**self.suite.params_for_model(family), **searched}

    def fit_fold(self, family: str, params: dict, fold) -> np.ndarray:
        """The class probabilities of the fold's held-back beats, the model trained on its training part (and
        stopped on its validation part)."""
        from ecgbench.core.threads import pinned
        from ecgbench.models import build
        from ecgbench.models.rocket import RandomKernelModel
        from ecgbench.run.runner import context_columns, model_input, seed_everything

        seed = self.suite.seeds_for(family)[0]
        seed_everything(seed)
        X, _ = model_input(self.dataset, family)
        y = self.dataset.y
        model = build(
            family,
            n_classes=self.dataset.n_classes,
            seed=seed,
            n_context=context_columns(self.dataset, family),
            **params,
        )
        if isinstance(model, RandomKernelModel):
            self.cache.hook_kernel_model(model, fold.train)
        elif family == "tsfresh-xgboost":
            space = search_space(family).get("max_features")
            top = int(space.search[1]) if space is not None and space.search else int(params["max_features"])
            self.cache.hook_tsfresh_model(model, fold.train, y[fold.train], top)
        records = self.dataset.groups  # development sets always have them (ecgbench.tuning.development)
        with pinned():
            model.fit(X[fold.train], y[fold.train], X[fold.val], y[fold.val], records[fold.train], records[fold.val])
            return model.predict_proba(X[fold.test], records[fold.test])

    def run_trial(self, family: str, trial) -> dict:
        from ecgbench.tuning import cache

        searched, params = self.params(family, trial)
        record = {
            "schema_version": SCHEMA_VERSION,
            "family": family,
            "number": trial.number,
            "params": searched,
            "state": "running",
            "folds": [],
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        before = dict(cache.STATS)
        start = time.perf_counter()
        y_true, y_pred = [], []
        log.info("%s trial %d: %s", family, trial.number, ", ".join(f"{k}={show(v)}" for k, v in searched.items()))
        try:
            for step, fold in enumerate(self.folds):
                fold_start = time.perf_counter()
                pred = self.fit_fold(family, params, fold).argmax(axis=1)
                truth = self.dataset.y[fold.test]
                score = objective_score(truth, pred, self.dataset.classes, self.targets)
                y_true.append(truth)
                y_pred.append(pred)
                record["folds"].append(
                    {
                        "fold": fold.name,
                        "score": score,
                        "n_test": len(truth),
                        "seconds": time.perf_counter() - fold_start,
                    }
                )
                running = float(np.mean([f["score"] for f in record["folds"]]))
                trial.report(running, step)
                log.info("%s trial %d %s: %.4f (running mean %.4f)", family, trial.number, fold.name, score, running)
                if step < len(self.folds) - 1 and trial.should_prune():
                    record.update(state="pruned", pruned_after_fold=step + 1, value=running)
                    break
            else:
                record.update(
                    state="complete",
                    value=objective_score(
                        np.concatenate(y_true), np.concatenate(y_pred), self.dataset.classes, self.targets
                    ),
                )
        except (KeyboardInterrupt, MemoryError):
            raise  # no record: the trial is run again on resume
        except Exception as exc:
            record.update(
                state="failed", value=None, error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
            )
            log.warning("%s trial %d failed: %s", family, trial.number, record["error"])
        record["seconds"] = time.perf_counter() - start
        record["cache"] = {k: cache.STATS[k] - before[k] for k in cache.STATS}
        record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_json(self.folder.record_path(family, trial.number), record)
        tell(self.study(family), trial.number, record)
        return record

    def loop(self, stop_after: float | None = None) -> int:
        """Trials of every family in turn (one each, round after round) until every budget is used."""
        done, families = 0, list(self.manifest["families"])
        with self.folder.running_trials():  # while held, tune refuses to take running trials for interrupted ones
            while families:
                for family in list(families):
                    trial = self.ask(family)
                    if trial is None:
                        families.remove(family)
                        continue
                    self.run_trial(family, trial)
                    done += 1
        return done


def tell(study, number: int, record: dict) -> None:
    from optuna.trial import TrialState

    if record["state"] == "complete":
        study.tell(number, record["value"])
    elif record["state"] == "pruned":
        study.tell(number, state=TrialState.PRUNED)
    else:
        study.tell(number, state=TrialState.FAIL)


def recover(tuner: Tuner) -> list[str]:
    """Before any trial of a resumed study: a trial the journal shows running (its process is gone: the caller
    holds the study's ``lock`` and :meth:`StudyFolder.without_workers`) is told from its record where it has one,
    else failed and queued to run again with its parameters. Returns what was done, one line each."""
    from optuna.trial import TrialState

    notes = []
    for family in tuner.manifest["families"]:
        study = tuner.study(family)
        records = tuner.folder.records(family)
        for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if trial.number in records and records[trial.number]["state"] in FINISHED:
                tell(study, trial.number, records[trial.number])
                continue
            study.tell(trial.number, state=TrialState.FAIL)
            study.enqueue_trial(trial.params, skip_if_exists=False)
            notes.append(f"{family} trial {trial.number} was interrupted; it runs again with the same parameters")
    return notes


# ---- the command -------------------------------------------------------------------------------------------------


def check_options(trials: int, timeout: float | None, workers: int) -> None:
    if trials < 1:
        raise EcgbenchError(f"--trials must be at least 1 (got {trials})")
    if timeout is not None and not (timeout > 0 and math.isfinite(timeout)):
        raise EcgbenchError(f"--timeout-per-family must be a positive number of seconds (got {timeout})")
    if workers < 1:
        raise EcgbenchError(f"--workers must be at least 1 (got {workers})")


def study_manifest(
    suite, suite_file, dataset, folds, command: str, trials: int, timeout, seed: int, fingerprint: str
) -> dict:
    from ecgbench.core.environment import git_commit, machine, now, versions

    return {
        "schema_version": SCHEMA_VERSION,
        "kind": STUDY_KIND,
        "command": command,
        "started": now(),
        "suite_file": str(suite_file),
        "suite": suite.to_dict(),
        "suite_fingerprint": suite.fingerprint(),
        **git_commit(),
        "versions": {**versions(), "optuna": _optuna_version()},
        "machine": machine(),
        "dataset": dataset.name,
        "synthetic": dataset.synthetic,
        "data_fingerprint": fingerprint,
        "development": {
            "n_beats": len(dataset.y),
            "class_counts": dataset.class_counts(),
            "records": sorted(int(g) for g in np.unique(dataset.groups)),
            "part": dataset.provenance.get("development_part", "the whole dataset"),
            "provenance": dataset.provenance,
        },
        "folds": [
            {
                "name": f.name,
                "train": len(f.train),
                "val": len(f.val),
                "test": len(f.test),
                "test_records": sorted(int(g) for g in np.unique(dataset.groups[f.test])),
            }
            for f in folds
        ],
        "objective": {
            "text": OBJECTIVE,
            "classes": objective_classes(dataset),
            "direction": "maximize",
            "decision": "docs/decisions.md#tune-objective",
        },
        "budget": {"trials_per_family": trials, "timeout_per_family_s": timeout},
        "sampler": {
            "name": "TPESampler",
            "seed": seed,
            "n_startup_trials": N_STARTUP_TRIALS,
            "reseeded": "per trial, from (seed, family, the trial's place in the budget)",
        },
        "pruner": PRUNER,
        "families": list(suite.models),
        "search_spaces": {m: {n: describe_space(p) for n, p in search_space(m).items()} for m in suite.models},
        "model_seeds": {m: suite.seeds_for(m)[0] for m in suite.models},
        # the suite's values that stay as they are in every trial (its values of searched parameters do not)
        "fixed_params": {
            m: {k: v for k, v in suite.params_for_model(m).items() if k not in search_space(m)} for m in suite.models
        },
    }


def _optuna_version() -> str:
    import optuna

    return optuna.__version__


IDENTITY = ("suite_fingerprint", "data_fingerprint", "families", "search_spaces", "sampler", "folds", "objective")


def open_study(folder: StudyFolder, fresh: dict) -> dict:
    """The manifest of a new study, or of the study being resumed (refused where it is another study)."""
    from ecgbench.core.environment import now

    if not folder.manifest_path.exists():
        manifest = {**fresh, "invocations": []}
    else:
        manifest = folder.read_manifest()
        changed = [key for key in IDENTITY if manifest.get(key) != fresh[key]]
        if changed:
            raise EcgbenchError(
                f"{folder.root} holds another study (different {', '.join(changed)}); choose another "
                "--study-id, or delete that folder to start it over"
            )
        manifest.update(
            budget=fresh["budget"],
            command=fresh["command"],
            commit=fresh["commit"],
            dirty=fresh["dirty"],
            versions=fresh["versions"],
            machine=fresh["machine"],
        )
    manifest["invocations"].append(
        {"command": fresh["command"], "started": now(), "commit": fresh["commit"], "budget": fresh["budget"]}
    )
    manifest["status"] = "running"
    return manifest


def tune(
    suite_file: Path,
    study_dir: Path,
    data_dir,
    command: str,
    trials: int,
    timeout: float | None = None,
    workers: int = 1,
    seed: int = 0,
    write_suite: Path | None = None,
    force: bool = False,
    plan_only: bool = False,
) -> Path | None:
    """Run (or resume) the study of ``suite_file`` in ``study_dir``; returns the summary's path. With
    ``plan_only``, the study folder is written (or checked) and its interrupted trials queued again, for
    tune-worker processes to run; no trial runs and None is returned."""
    from ecgbench.core.environment import now
    from ecgbench.core.io import writable_file, writable_folder
    from ecgbench.data import dataset_spec, resolve_data_dir
    from ecgbench.models import model_class
    from ecgbench.run.locks import FileLock
    from ecgbench.run.runner import data_fingerprint, sigterm_as_interrupt
    from ecgbench.run.suite import load_suite
    from ecgbench.tuning.development import development_dataset, development_folds
    from ecgbench.tuning.report import write_report, write_tuned_suite

    check_options(trials, timeout, workers)
    suite = load_suite(suite_file)
    if len(suite.datasets) != 1:
        raise EcgbenchError(
            f"suite file {suite_file}: tune searches on one dataset, the suite names "
            f"{len(suite.datasets)} ({', '.join(suite.datasets)})"
        )
    require_spaces(suite.models)
    if write_suite is not None:
        writable_file(write_suite, "--write-suite")
        if write_suite.exists() and not force:
            raise EcgbenchError(f"--write-suite {write_suite}: the file exists; add --force to overwrite it")
    data_dir = resolve_data_dir(data_dir)
    for name in suite.models:
        model_class(name).require_installed()
        model_class(name).check_params(suite.params_for_model(name))
    dataset_spec(suite.datasets[0]).check_params(suite.params_for_dataset(suite.datasets[0]))
    # not suite.validate: the suite's test data need not be present, tune reads the development part only
    folder = StudyFolder(writable_folder(study_dir, "study folder"))
    with folder.without_workers():  # refused before the data load; held again, for good, around recover below
        pass
    dataset = development_dataset(suite, suite.datasets[0], data_dir)
    folds = development_folds(dataset, suite)
    fingerprint = data_fingerprint(dataset)
    log.info(
        "study %s: %s development set, %d beats %s, %d folds by record; %d trial(s) per family%s: %s",
        folder.root.name,
        dataset.name + (" (SYNTHETIC)" if dataset.synthetic else ""),
        len(dataset.y),
        dataset.class_counts(),
        len(folds),
        trials,
        f", {timeout:g} s per family" if timeout else "",
        ", ".join(suite.models),
    )
    fresh = study_manifest(suite, suite_file, dataset, folds, command, trials, timeout, seed, fingerprint)
    with sigterm_as_interrupt(), FileLock(folder.root / "lock", f"study folder {folder.root}"):
        with folder.without_workers():  # before the manifest changes: a refused command leaves it as it was
            manifest = open_study(folder, fresh)
            if plan_only:
                manifest["status"] = "planned"
            write_json(folder.manifest_path, manifest)
            tuner = Tuner(folder, dataset, folds, manifest)
            for note in recover(tuner):
                log.info("%s", note)
        if plan_only:
            return None
        try:
            if workers == 1:
                tuner.loop()
            else:
                run_workers(folder, data_dir, workers)
        except KeyboardInterrupt as exc:
            manifest.update(status="interrupted", stopped=now())
            write_json(folder.manifest_path, manifest)
            write_partial_report(folder, tuner)
            exc.resume, exc.kept = command, "the finished trials are kept"
            raise
        except Exception as exc:  # a worker's crash, storage: recorded, then reported as usual
            manifest.update(status="failed", stopped=now(), reason=f"{type(exc).__name__}: {exc}")
            write_json(folder.manifest_path, manifest)
            raise
        manifest.update(status="complete", finished=now())
        manifest.pop("stopped", None)
        manifest.pop("reason", None)
        write_json(folder.manifest_path, manifest)
        summary = write_report(folder, tuner)
        if write_suite is not None:
            write_tuned_suite(folder, tuner, suite_file, write_suite)
    return summary


def write_partial_report(folder: StudyFolder, tuner: Tuner) -> None:
    """The report of the trials finished so far, marked partial; a failure to draw it never hides the interrupt."""
    from ecgbench.tuning.report import write_report

    try:
        write_report(folder, tuner)
    except Exception as exc:
        log.warning("no partial report of %s (%s: %s)", folder.root, type(exc).__name__, exc)


# ---- worker processes --------------------------------------------------------------------------------------------


def run_workers(folder: StudyFolder, data_dir: Path, workers: int) -> None:
    """``workers`` processes, each asking the shared study for trials until every budget is used."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from ecgbench.core.threads import current_threads

    threads = max(1, current_threads() // workers)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [
            pool.submit(worker_main, str(folder.root), str(data_dir), threads, index) for index in range(workers)
        ]
        done = [future.result() for future in futures]
    log.info("%d worker(s) ran %s trial(s)", workers, " + ".join(map(str, done)))


def worker_main(root: str, data_dir: str, threads: int, index: int | None = None, verbose: bool = False) -> int:
    """Trials of the study in ``root`` until every family's budget is used; returns how many this process ran.
    Run by each process of tune's pool (``index``) and by ``tune-worker`` (a job array's task, ``index`` None)."""
    from ecgbench.core.progress import setup_logging
    from ecgbench.core.threads import set_threads
    from ecgbench.models import model_class
    from ecgbench.run.runner import data_fingerprint
    from ecgbench.run.suite import Suite
    from ecgbench.tuning.development import development_dataset, development_folds

    setup_logging(verbose)
    set_threads(threads)
    folder, manifest = existing_study(Path(root))
    who = "tune-worker" if index is None else f"worker {index}"
    for name in manifest["families"]:
        model_class(name).require_installed()  # else each trial would fail, and count against the budget
    # a worker from another checkout could search other spaces: its trials would not belong in this study
    spaces = {m: {n: describe_space(p) for n, p in search_space(m).items()} for m in manifest["families"]}
    if spaces != manifest["search_spaces"]:
        changed = ", ".join(sorted(m for m in spaces if spaces[m] != manifest["search_spaces"].get(m)))
        raise EcgbenchError(
            f"{who}: this ecgbench searches other spaces than the study {root} was planned with ({changed}); "
            f"run the workers from the study's commit ({manifest.get('commit')})"
        )
    suite = Suite(**manifest["suite"])
    dataset = development_dataset(suite, manifest["dataset"], Path(data_dir))
    if data_fingerprint(dataset) != manifest["data_fingerprint"]:
        raise EcgbenchError(
            f"{who}: the development data read from {data_dir} differ from those of the study {root} (another "
            "data fingerprint); point --data-dir at a copy of the data the study was planned with"
        )
    return Tuner(folder, dataset, development_folds(dataset, suite), manifest).loop()


def existing_study(root: Path) -> tuple[StudyFolder, dict]:
    """The study folder ``root`` and its manifest; anything else (a run folder, an empty one) is refused."""
    folder = StudyFolder(root)
    if not folder.manifest_path.exists():
        raise EcgbenchError(
            f"{root} is not a tuning study folder (no manifest.json in it); plan one with "
            "`python -m ecgbench tune SUITE --plan-only`"
        )
    manifest = folder.read_manifest()
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind != STUDY_KIND:
        raise EcgbenchError(
            f"{root} is not a tuning study folder (its manifest.json is of kind {kind!r}, not {STUDY_KIND!r}); "
            "plan one with `python -m ecgbench tune SUITE --plan-only`"
        )
    return folder, manifest


# ---- command line (ecgbench.cli adds the parser and calls cmd_tune) -----------------------------------------------


def add_parser(commands) -> None:
    tune_parser = commands.add_parser(
        "tune", help="equal-budget hyperparameter search per model family on the development set (docs/tuning.md)"
    )
    tune_parser.add_argument("suite", type=Path, metavar="SUITE", help="a TOML suite file (one dataset)")
    tune_parser.add_argument("--trials", type=int, default=20, help="trials per family (default 20)")
    tune_parser.add_argument(
        "--timeout-per-family",
        type=float,
        metavar="S",
        help="seconds of trials per family; trials started before it ran out finish (default: none)",
    )
    tune_parser.add_argument(
        "--study-id",
        help="the study folder's name under --results-dir; an existing study of "
        "the same suite is resumed (default: tune-<suite name>)",
    )
    tune_parser.add_argument(
        "--workers", type=int, default=1, metavar="N", help="N processes asking the shared study for trials (default 1)"
    )
    tune_parser.add_argument("--seed", type=int, default=0, help="the sampler's seed (default 0)")
    tune_parser.add_argument("--results-dir", type=Path, default=Path("results"), help="where study folders go")
    tune_parser.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the real data files (default: $ECGBENCH_DATA, else ~/.cache/ecgbench)",
    )
    tune_parser.add_argument(
        "--threads", type=int, help="threads per trial (default: all CPUs, divided among --workers)"
    )
    tune_parser.add_argument(
        "--write-suite",
        type=Path,
        metavar="FILE",
        help="write the suite with each family's best configuration as [model_params]",
    )
    tune_parser.add_argument("--force", action="store_true", help="overwrite an existing --write-suite file")
    tune_parser.add_argument(
        "--plan-only",
        action="store_true",
        help="write (or check) the study folder and stop: its trials are then run by `tune-worker` processes "
        "(e.g. a job array), and this command without --plan-only writes the report",
    )

    worker = commands.add_parser(
        "tune-worker", help="run trials of a planned study until its budget is used (a job array's task)"
    )
    worker.add_argument("study_dir", type=Path, metavar="STUDY_DIR", help="the study folder (results/<study-id>)")
    worker.add_argument(
        "--data-dir", type=Path, help="folder with the real data files (the study's, as seen from here)"
    )
    worker.add_argument("--threads", type=int, help="threads per trial (default: all CPUs)")


def cmd_tune(args) -> int:
    import shlex

    from ecgbench.core.extras import soft_dependency
    from ecgbench.core.threads import set_threads

    soft_dependency("optuna", "ecgbench tune")

    check_threads(args.threads)
    if args.threads is not None:
        set_threads(args.threads)
    if args.seed < 0:
        raise EcgbenchError(f"--seed must be 0 or more (got {args.seed})")
    study_id = args.study_id or f"tune-{args.suite.stem}"
    if not study_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise EcgbenchError(f"--study-id {study_id!r}: use letters, digits, '-', '_' and '.' only")
    command = "python -m ecgbench " + shlex.join(args.argv)
    summary = tune(
        args.suite,
        args.results_dir / study_id,
        args.data_dir,
        command,
        args.trials,
        args.timeout_per_family,
        args.workers,
        args.seed,
        args.write_suite,
        args.force,
        args.plan_only,
    )
    if args.plan_only:
        print_plan(args, args.results_dir / study_id, command)
        return 0
    print(f"report: {summary}")
    if args.write_suite:
        print(f"tuned suite: {args.write_suite}")
    return 0


def check_threads(threads: int | None) -> None:
    if threads is not None and threads < 1:
        raise EcgbenchError(f"--threads must be at least 1 (got {threads})")


def print_plan(args, study_dir: Path, command: str) -> None:
    import shlex

    worker = ["python", "-m", "ecgbench", "tune-worker", str(study_dir)]
    if args.data_dir is not None:
        worker += ["--data-dir", str(args.data_dir)]
    if args.threads is not None:
        worker += ["--threads", str(args.threads)]
    print(f"planned: {study_dir} ({args.trials} trial(s) per family; no trial run)")
    print(f"each worker runs: {shlex.join(worker)}")
    print(f"once every worker is done, the report: {without_plan_only(command)}")


def without_plan_only(command: str) -> str:
    """The tune command that runs what is left of the study and writes its report."""
    import shlex

    return shlex.join(word for word in shlex.split(command) if word != "--plan-only")


def cmd_tune_worker(args) -> int:
    from ecgbench.core.extras import soft_dependency
    from ecgbench.core.threads import current_threads
    from ecgbench.data import resolve_data_dir
    from ecgbench.run.runner import sigterm_as_interrupt

    soft_dependency("optuna", "ecgbench tune-worker")
    check_threads(args.threads)
    _, manifest = existing_study(args.study_dir)  # refused here, before any data is read
    threads = args.threads or current_threads()
    with sigterm_as_interrupt():  # a job's time limit stops the worker as Ctrl-C does: its trial leaves no record
        try:
            ran = worker_main(str(args.study_dir), str(resolve_data_dir(args.data_dir)), threads, None, args.verbose)
        except KeyboardInterrupt as exc:
            # the interrupted trial stays "running" in the journal until tune (run once no worker is left) queues it
            exc.resume = without_plan_only(manifest["command"]) + " (once no worker runs)"
            exc.kept = "the finished trials are kept"
            raise
    print(f"{args.study_dir}: this worker ran {ran} trial(s); no trial of the budget is left to ask for")
    return 0
