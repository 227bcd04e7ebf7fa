"""One study from start to report: the manifest (what the study is, checked on every resume), the run of its
trials in this process or in a pool of worker processes, and the report at the end or on an interrupt."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import write_json
from ecgbench.tuning.folder import SCHEMA_VERSION, STUDY_KIND, StudyFolder, existing_study
from ecgbench.tuning.objective import OBJECTIVE, objective_classes
from ecgbench.tuning.space import declared_spaces, require_spaces, search_space
from ecgbench.tuning.trials import N_STARTUP_TRIALS, PRUNER, Tuner, recover

log = logging.getLogger(__name__)

IDENTITY = ("suite_fingerprint", "data_fingerprint", "families", "search_spaces", "sampler", "folds", "objective")


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
        "search_spaces": declared_spaces(suite.models),
        "model_seeds": {m: suite.seeds_for(m)[0] for m in suite.models},
        # the suite's values that stay as they are in every trial (its values of searched parameters do not)
        "fixed_params": {
            m: {k: v for k, v in suite.params_for_model(m).items() if k not in search_space(m)} for m in suite.models
        },
    }


def _optuna_version() -> str:
    import optuna

    return optuna.__version__


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
    spaces = declared_spaces(manifest["families"])
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
