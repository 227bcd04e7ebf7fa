"""Trials: a family's Optuna study (TPE, reseeded per trial; a median pruner), and :class:`Tuner`, which runs
trials fold by fold, records each in the study folder, and tells Optuna the outcome."""

from __future__ import annotations

import hashlib
import logging
import time
import traceback

import numpy as np

from ecgbench.core.io import write_json
from ecgbench.core.params import show
from ecgbench.tuning.folder import SCHEMA_VERSION, StudyFolder, storage
from ecgbench.tuning.objective import objective_score
from ecgbench.tuning.space import search_space, suggest

log = logging.getLogger(__name__)

FINISHED = ("complete", "pruned", "failed")  # record states that use up a trial of the budget
N_STARTUP_TRIALS = 10  # TPE's random trials before it models the good region
PRUNER = {"name": "MedianPruner", "n_startup_trials": 5, "n_warmup_steps": 1}  # never after the first fold only


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
