"""Running the grid anywhere (docs/scaling.md): Dask executors, run-cell / cells / finish, the run lock, faults,
GPU routing, tsfresh in parallel. Quick-sized: two cheap models on the embedded synthetic data."""

import json
import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.core import threads
from ecgbench.core.errors import EcgbenchError
from ecgbench.run import executors
from ecgbench.run.records import Failure
from ecgbench.run.store import RunStore
from ecgbench.run.suite import Suite, load_suite
from tests.conftest import write_plugin

pytestmark = pytest.mark.slow  # starts Dask clusters, subprocesses and runs

REPO = Path(__file__).resolve().parents[1]
FAST = [
    "--model",
    "minirocket",
    "--model",
    "rocket",
    "--dataset",
    "synthetic",
    "--quick",
    "--seeds",
    "0",
    "1",
    "--threads",
    "1",
]
TIMING = ["run_id", "fit_seconds", "predict_seconds", "beats_per_second", "peak_memory_mb"]


@pytest.fixture(autouse=True)
def workers_import_this_tree(monkeypatch):
    """Dask's worker processes import the ecgbench under test; the threads setting is restored afterwards."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.setattr(threads, "_threads", threads._threads)


def run(root: Path, run_id: str, *extra: str) -> int:
    return main(
        ["run", *FAST, "--run-id", run_id, "--results-dir", str(root), "--data-dir", str(root / "no-data"), *extra]
    )


@pytest.fixture(scope="module")
def serial_and_parallel(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", str(REPO))
    try:
        assert run(root, "serial") == 0
        assert run(root, "parallel", "--workers", "2") == 0
    finally:
        mp.undo()
    return root / "serial", root / "parallel"


def without_timings(summary: str) -> list[str]:
    """summary.md less what differs between two runs of the same cells: the command, times, the cost columns."""
    lines, cost_table = [], False
    for line in summary.splitlines():
        if line.startswith(("- command:", "- finished:", "# ecgbench run")) or line[:4] == "- 20":
            continue
        cost_table = ("fit (s)" in line) or (cost_table and line.startswith("|"))
        lines.append("|".join(line.split("|")[:-4]) if cost_table else line)
    return lines


def test_serial_and_two_workers_give_identical_results(serial_and_parallel):
    serial, parallel = serial_and_parallel
    a, b = (pd.read_csv(run / "results.csv").drop(columns=TIMING) for run in serial_and_parallel)
    assert len(a) == 4
    pd.testing.assert_frame_equal(a, b)
    for cell in sorted((serial / "cells").glob("*/*/*/seed*")):
        twin = parallel / cell.relative_to(serial)
        pd.testing.assert_frame_equal(
            pd.read_parquet(cell / "predictions.parquet"), pd.read_parquet(twin / "predictions.parquet")
        )
        assert "transformed" in (twin / "log.txt").read_text()  # the worker's log lines, in the cell's folder
    summaries = [without_timings((run / "summary.md").read_text()) for run in serial_and_parallel]
    assert summaries[0] == summaries[1] and any("| minirocket |" in line for line in summaries[0])
    assert not (serial / "lock.json").exists() and not (parallel / "lock.json").exists()
    assert json.loads((parallel / "manifest.json").read_text())["status"] == "complete"


def test_an_interrupted_serial_run_is_finished_cell_by_cell(tmp_path, monkeypatch, capsys, serial_and_parallel):
    calls = []
    real = executors.run_cell

    def stop_after_one(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C during the second cell
        return real(*args, **kwargs)

    monkeypatch.setattr(executors, "run_cell", stop_after_one)
    assert run(tmp_path, "r") == 130
    monkeypatch.setattr(executors, "run_cell", real)
    folder = tmp_path / "r"
    assert not (folder / "lock.json").exists()
    capsys.readouterr()
    assert main(["cells", str(folder)]) == 0
    left = capsys.readouterr().out.split()
    assert main(["cells", str(folder), "--all"]) == 0
    every = capsys.readouterr().out.split()
    assert len(every) == 4 and left == every[1:] and every[0] == "synthetic/holdout/minirocket/seed0"

    for cell_id in left:  # a bash loop standing in for a job array
        assert main(["run-cell", str(folder), cell_id, "--data-dir", str(tmp_path / "no-data")]) == 0
        assert not (folder / "cells" / cell_id / "lock.json").exists()
    assert main(["run-cell", str(folder), left[0]]) == 0
    assert "finished earlier, kept" in capsys.readouterr().out
    assert main(["cells", str(folder)]) == 0 and capsys.readouterr().out == ""
    assert main(["finish", str(folder)]) == 0
    serial, _ = serial_and_parallel
    pd.testing.assert_frame_equal(
        pd.read_csv(folder / "results.csv").drop(columns=TIMING),
        pd.read_csv(serial / "results.csv").drop(columns=TIMING),
    )
    assert json.loads((folder / "manifest.json").read_text())["status"] == "complete"


class _FailingEveryCell(executors.Executor):
    """An executor of its own: records what it was given, fails every cell through the shared books."""

    def __init__(self):
        self.given: list[list] = []

    def run_pending(self, plan):
        self.given.append(list(plan.pending))
        tally = executors.Tally(len(plan.pending))
        for key in plan.pending:
            tally.failed(Failure(key.id, "RuntimeError", "boom"))
        return tally.failures


def test_an_executor_runs_only_the_pending_cells_and_the_shared_books_name_the_rest(log_lines):
    from ecgbench.run.runner import Plan
    from ecgbench.run.store import CellKey

    cells = [CellKey.from_id(f"synthetic/holdout/knn/seed{seed}") for seed in range(3)]
    plan = Plan(store=None, suite=None, data_dir=None, manifest={}, cells=cells, pending=cells[1:])
    executor = _FailingEveryCell()
    assert executor.run(plan) == [Failure(key.id, "RuntimeError", "boom") for key in cells[1:]]
    assert executor.given == [cells[1:]]
    assert [line for line in log_lines if "kept" in line] == ["knn on synthetic/holdout seed 0: finished earlier, kept"]
    assert log_lines[-1].startswith("progress: 2 done / 0 running / 0 left")
    done = Plan(store=None, suite=None, data_dir=None, manifest={}, cells=cells, pending=[])
    assert executor.run(done) == [] and len(executor.given) == 1  # nothing pending: run_pending is not called


def test_run_cell_refuses_a_cell_the_run_does_not_have(tmp_path, capsys):
    assert run(tmp_path, "p", "--plan-only") == 0
    assert not list((tmp_path / "p").glob("cells/*/*/*/seed*/metrics.json"))
    assert main(["run-cell", str(tmp_path / "p"), "synthetic/holdout/cnn/seed0"]) == 2
    assert "is not a cell of" in capsys.readouterr().err
    assert main(["finish", str(tmp_path / "p")]) == 2
    assert "4 cell(s)" in capsys.readouterr().err


def write_lock(path: Path, host: str, pid: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host, "pid": pid, "started": "2026-01-01T00:00:00+0000"}))


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_second_client_is_refused_and_a_stale_lock_taken_over(tmp_path, capsys):
    folder = tmp_path / "r"
    write_lock(folder / "lock.json", socket.gethostname(), os.getppid())  # a live process on this host
    assert run(tmp_path, "r", "--plan-only") == 2
    error = capsys.readouterr().err
    assert f"in use by process {os.getppid()} on host {socket.gethostname()}" in error and "2026-01-01" in error

    write_lock(folder / "lock.json", "elsewhere.example", dead_pid())  # another host: cannot be checked, refused
    assert run(tmp_path, "r", "--plan-only") == 2
    assert "on host elsewhere.example" in capsys.readouterr().err

    stale = dead_pid()
    write_lock(folder / "lock.json", socket.gethostname(), stale)
    assert run(tmp_path, "r", "--plan-only") == 0
    assert f"taking over the stale lock of process {stale}" in capsys.readouterr().err
    assert not (folder / "lock.json").exists()


def test_the_cell_lock_keeps_two_run_cells_apart(tmp_path):
    store = RunStore(tmp_path)
    key = executors.CellKey("synthetic", "holdout", "rocket", 0)
    with store.cell_lock(key):
        lock = json.loads((store.cell_dir(key) / "lock.json").read_text())
        assert lock["pid"] == os.getpid() and lock["host"] == socket.gethostname() and lock["started"]
        write_lock(store.cell_dir(key) / "lock.json", socket.gethostname(), os.getppid())
        with pytest.raises(EcgbenchError, match="cell synthetic/holdout/rocket/seed0 .* is in use"):
            store.cell_lock(key).acquire()


CRASH_PLUGIN = '''
import os, signal
from ecgbench.models import Model


class Crash(Model):
    """Kills its own process while fitting, as the out-of-memory killer would."""

    description = "dies while fitting (test plugin)"

    def _fit(self, X, y, X_val, y_val):
        os.kill(os.getpid(), signal.SIGKILL)

    def _predict_proba(self, X):
        raise AssertionError("never reached")
'''


def test_a_worker_that_dies_fails_only_its_cell(tmp_path):
    write_plugin(tmp_path, "crash_plugin", CRASH_PLUGIN, "crash = crash_plugin:Crash")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecgbench",
            "run",
            "--model",
            "minirocket",
            "--model",
            "crash",
            "--dataset",
            "synthetic",
            "--quick",
            "--run-id",
            "d",
            "--results-dir",
            str(tmp_path),
            "--workers",
            "1",
            "--retries",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    cells = tmp_path / "d" / "cells" / "synthetic" / "holdout"
    assert (cells / "minirocket" / "seed0" / "metrics.json").is_file()
    error = (cells / "crash" / "seed0" / "error.txt").read_text()
    assert "WorkerDied" in error and "died (killed, or out of memory) 2 time(s)" in error
    assert "trying again (1 of 1)" in done.stderr
    assert "synthetic/holdout/crash/seed0: WorkerDied" in done.stderr
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["status"] == "failed cells" and [f["cell"] for f in manifest["failures"]] == [
        "synthetic/holdout/crash/seed0"
    ]


SEED0_CRASH_PLUGIN = '''
import os, signal
import numpy as np
from ecgbench.models import Model


class Crash(Model):
    """Kills its own process while fitting seed 0; the other seeds predict the class priors."""

    description = "dies while fitting seed 0 (test plugin)"

    def _fit(self, X, y, X_val, y_val):
        if self.seed == 0:
            os.kill(os.getpid(), signal.SIGKILL)
        self.priors = np.bincount(y, minlength=self.n_classes) / len(y)

    def _predict_proba(self, X):
        return np.tile(self.priors, (len(X), 1))
'''


def test_a_dead_worker_fails_only_the_cell_it_was_running_not_those_queued_on_it(tmp_path):
    """One worker; crash seed 0 kills it while seed 1 waits queued on it (Dask fails such tasks with the worker).
    Seed 1 never started, so it runs again on the restarted worker, no try counted (--retries 0), and finishes."""
    write_plugin(tmp_path, "crash_plugin", SEED0_CRASH_PLUGIN, "crash = crash_plugin:Crash")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecgbench",
            "run",
            "--model",
            "crash",
            "--model",
            "minirocket",
            "--dataset",
            "synthetic",
            "--quick",
            "--seeds",
            "0",
            "1",
            "--run-id",
            "q",
            "--results-dir",
            str(tmp_path),
            "--workers",
            "1",
            "--retries",
            "0",
            "--threads",
            "1",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=300,
    )
    assert done.returncode == 1, done.stderr
    manifest = json.loads((tmp_path / "q" / "manifest.json").read_text())
    assert [f["cell"] for f in manifest["failures"]] == ["synthetic/holdout/crash/seed0"], done.stderr
    cells = tmp_path / "q" / "cells" / "synthetic" / "holdout"
    for model, seed in (("crash", 1), ("minirocket", 0), ("minirocket", 1)):
        assert (cells / model / f"seed{seed}" / "metrics.json").is_file(), (model, seed, done.stderr)
        assert not (cells / model / f"seed{seed}" / "error.txt").exists()


def test_gpu_cells_go_to_gpu_workers(tmp_path, monkeypatch):
    from distributed import Scheduler, SpecCluster, Worker

    from ecgbench.models import model_class
    from ecgbench.workflow import run_suite

    assert executors.uses_gpu("cnn") and executors.uses_gpu("lstm") and not executors.uses_gpu("rocket")
    monkeypatch.setattr(model_class("rocket"), "uses_gpu", True, raising=False)  # a cheap stand-in for a GPU model
    workers = {
        "cpu": {"cls": Worker, "options": {"nthreads": 1}},
        "gpu": {"cls": Worker, "options": {"nthreads": 1, "resources": {"GPU": 1}}},
    }
    with SpecCluster(workers=workers, scheduler={"cls": Scheduler, "options": {"dashboard_address": None}}) as cluster:
        executor = executors.DaskExecutor(executors.scheduler(cluster.scheduler_address), threads=1)
        suite = Suite(datasets=["synthetic"], models=["minirocket", "rocket"], seeds=[0, 1, 2])
        suite.make_quick()
        assert run_suite(suite, tmp_path / "g", tmp_path / "no-data", "test", executor) == []
    placed = {key.model: set() for key in executor.placements}
    for key, worker in executor.placements.items():
        placed[key.model].add(worker)
    assert placed["rocket"] == {"gpu"}  # every GPU cell on the GPU worker; the CPU cells may run on either
    assert len(executor.placements) == 6


def test_print_job_script_shows_the_queue_and_walltime(tmp_path, capsys):
    pytest.importorskip("dask_jobqueue")
    suite = tmp_path / "s.toml"
    suite.write_text(
        'datasets = ["synthetic"]\nmodels = ["minirocket"]\n\n'
        '[cluster]\nsystem = "slurm"\nqueue = "long"\nmemory = "8GB"\ncores = 4\nwalltime = "09:00:00"\n'
    )
    plain = tmp_path / "plain.toml"
    plain.write_text('datasets = ["synthetic"]\nmodels = ["minirocket"]\n')
    assert load_suite(suite).fingerprint() == load_suite(plain).fingerprint()  # where it runs is not what it is
    code = main(
        [
            "run",
            "--suite",
            str(suite),
            "--quick",
            "--threads",
            "2",
            "--walltime",
            "01:30:00",
            "--print-job-script",
            "--results-dir",
            str(tmp_path / "results"),
        ]
    )
    assert code == 0
    script = capsys.readouterr().out
    assert "#SBATCH -p long" in script and "#SBATCH -t 01:30:00" in script and "--cpus-per-task=4" in script
    assert "--nworkers 2" in script and script.rstrip().endswith("--nthreads 1")  # 2 cells of 2 threads per job
    assert "export OMP_NUM_THREADS=2" in script and "TF_CPP_MIN_LOG_LEVEL=3" in script
    assert not (tmp_path / "results").exists()  # nothing planned, nothing submitted


def test_an_unknown_cluster_key_is_named(tmp_path):
    suite = tmp_path / "s.toml"
    suite.write_text('datasets = ["synthetic"]\nmodels = ["minirocket"]\n[cluster]\nqueu = "long"\n')
    with pytest.raises(EcgbenchError, match="unknown \\[cluster\\] key\\(s\\) queu"):
        load_suite(suite)


# ---- progress on long passes over beats ---------------------------------------------------------------------------


def _progress_lines(caplog, prefix: str) -> list[str]:
    return [r.getMessage().split(" (")[0] for r in caplog.records if r.getMessage().startswith(prefix)]


def test_a_long_tsfresh_extraction_says_how_far_it_is_and_a_short_one_is_silent(monkeypatch, caplog):
    from ecgbench.core import progress
    from ecgbench.models.features import extract

    threads.set_threads(1)  # no pool: the pieces are the chunks asked for
    X = np.random.default_rng(0).random((25, 187)).astype(np.float32)
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)  # every piece is "a minute later"
    with caplog.at_level(logging.INFO, logger="ecgbench"):
        extract(X, {"mean": None}, chunk_size=10)
    lines = _progress_lines(caplog, "tsfresh features:")
    assert lines == ["tsfresh features: 10 of 25 beats", "tsfresh features: 20 of 25 beats"]  # not the last piece
    caplog.clear()
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 3600.0)
    with caplog.at_level(logging.INFO, logger="ecgbench"):
        extract(X, {"mean": None}, chunk_size=10)
    assert _progress_lines(caplog, "tsfresh features:") == []


def test_a_long_minirocket_prediction_says_how_far_it_is(monkeypatch, caplog):
    from ecgbench.core import progress
    from ecgbench.data import load_dataset
    from ecgbench.models import model_class

    data = load_dataset("synthetic", n_beats=1500)
    model = model_class("minirocket")(n_classes=5, seed=0, num_kernels=84, max_epochs=2)
    model.fit(data.X[:200], data.y[:200])
    model.predict_chunk_size = 10
    monkeypatch.setattr(progress, "PROGRESS_SECONDS", 0.0)
    with caplog.at_level(logging.INFO, logger="ecgbench"):
        model.predict_proba(data.X[200:225])
    assert _progress_lines(caplog, "minirocket: transform and classify:") == [
        f"minirocket: transform and classify: {n} of 25 beats" for n in (10, 20)
    ]


# ---- tsfresh over the cell's threads ----------------------------------------------------------------------------


def test_tsfresh_features_are_the_same_in_one_process_and_in_a_pool_of_two():
    from ecgbench.data import load_dataset
    from ecgbench.models.features import extract, feature_settings

    X = load_dataset("synthetic", n_beats=1500).X[:60]
    results = []
    for n in (1, 2):
        threads.set_threads(n)
        assert (threads.process_pool() is None) == (n == 1)
        results.append(extract(X, feature_settings(), chunk_size=25))
    (one, columns_one), (two, columns_two) = results
    assert columns_one == columns_two and one.shape == (60, len(columns_one))
    assert np.array_equal(one, two, equal_nan=True)


@pytest.mark.parametrize("name", ["minirocket", "rocket"])
def test_random_kernel_features_are_the_same_over_one_thread_and_two(name):
    from ecgbench.data import load_dataset
    from ecgbench.models import model_class

    X = load_dataset("synthetic", n_beats=1500).X[:300]
    features = []
    for n in (1, 2):
        threads.set_threads(n)
        with threads.pinned(n):
            model = model_class(name)(n_classes=5, seed=0, num_kernels=84)
            model.transformer = model.make_transformer().fit(X[:50, None, :].astype(np.float64))
            assert model.transformer.n_jobs == n  # sktime sets numba's threads to it for the transform
            features.append(model.transform(X))
    assert np.array_equal(features[0], features[1])


@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("name", ["minirocket", "rocket"])
def test_random_kernel_models_fit_the_same_weights_over_one_thread_and_two(name, average):
    from ecgbench.data import load_dataset
    from ecgbench.models import model_class

    data = load_dataset("synthetic", n_beats=1500)
    X, y = data.X[:600], data.y[:600]
    fitted = []
    for n in (1, 2):
        threads.set_threads(n)
        with threads.pinned(n):
            model = model_class(name)(n_classes=5, seed=0, num_kernels=84, max_epochs=3, average=average)
            model.fit(X[:500], y[:500], X[500:], y[500:])
            assert model.classifier.n_jobs == n  # the classes' one-against-the-rest problems on the threads
            fitted.append((model.classifier.coef_, model.predict_proba(X)))
    assert np.array_equal(fitted[0][0], fitted[1][0]) and np.array_equal(fitted[0][1], fitted[1][1])


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_random_kernel_standardisation_is_float32_arithmetic_of_the_widened_features(dtype):
    from ecgbench.models import model_class

    rng = np.random.default_rng(0)
    model = model_class("minirocket")(n_classes=5, seed=0)
    model.mean_ = rng.standard_normal(300).astype(np.float32)
    model.scale_ = (rng.random(300) + 0.5).astype(np.float32)
    features = rng.standard_normal((50, 300)).astype(dtype)
    expected = (features.astype(np.float32) - model.mean_) / model.scale_  # the formula the fitted weights assume
    standardised = model.standardise(features)
    assert standardised.dtype == np.float32 and np.array_equal(standardised, expected)


def _worker_state(_):
    return "xgboost" in sys.modules, os.environ["OMP_NUM_THREADS"], os.getpid()


def test_tsfresh_pool_workers_are_fresh_one_thread_processes_after_xgboost_trained():
    """The pool's workers are not forked from a process whose OpenMP threads exist (the hang of
    docs/decisions.md#tsfresh-one-process): they have not inherited its modules, and run one thread each."""
    from xgboost import XGBClassifier

    rng = np.random.default_rng(0)
    XGBClassifier(n_estimators=5, n_jobs=2).fit(rng.random((200, 5)), rng.integers(0, 2, 200))
    threads.set_threads(2)
    states = {state[:2] for state in threads.process_pool().map(_worker_state, range(8))}
    assert states == {(False, "1")}


def test_a_killed_tsfresh_worker_fails_the_extraction_by_name_and_the_next_gets_a_fresh_pool():
    import signal
    import threading

    import psutil

    from ecgbench.models.features import extract, feature_settings

    threads.set_threads(2)
    workers = {pid for _, _, pid in threads.process_pool().map(_worker_state, range(8))}  # the pool is reused
    X = np.random.default_rng(0).random((4000, 187)).astype(np.float32)
    outcome = {}

    def extraction():
        try:
            extract(X, feature_settings())
        except RuntimeError as exc:
            outcome["error"] = str(exc)

    worker = threading.Thread(target=extraction)
    worker.start()
    target = psutil.Process(min(workers))
    start = target.cpu_times().user
    while target.cpu_times().user < start + 0.5:  # until it is busy with the extraction's tasks
        threading.Event().wait(0.05)
    target.send_signal(signal.SIGKILL)
    worker.join()
    assert outcome.get("error") == "a tsfresh extraction worker died (killed, or out of memory)"
    again, _ = extract(X[:20], feature_settings())
    assert again.shape[0] == 20


def test_a_cell_s_tsfresh_pool_ends_with_the_cell():
    """pinned() (the runner's frame around a cell) shuts the pool down, so its workers' memory belongs to one cell."""
    import psutil

    threads.set_threads(2)
    with threads.pinned():
        workers = {pid for _, _, pid in threads.process_pool().map(_worker_state, range(4))}
    assert workers and not any(
        psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE for pid in workers
    )
    assert {state[:2] for state in threads.process_pool().map(_worker_state, range(4))} == {(False, "1")}


# ---- [cluster]: nothing from configuration runs as a shell command; a job that cannot start stops the run --------

BAD_CLUSTER = [  # (key, TOML value): each would put a command, or garbage, into the job script
    ("queue", '"short\\nhostname"'),
    ("queue", '"short;reboot"'),
    ("queue", '"short $(id)"'),
    ("walltime", '"01:00:00\\nrm -rf ~"'),
    ("walltime", '"1 hour"'),
    ("walltime", '"04:00:00`id`"'),
    ("memory", '"4GB\\nid"'),
    ("memory", '"lots"'),
    ("memory", '"4 GB|id"'),
    ("account", '"$(id)"'),
    ("account", '"proj\\u0000"'),
    ("system", '"slurm; id"'),
    ("job_extra_directives", '["--constraint=avx2\\n#SBATCH --wrap=id"]'),
    ("job_extra_directives", "[\"--comment='a b'\"]"),
    ("job_extra_directives", '["; id"]'),
]


@pytest.mark.parametrize("key, value", BAD_CLUSTER, ids=[f"{k}-{i}" for i, (k, _) in enumerate(BAD_CLUSTER)])
def test_a_cluster_string_that_could_run_a_command_is_refused_by_name(key, value, tmp_path, capsys):
    suite = tmp_path / "s.toml"
    memory = "" if key == "memory" else 'memory = "8GB"\n'
    suite.write_text(f'datasets = ["synthetic"]\nmodels = ["minirocket"]\n[cluster]\n{memory}{key} = {value}\n')
    code = main(["run", "--suite", str(suite), "--cluster", "--print-job-script", "--results-dir", str(tmp_path / "r")])
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err and out == ""
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert f"suite file {suite}: [cluster] {key} = " in line and "goes into the batch job script" in line
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "option, value",
    [
        ("--queue", "short\nhostname"),
        ("--walltime", "01:00:00;id"),
        ("--memory", "8GB && id"),
        ("--cluster", "slurm;id"),
    ],
)
def test_a_cluster_option_that_could_run_a_command_is_refused_by_name(option, value, tmp_path, capsys):
    extra = [] if option == "--cluster" else ["--cluster"]
    code = main(
        [
            "run",
            "--model",
            "minirocket",
            "--dataset",
            "synthetic",
            *extra,
            option,
            value,
            "--memory" if option != "--memory" else "--cores",
            "8GB" if option != "--memory" else "2",
            "--print-job-script",
            "--results-dir",
            str(tmp_path / "r"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: {option} = ") and "goes into the batch job script" in line


def test_the_cluster_strings_that_sites_use_pass(tmp_path):
    from ecgbench.run.suite import check_cluster

    check_cluster(
        {
            "system": "pbs",
            "queue": "long@server1",
            "walltime": "120:00:00",
            "memory": "1.5TiB",
            "account": "proj-2026_a",
            "job_extra_directives": ["--constraint=avx2", "-l select=1:ncpus=8", "--gres=gpu:a100:1", "--exclusive"],
        },
        "",
    )
    for walltime in ("1-12:00:00", "04:00", "0:30:00"):  # Slurm's days, LSF's HH:MM
        check_cluster({"walltime": walltime}, "")


def _fake_batch_system(folder: Path, sbatch: str | None) -> dict:
    """An environment whose PATH holds only ``sbatch`` (this shell script body, if given) and a scancel that notes
    the jobs it cancels in scancel.calls: a Slurm login node as far as dask-jobqueue can tell."""
    folder.mkdir()
    for name, body in (("sbatch", sbatch), ("scancel", 'echo "$@" >> "$0.calls"')):
        if body is not None:
            (folder / name).write_text(f"#!/bin/sh\n{body}\n")
            (folder / name).chmod(0o755)
    return {**os.environ, "PATH": str(folder)}


@pytest.mark.parametrize(
    "case, sbatch, words",
    [
        ("no-sbatch", None, ["--cluster slurm: its submit command 'sbatch' is not found"]),
        (
            "sbatch-refuses",
            'echo "sbatch: error: invalid partition specified: nosuch" >&2; exit 1',
            ["--cluster slurm: the batch system refused the job: exit code 1", "invalid partition specified: nosuch"],
        ),
        ("job-never-starts", 'echo "Submitted batch job 4242"', ["no batch job started a worker within 3 s"]),
        (
            "one-of-two-refused",
            'if /bin/mkdir "$0.first" 2>/dev/null; then echo "sbatch: error: job limit" >&2; '
            'exit 1; fi; echo "Submitted batch job 4243"',
            ["no batch job started a worker within 3 s"],
        ),
    ],
)
def test_a_cluster_job_that_cannot_start_stops_the_run_in_bounded_time(case, sbatch, words, tmp_path):
    pytest.importorskip("dask_jobqueue")
    suite = tmp_path / "s.toml"
    suite.write_text(
        'datasets = ["synthetic"]\nmodels = ["minirocket"]\n[cluster]\nqueue = "nosuch"\n'
        f'memory = "1GB"\nstart_timeout = 3\njobs = {2 if case == "one-of-two-refused" else 1}\n'
    )
    env = _fake_batch_system(tmp_path / "bin", sbatch)
    start = __import__("time").monotonic()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "ecgbench",
            "run",
            "--suite",
            str(suite),
            "--quick",
            "--cluster",
            "--run-id",
            "c",
            "--results-dir",
            str(tmp_path / "r"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    for word in words:
        assert word in line, (word, line)
    assert __import__("time").monotonic() - start < 100
    if case == "one-of-two-refused":  # the refusal is said, and the wait goes on for the other job
        assert "1 of 2 job(s) refused: exit code 1: sbatch: error: job limit" in done.stderr
    if case in ("job-never-starts", "one-of-two-refused"):  # the accepted job is cancelled as the run stops
        assert (tmp_path / "bin" / "scancel.calls").read_text().split() == ["4242" if "never" in case else "4243"]
    if case == "no-sbatch":  # refused before anything was planned
        assert not (tmp_path / "r" / "c").exists()


def test_only_this_client_can_reach_the_workers_cluster():
    """--workers: the scheduler speaks TLS with credentials made for this run alone; a client without them (plain
    TCP, or TLS with a certificate of its own) is refused by the scheduler and runs nothing."""
    from distributed import Client
    from distributed.security import Security

    ran = []
    with executors.local_cluster(1, 1)() as client:
        address = client.scheduler.address
        assert address.startswith("tls://127.0.0.1:")
        assert client.submit(lambda x: x + 1, 1).result(timeout=60) == 2  # its own workers do run
        for attempt, security in ((address.replace("tls://", "tcp://"), None), (address, Security.temporary())):
            with pytest.raises(OSError):  # the scheduler hangs up on it (timeout: bounded either way)
                intruder = Client(attempt, security=security, timeout="3s")
                ran.append(intruder.submit(os.getpid).result(timeout=5))
        assert ran == []


POOL_STARTER = """
import os, sys, time
from ecgbench.core import threads
threads.set_threads(2)
pids = set(threads.process_pool().map(lambda _: (time.sleep(0.5), os.getpid())[1], range(8)))
print(" ".join(map(str, sorted(pids))), flush=True)
time.sleep(120)  # killed long before this ends
"""


@pytest.mark.parametrize("use_prctl", [True, False], ids=["prctl", "polling-fallback"])
def test_tsfresh_pool_workers_die_with_a_sigkilled_parent(use_prctl, monkeypatch):
    """SIGKILL runs no clean-up in the parent: the workers must see its death themselves (PR_SET_PDEATHSIG on
    Linux, else a thread polling the parent), not wait out the pool's 10-minute idle timeout."""
    import signal
    import time

    import psutil

    code = (
        POOL_STARTER
        if use_prctl
        else POOL_STARTER.replace(
            "from ecgbench.core import threads",
            "from ecgbench.core import threads\nthreads.PR_SET_PDEATHSIG = -1  # refused",
        )
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        line = parent.stdout.readline()
        workers = [int(pid) for pid in line.split()]
        assert len(workers) == 2, line
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15

        def alive(pid):
            try:
                return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
            except psutil.NoSuchProcess:
                return False

        while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if alive(pid)], "orphaned pool workers"
    finally:
        parent.kill()
        parent.wait(timeout=30)


POOL_STOPPED = """
import os, sys, time
from pathlib import Path
from ecgbench.core import threads
from ecgbench.run.runner import sigterm_as_interrupt
from tqdm import tqdm
threads.set_threads(2)
marks = Path(sys.argv[1])

def piece(i):
    (marks / str(i)).write_text(str(os.getpid()))
    tqdm(disable=True)  # as tsfresh does: its lock must not outlive an ended worker
    time.sleep(0 if i == 0 else 600)  # every piece after the first outlasts the test
    return i

try:
    with sigterm_as_interrupt(), threads.pinned():
        for i in threads.map_in_pool(piece, range(40)):
            print(i, flush=True)
except KeyboardInterrupt:
    sys.exit(143)
"""


@pytest.mark.parametrize("signum", ["SIGTERM", "SIGINT"])
def test_a_stopped_cell_ends_its_pool_workers_instead_of_waiting_for_their_pieces(signum, tmp_path):
    """SIGTERM (a batch system's cancel) or Ctrl-C while pieces run in the process pool (tsfresh extraction): the
    process ends its workers and drops the pieces not begun. It used to wait for every piece in flight (minutes
    of extraction): the timeout below bounds a hang, the pieces here sleep ten minutes. Nothing is said after the
    stop: the workers' tqdm lock is no named semaphore left for the resource tracker to warn of."""
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "-c", POOL_STOPPED, str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout.readline() == "0\n"
        deadline = time.monotonic() + 60
        while len(list(tmp_path.iterdir())) < 3 and time.monotonic() < deadline:  # both workers in a long piece
            time.sleep(0.1)
        process.send_signal(getattr(signal, signum))
        _, err = process.communicate(timeout=90)
        assert process.returncode == 143 and err == "", err
        assert len(list(tmp_path.iterdir())) < 40  # the pieces not begun were dropped
    finally:
        process.kill()
        process.wait(timeout=30)


_RELEASE = __import__("threading").Event()


def _slow_cell(*args, **kwargs):
    """The cell running when its worker goes; let go at the end of the test (module level: Dask pickles it)."""
    _RELEASE.wait(60)
    raise RuntimeError("released")


def test_a_cluster_that_loses_every_worker_stops_the_run_in_bounded_time(tmp_path, monkeypatch):
    """Batch jobs that end (walltime) are not replaced: with no worker left while cells remain, the client stops
    in one line after no_worker_timeout instead of waiting for ever; what was finished is kept."""
    import threading
    import time

    from distributed import Scheduler, SpecCluster, Worker

    from ecgbench.workflow import run_suite

    _RELEASE.clear()
    monkeypatch.setattr(executors, "work_cell", _slow_cell)  # the workers are threads of this process
    suite = Suite(datasets=["synthetic"], models=["minirocket"], seeds=[0, 1])
    suite.make_quick()
    workers = {"w": {"cls": Worker, "options": {"nthreads": 1}}}
    try:
        with SpecCluster(workers=workers, scheduler={"cls": Scheduler, "options": {"dashboard_address": None}}) as cl:
            executor = executors.DaskExecutor(executors.scheduler(cl.scheduler_address), threads=1, no_worker_timeout=2)
            threading.Timer(3, lambda: cl.scale(0)).start()  # the job ends while its cell runs
            start = time.monotonic()
            with pytest.raises(EcgbenchError, match="the cluster has had no worker for 2 s while cells remained"):
                run_suite(suite, tmp_path / "w", tmp_path / "no-data", "python -m ecgbench run", executor)
            took = time.monotonic() - start
            _RELEASE.set()
        assert took < 30, took
    finally:
        _RELEASE.set()
    manifest = json.loads((tmp_path / "w" / "manifest.json").read_text())
    assert manifest["status"] == "failed" and "no worker for 2 s" in manifest["stopped"]["reason"]
