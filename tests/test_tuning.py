"""Tests of ``python -m ecgbench tune`` (ecgbench/tuning/): a tiny study on the embedded SYNTHETIC beats (two
families, two trials, two folds by record), its records, resume, equal budget, the fold cache, the report and the
tuned suite; a job array (tune --plan-only, tune-worker processes, the workers' lock); the development set of
mitdb-inter read without any DS2 file (small WFDB records written here); the search spaces' documentation; bad
options."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest

from ecgbench import cli
from ecgbench.core.params import Param
from ecgbench.models import Model, model_class
from ecgbench.models.base import Model as BaseModel
from ecgbench.tuning import cache as tc
from ecgbench.tuning.folder import StudyFolder
from ecgbench.tuning.report import expected_max
from ecgbench.tuning.space import search_space
from ecgbench.tuning.trials import FINISHED, Tuner, optuna_study

SUITE = """
description = "tiny tuning test (SYNTHETIC)"
datasets = ["synthetic"]
models = ["minirocket", "tsfresh-xgboost"]
seeds = [0]

[split]
protocol = "holdout"
n_folds = 2
val_size = 0.2
seed = 0

[dataset_params.synthetic]
n_beats = 500
n_patients = 10

[model_params.minirocket]
max_epochs = 3

[model_params.tsfresh-xgboost]
selection_beats = 80
early_stopping_rounds = 0
"""

# Small spaces, so that a trial costs a second or two: one kernel count (the cache must then be hit by the second
# trial), few features and trees.
SMALL_SPACES = {
    "minirocket": {"num_kernels": Param(10_000, low=84, search_choices=(168,))},
    "tsfresh-xgboost": {
        "max_features": Param(300, low=1, search=(5, 12)),
        "n_estimators": Param(600, low=1, search=(5, 20)),
        "max_depth": Param(6, low=1, search=(2, 3)),
    },
}


# Tests that keep the declared spaces: the documentation's, and those whose trials run in other processes (tune's
# pool, tune-worker) that no monkeypatch reaches: a worker refuses a study planned with other spaces than its own.
DECLARED_SPACES = ("test_docs_tuning_md", "test_job_array", "test_workers_share")


@pytest.fixture(autouse=True)
def small_spaces(monkeypatch, tmp_path, request):
    monkeypatch.chdir(tmp_path)
    if request.node.name.startswith(DECLARED_SPACES):
        return
    for name, entries in SMALL_SPACES.items():
        cls = model_class(name)
        monkeypatch.setattr(cls, "param_schema", {**cls.param_schema, **entries})


@pytest.fixture
def suite_file(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return path


def tune(suite_file, *options) -> int:
    return cli.main(["tune", str(suite_file), "--results-dir", "studies", "--threads", "1", *options])


def records(study: Path, family: str) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((study / "trials" / family).glob("*.json"))]


@pytest.fixture
def counted(monkeypatch):
    """Every fold fitted (family, fold name, searched parameters) and every kernel transform computed."""
    calls = {"folds": [], "transforms": 0}
    fit_fold = Tuner.fit_fold

    def counting_fit_fold(self, family, params, fold):
        calls["folds"].append((family, fold.name, json.dumps(params, sort_keys=True)))
        return fit_fold(self, family, params, fold)

    kernel_features = tc.FoldCache.kernel_features

    def counting_kernel_features(self, model, train):
        before = tc.STATS["computed"]
        out = kernel_features(self, model, train)
        calls["transforms"] += tc.STATS["computed"] - before
        return out

    monkeypatch.setattr(Tuner, "fit_fold", counting_fit_fold)
    monkeypatch.setattr(tc.FoldCache, "kernel_features", counting_kernel_features)
    return calls


@pytest.mark.slow
def test_tiny_study_stores_every_trial_with_an_equal_budget_and_reuses_the_fold_cache(suite_file, counted, capsys):
    assert tune(suite_file, "--trials", "2", "--study-id", "s", "--write-suite", "tuned.toml") == 0
    study = Path("studies/s")
    manifest = json.loads((study / "manifest.json").read_text())
    assert manifest["status"] == "complete" and manifest["synthetic"]
    assert manifest["budget"] == {"trials_per_family": 2, "timeout_per_family_s": None}
    assert manifest["objective"]["classes"] == ["S", "V"] and manifest["sampler"]["seed"] == 0
    assert manifest["families"] == ["minirocket", "tsfresh-xgboost"] and len(manifest["folds"]) == 2
    assert manifest["data_fingerprint"] and manifest["commit"] and manifest["versions"]["optuna"]
    for family in manifest["families"]:  # the same budget for every family, every trial stored
        trials = records(study, family)
        assert [r["number"] for r in trials] == [0, 1]
        for r in trials:
            assert r["state"] == "complete" and 0 <= r["value"] <= 1 and r["seconds"] > 0
            assert [f["fold"] for f in r["folds"]] == ["fold1", "fold2"]
            assert set(r["params"]) == set(search_space(family))
    # the kernel transforms: once per fold (one kernel count), reused by the second trial
    assert counted["transforms"] == 2
    first, second = records(study, "minirocket")
    assert first["cache"] == {"computed": 2, "reused": 0} and second["cache"] == {"computed": 0, "reused": 2}
    assert records(study, "tsfresh-xgboost")[1]["cache"] == {"computed": 0, "reused": 2}
    summary = (study / "summary.md").read_text()
    assert "SYNTHETIC" in summary and "| minirocket | 2 (2 / 0 / 0)" in summary and "### tsfresh-xgboost" in summary
    assert (study / "expected-max.png").stat().st_size > 1000
    assert (study / "cache" / ".gitignore").read_text().endswith("*\n")
    tuned = tomllib.loads(Path("tuned.toml").read_text())
    best = max(records(study, "minirocket"), key=lambda r: r["value"])
    assert tuned["model_params"]["minirocket"] == {"max_epochs": 3, **best["params"]}
    assert tuned["split"]["n_folds"] == 2 and tuned["datasets"] == ["synthetic"]
    # the tuned file is not overwritten unless asked; a rerun resumes and runs nothing
    capsys.readouterr()
    assert tune(suite_file, "--trials", "2", "--study-id", "s", "--write-suite", "tuned.toml") == 2
    assert "exists; add --force" in capsys.readouterr().err
    n_folds = len(counted["folds"])
    assert tune(suite_file, "--trials", "2", "--study-id", "s", "--write-suite", "tuned.toml", "--force") == 0
    assert len(counted["folds"]) == n_folds


@pytest.mark.slow
def test_cached_trial_scores_as_the_uncached_model(suite_file):
    from ecgbench.run.suite import load_suite
    from ecgbench.tuning.development import development_dataset, development_folds

    suite = load_suite(suite_file)
    dataset = development_dataset(suite, "synthetic", None)
    fold = development_folds(dataset, suite)[0]
    tuner = Tuner.__new__(Tuner)
    tuner.suite, tuner.dataset = suite, dataset
    tuner.cache = tc.FoldCache(Path("cache"), dataset.X, "fp")
    for family, params in (
        ("minirocket", {"max_epochs": 3, "num_kernels": 168}),
        ("tsfresh-xgboost", {"selection_beats": 80, "max_features": 7, "n_estimators": 10, "early_stopping_rounds": 0}),
    ):
        cached = tuner.fit_fold(family, params, fold)
        hooks = (tc.FoldCache.hook_kernel_model, tc.FoldCache.hook_tsfresh_model)
        with pytest.MonkeyPatch.context() as patch:
            for hook in hooks:
                patch.setattr(tc.FoldCache, hook.__name__, lambda *a, **k: False)
            plain = tuner.fit_fold(family, params, fold)
        np.testing.assert_allclose(cached, plain, rtol=0, atol=1e-12)


@pytest.mark.slow
def test_an_interrupted_study_resumes_without_repeating_finished_trials(tmp_path, counted, monkeypatch, capsys):
    path = one_family_suite(tmp_path)
    fit_fold = Tuner.fit_fold  # counting (the fixture)
    stopped = []

    def interrupted_in_the_second_trial(self, family, params, fold):
        if len(counted["folds"]) == 3:  # trial 1, its second fold
            stopped.append(json.dumps(params, sort_keys=True))
            raise KeyboardInterrupt
        return fit_fold(self, family, params, fold)

    monkeypatch.setattr(Tuner, "fit_fold", interrupted_in_the_second_trial)
    assert tune(path, "--trials", "3", "--study-id", "r") == 130
    assert "the finished trials are kept; to continue: python -m ecgbench tune" in capsys.readouterr().err
    study = Path("studies/r")
    assert json.loads((study / "manifest.json").read_text())["status"] == "interrupted"
    assert [r["number"] for r in records(study, "minirocket")] == [0]
    partial = (study / "summary.md").read_text()  # the report of what was finished, marked partial
    assert "**Partial:** the study was interrupted" in partial and "minirocket 1 of 3 trials" in partial
    monkeypatch.setattr(Tuner, "fit_fold", fit_fold)
    counted["folds"].clear()
    assert tune(path, "--trials", "3", "--study-id", "r") == 0
    assert "Partial" not in (study / "summary.md").read_text()
    # 2 trials left, two folds each: the finished one is not run again, the interrupted one is, as it was
    assert len(counted["folds"]) == 4 and counted["folds"][0][2] == stopped[0]
    finished = [r for r in records(study, "minirocket") if r["state"] in FINISHED]
    assert len(finished) == 3
    # reproducible from the seed: an uninterrupted study draws the same parameters
    assert tune(path, "--trials", "3", "--study-id", "u") == 0
    assert [r["params"] for r in finished] == [r["params"] for r in records(Path("studies/u"), "minirocket")]
    # a larger budget extends the study
    assert tune(path, "--trials", "4", "--study-id", "u") == 0
    assert len(records(Path("studies/u"), "minirocket")) == 4


@pytest.mark.slow
def test_the_folds_tsfresh_entries_extract_each_column_once(suite_file):
    # Every fold's entry holds the same development beats: a fold extracts only the columns no fold before it did.
    from ecgbench.core.cache import read_entry
    from ecgbench.models import build
    from ecgbench.models.feature_cache import beats_folder
    from ecgbench.run.suite import load_suite
    from ecgbench.tuning.development import development_dataset, development_folds

    suite = load_suite(suite_file)
    dataset = development_dataset(suite, "synthetic", None)
    cache = tc.FoldCache(Path("cache"), dataset.X, "fp")
    model = build("tsfresh-xgboost", n_classes=dataset.n_classes, selection_beats=80, max_features=7)
    selected = []
    for fold in development_folds(dataset, suite):
        columns, values = cache.tsfresh_features(model, fold.train, dataset.y[fold.train], top=12)
        assert values.shape == (len(dataset.X), len(columns))
        selected.append(columns)
    assert set(selected[0]) != set(selected[1])  # the folds rank the features differently
    entries = [read_entry(path) for path in sorted(beats_folder(dataset.X).glob("*.npz"))]
    extracted = [str(c) for entry in entries for c in entry["columns"]]
    assert sorted(extracted) == sorted(set(selected[0]) | set(selected[1]))  # each column once, none missing


def one_family_suite(tmp_path, n_folds: int = 2) -> Path:
    path = tmp_path / "one.toml"
    path.write_text(
        SUITE.replace('["minirocket", "tsfresh-xgboost"]', '["minirocket"]').replace(
            "n_folds = 2", f"n_folds = {n_folds}"
        )
    )
    return path


@pytest.mark.slow
def test_trials_doing_badly_after_their_first_folds_are_pruned(tmp_path, monkeypatch):
    """No model is trained: trials 0-4 predict every beat right, the later ones call every beat N."""
    calls = []

    def fake_fit_fold(self, family, params, fold):
        calls.append(fold.name)
        trial = (len(calls) - 1) // len(self.folds)
        truth = self.dataset.y[fold.test]
        return np.eye(self.dataset.n_classes)[truth if trial < 5 else np.zeros_like(truth)]

    monkeypatch.setattr(Tuner, "fit_fold", fake_fit_fold)
    assert tune(one_family_suite(tmp_path, n_folds=3), "--trials", "7", "--study-id", "p") == 0
    trials = records(Path("studies/p"), "minirocket")
    assert [r["state"] for r in trials] == ["complete"] * 5 + ["pruned"] * 2
    assert all(r["value"] == 1.0 for r in trials[:5])
    assert [r["pruned_after_fold"] for r in trials[5:]] == [2, 2] and len(calls) == 5 * 3 + 2 * 2
    assert "| minirocket | 7 (5 / 2 / 0)" in Path("studies/p/summary.md").read_text()


@pytest.mark.slow
def test_failed_trials_are_recorded_and_count_and_the_time_budget_stops_a_family(tmp_path, monkeypatch):
    def failing(self, family, params, fold):
        raise ValueError("no luck")

    monkeypatch.setattr(Tuner, "fit_fold", failing)
    assert tune(one_family_suite(tmp_path), "--trials", "2", "--study-id", "f") == 0
    trials = records(Path("studies/f"), "minirocket")
    assert [r["state"] for r in trials] == ["failed", "failed"] and "ValueError: no luck" in trials[0]["error"]
    assert "No completed trial." in Path("studies/f/summary.md").read_text()
    # a time budget already spent by the first trial: one trial, whatever --trials says
    assert tune(one_family_suite(tmp_path), "--trials", "5", "--study-id", "t", "--timeout-per-family", "1e-9") == 0
    assert len(records(Path("studies/t"), "minirocket")) == 1


@pytest.mark.slow
def test_workers_share_the_study_and_keep_to_the_budget(tmp_path):
    """Two processes on one journal (the spawned workers search minirocket's full space)."""
    path = one_family_suite(tmp_path)
    assert tune(path, "--trials", "2", "--study-id", "w", "--workers", "2") == 0
    trials = records(Path("studies/w"), "minirocket")
    assert sorted(r["number"] for r in trials) == [0, 1] and {r["state"] for r in trials} == {"complete"}


# ---- a job array: tune --plan-only, tune-worker processes, tune for the report -----------------------------------


def perfect_fit_fold(self, family, params, fold):
    """No model trained: every held-back beat predicted right."""
    return np.eye(self.dataset.n_classes)[self.dataset.y[fold.test]]


def test_plan_only_writes_the_manifest_and_runs_no_trial(tmp_path, counted, capsys):
    path = one_family_suite(tmp_path)
    assert tune(path, "--trials", "2", "--study-id", "p", "--plan-only") == 0
    out = capsys.readouterr().out
    assert "planned: studies/p" in out
    assert "each worker runs: python -m ecgbench tune-worker studies/p --threads 1" in out
    report = f"python -m ecgbench tune {path} --results-dir studies --threads 1 --trials 2 --study-id p\n"
    assert f"the report: {report}" in out
    study = Path("studies/p")
    manifest = json.loads((study / "manifest.json").read_text())
    assert manifest["kind"] == "tuning study" and manifest["status"] == "planned"
    assert manifest["budget"]["trials_per_family"] == 2 and len(manifest["invocations"]) == 1
    assert counted["folds"] == [] and records(study, "minirocket") == [] and not (study / "summary.md").exists()
    # planned again with a larger budget: the same study, extended; with another seed: another study, refused
    assert tune(path, "--trials", "3", "--study-id", "p", "--plan-only") == 0
    manifest = json.loads((study / "manifest.json").read_text())
    assert manifest["budget"]["trials_per_family"] == 3 and len(manifest["invocations"]) == 2
    capsys.readouterr()
    assert tune(path, "--trials", "3", "--study-id", "p", "--plan-only", "--seed", "1") == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert "studies/p holds another study (different sampler)" in error
    assert json.loads((study / "manifest.json").read_text()) == manifest


def test_tune_is_refused_while_a_worker_holds_the_study(tmp_path, capsys, monkeypatch):
    import fcntl

    from ecgbench.tuning import development

    path = one_family_suite(tmp_path)
    assert tune(path, "--trials", "1", "--study-id", "l", "--plan-only") == 0
    study = Path("studies/l")
    planned = (study / "manifest.json").read_bytes()
    capsys.readouterr()
    with open(study / "workers.lock", "a+") as worker:  # what a tune-worker holds while it runs trials
        fcntl.flock(worker, fcntl.LOCK_SH)
        assert tune(path, "--trials", "1", "--study-id", "l") == 2
        err = capsys.readouterr().err
        assert "studies/l: the study has worker processes running trials" in err
        assert "wait for them or stop them, then rerun" in err and len(err.strip().splitlines()) == 1
        assert (study / "manifest.json").read_bytes() == planned  # refused before anything changed
        fcntl.flock(worker, fcntl.LOCK_UN)
        # a worker that starts while tune loads the data: refused all the same, before the journal is recovered
        load = development.development_dataset

        def a_worker_starts_meanwhile(*args, **kwargs):
            fcntl.flock(worker, fcntl.LOCK_SH)
            return load(*args, **kwargs)

        monkeypatch.setattr(development, "development_dataset", a_worker_starts_meanwhile)
        assert tune(path, "--trials", "1", "--study-id", "l") == 2
        (error,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
        assert "the study has worker processes running trials" in error
        assert (study / "manifest.json").read_bytes() == planned
        monkeypatch.setattr(development, "development_dataset", load)
        fcntl.flock(worker, fcntl.LOCK_UN)
    held = []  # whether a process running trials holds the lock, as tune's recover sees it

    def fit_fold_seeing_the_lock(self, family, params, fold):
        with open(study / "workers.lock", "a+") as probe:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                held.append(False)
            except BlockingIOError:
                held.append(True)
        return perfect_fit_fold(self, family, params, fold)

    monkeypatch.setattr(Tuner, "fit_fold", fit_fold_seeing_the_lock)
    assert tune(path, "--trials", "1", "--study-id", "l") == 0
    assert [r["state"] for r in records(study, "minirocket")] == ["complete"] and held == [True, True]
    with open(study / "workers.lock", "a+") as after:  # tune and its trials left no lock behind
        fcntl.flock(after, fcntl.LOCK_EX | fcntl.LOCK_NB)


@pytest.mark.parametrize(
    "manifest, message",
    [
        (None, "no manifest.json in it"),
        ({"kind": "run", "schema_version": 1}, "its manifest.json is of kind 'run', not 'tuning study'"),
        ([], "its manifest.json is of kind None"),
    ],
)
def test_tune_worker_refuses_a_folder_that_is_not_a_study(capsys, manifest, message):
    folder = Path("not-a-study")
    folder.mkdir()
    if manifest is not None:
        (folder / "manifest.json").write_text(json.dumps(manifest))
    assert cli.main(["tune-worker", str(folder), "--threads", "1"]) == 2
    err = capsys.readouterr().err
    assert f"not-a-study is not a tuning study folder ({message}" in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert sorted(p.name for p in folder.iterdir()) == (["manifest.json"] if manifest is not None else [])


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("data_fingerprint", "0" * 64, "the development data read from"),
        (
            "search_spaces",
            {"minirocket": {"num_kernels": "one of 84"}},
            "this ecgbench searches other spaces than the study studies/o was planned with (minirocket)",
        ),
    ],
)
def test_tune_worker_refuses_a_study_of_other_data_or_spaces(tmp_path, capsys, counted, key, value, message):
    assert tune(one_family_suite(tmp_path), "--trials", "1", "--study-id", "o", "--plan-only") == 0
    path = Path("studies/o/manifest.json")
    path.write_text(json.dumps({**json.loads(path.read_text()), key: value}))
    capsys.readouterr()
    assert cli.main(["tune-worker", "studies/o", "--threads", "1"]) == 2
    (error,) = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert f"error: tune-worker: {message}" in error and "studies/o" in error
    assert counted["folds"] == [] and records(Path("studies/o"), "minirocket") == []


def tune_worker(study: Path, **popen) -> subprocess.Popen:
    """A tune-worker process, as a job array's task starts it."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    command = [sys.executable, "-m", "ecgbench", "tune-worker", str(study), "--threads", "1"]
    return subprocess.Popen(command, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


@pytest.mark.slow
def test_job_array_two_tune_workers_share_the_budget_then_tune_writes_the_report(tmp_path, counted):
    path = tmp_path / "two.toml"
    path.write_text(
        SUITE.replace('"tsfresh-xgboost"', '"rocket"').replace(
            "[model_params.tsfresh-xgboost]\nselection_beats = 80\nearly_stopping_rounds = 0",
            "[model_params.rocket]\nmax_epochs = 3",
        )
    )
    assert tune(path, "--trials", "2", "--study-id", "a", "--plan-only") == 0
    study = Path("studies/a")
    workers = [tune_worker(study), tune_worker(study)]
    outputs = [w.communicate() for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    ran = [int(re.search(r"this worker ran (\d+) trial", out).group(1)) for out, _ in outputs]
    assert sum(ran) == 4  # together, the budget of both families
    for family in ("minirocket", "rocket"):  # the budget exactly, no trial number twice
        trials = records(study, family)
        assert sorted(r["number"] for r in trials) == [0, 1] and {r["state"] for r in trials} == {"complete"}
    assert json.loads((study / "manifest.json").read_text())["status"] == "planned"
    # the same command without --plan-only: no budget left, so no trial; the report and the tuned suite
    assert tune(path, "--trials", "2", "--study-id", "a", "--write-suite", "tuned.toml") == 0
    assert counted["folds"] == []
    assert json.loads((study / "manifest.json").read_text())["status"] == "complete"
    assert "| minirocket | 2 (2 / 0 / 0)" in (study / "summary.md").read_text()
    assert (study / "expected-max.png").stat().st_size > 1000
    assert set(tomllib.loads(Path("tuned.toml").read_text())["model_params"]) == {"minirocket", "rocket"}


@pytest.mark.slow
def test_job_array_a_terminated_worker_leaves_its_trial_to_run_again(tmp_path):
    from optuna.trial import TrialState

    path = one_family_suite(tmp_path)
    assert tune(path, "--trials", "2", "--study-id", "k", "--plan-only") == 0
    study = Path("studies/k")
    worker = tune_worker(study)
    for line in iter(worker.stderr.readline, ""):  # SIGTERM (a job's time limit) once it runs a trial
        if "minirocket trial 0:" in line:
            break
    worker.send_signal(signal.SIGTERM)
    _, err = worker.communicate()
    assert worker.returncode == 143 and "interrupted (SIGTERM)" in err, err
    journal = optuna_study(StudyFolder(study), "minirocket", 0)
    (interrupted,) = journal.get_trials(states=(TrialState.RUNNING,))  # trial 0, unless it finished meanwhile
    assert interrupted.number not in [r["number"] for r in records(study, "minirocket")]  # it has no record
    # tune, once no worker runs, runs it again with its parameters, then the rest of the budget
    assert tune(path, "--trials", "2", "--study-id", "k") == 0
    finished = records(study, "minirocket")
    assert len(finished) == 2 and {r["state"] for r in finished} == {"complete"}
    assert interrupted.params in [r["params"] for r in finished if r["number"] != interrupted.number]


@pytest.mark.slow
def test_mitdb_inter_is_tuned_on_ds1_without_reading_any_ds2_file(tmp_path, wfdb, monkeypatch):
    """A copy of mitdb with the DS1 records only: the full dataset cannot load, tune's development set does, and
    no DS2 record is asked for."""
    from ecgbench.core.errors import EcgbenchError
    from ecgbench.data import load_dataset
    from ecgbench.data import wfdb_dataset as wd
    from ecgbench.data.mitdb import DS1, DS2
    from tests.conftest import _write_record

    monkeypatch.setenv("ECGBENCH_CACHE", str(tmp_path / "beat-cache"))
    folder = tmp_path / "data" / "mitdb"
    folder.mkdir(parents=True)
    for i, record in enumerate(DS1):
        _write_record(wfdb, folder, record, 360, seed=i, lead_names=("MLII", "V1"))
    with pytest.raises(EcgbenchError, match="not found"):
        load_dataset("mitdb-inter", tmp_path / "data")
    asked = []
    read_records = wd.read_records  # every WFDB read of a dataset goes through it

    def recording(folder, records, *args, **kwargs):
        asked.extend(records)
        return read_records(folder, records, *args, **kwargs)

    monkeypatch.setattr(wd, "read_records", recording)
    suite = tmp_path / "inter.toml"
    suite.write_text(
        'datasets = ["mitdb-inter"]\nmodels = ["minirocket"]\n[split]\nprotocol = "predefined"\n'
        'n_folds = 2\n[dataset_params.mitdb-inter]\ncontext = ["rr"]\n'
        "[model_params.minirocket]\nmax_epochs = 2\n"
    )
    assert (
        cli.main(
            [
                "tune",
                str(suite),
                "--trials",
                "1",
                "--results-dir",
                "studies",
                "--study-id",
                "m",
                "--data-dir",
                str(tmp_path / "data"),
                "--threads",
                "1",
            ]
        )
        == 0
    )
    assert asked and set(asked) <= set(DS1) and not set(asked) & set(DS2)
    manifest = json.loads(Path("studies/m/manifest.json").read_text())
    assert manifest["development"]["records"] == sorted(int(r) for r in DS1)
    assert "never read" in manifest["development"]["part"]
    assert manifest["objective"]["classes"] == ["V"]  # these records have N and V beats only


class NoSpace(BaseModel):
    name = "no-space-model"
    default_params = {"C": 1.0}


@pytest.fixture
def no_space_model(monkeypatch):
    from ecgbench.models import MODELS

    model_class("minirocket")  # the registry is loaded
    monkeypatch.setitem(MODELS._entries, NoSpace.name, NoSpace)  # for this test only


@pytest.mark.parametrize(
    "options, message",
    [
        (["--trials", "0"], "--trials must be at least 1"),
        (["--workers", "0"], "--workers must be at least 1"),
        (["--timeout-per-family", "-3"], "--timeout-per-family must be a positive"),
        (["--study-id", "a/b"], "--study-id"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(suite_file, capsys, options, message):
    assert tune(suite_file, *options) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize(
    "models, message",
    [
        ('["minirocket", "nope"]', "unknown model 'nope'"),
        ('["minirocket", "no-space-model"]', "model 'no-space-model' declares no search space"),
    ],
)
def test_models_without_a_space_or_unknown_are_refused_by_name(tmp_path, capsys, no_space_model, models, message):
    path = tmp_path / "bad.toml"
    path.write_text(SUITE.replace('["minirocket", "tsfresh-xgboost"]', models))
    assert tune(path) == 2
    err = capsys.readouterr().err
    assert message in err.lower() or message in err
    assert len(err.strip().splitlines()) == 1 and not Path("studies").exists()


def test_an_unknown_suite_file_is_one_line(capsys):
    assert tune("missing.toml") == 2
    err = capsys.readouterr().err
    assert "suite file missing.toml does not exist" in err and len(err.strip().splitlines()) == 1


def test_expected_maximum_is_the_mean_best_of_n_draws_with_replacement():
    import itertools

    scores = [0.2, 0.5, 0.9]
    for n in (1, 2, 3):
        best = [max(draw) for draw in itertools.product(scores, repeat=n)]
        mean, std = expected_max(scores, n)
        assert mean == pytest.approx(np.mean(best)) and std == pytest.approx(np.std(best))


def test_a_search_range_outside_the_parameter_is_refused():
    with pytest.raises(ValueError, match="outside"):
        Param(5, low=1, search=(0, 10))
    with pytest.raises(ValueError, match="not both"):
        Param(5, search=(1, 10), search_choices=(1, 2))
    assert issubclass(NoSpace, Model)


def test_docs_tuning_md_lists_every_models_space_as_the_code_declares_it():
    from ecgbench.tuning.docs import spaces_markdown

    text = Path(__file__).resolve().parent.parent.joinpath("docs/tuning.md").read_text()
    block = re.search(r"<!-- spaces: begin -->\n(.*)<!-- spaces: end -->", text, re.S)
    assert block, "docs/tuning.md lost its generated block"
    assert block.group(1) == spaces_markdown(), (
        "docs/tuning.md is out of date: regenerate it with `python -m ecgbench.tuning.docs`"
    )
