"""Executors run a plan's unfinished cells. The executor is not part of what a run is: any executor can finish
a run folder that another one started, since a cell is described by names alone (:mod:`ecgbench.run.runner`).

- :class:`SerialExecutor`: one cell after another in this process (the default).
- :class:`DaskExecutor`: the cells as Dask tasks, one at a time per worker, on a LocalCluster (``--workers N``),
  an existing scheduler (``--scheduler ADDRESS``) or batch jobs through dask-jobqueue (``--cluster slurm``). A
  worker loads its own data (``run_cell`` from the run folder and the data directory: a shared file system is
  assumed), pins its threads, and sends its log lines back to this terminal with the cell named. A worker that
  dies fails only its cell, after ``retries`` more tries; docs/scaling.md says how to use each.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import shutil
import sys
import time
from pathlib import Path

from ecgbench.core.errors import EcgbenchError, is_model_failure
from ecgbench.core.io import STORAGE_ERRNOS, os_error_text
from ecgbench.core.progress import RunProgress, captured
from ecgbench.run.records import CellResult, Failure
from ecgbench.run.runner import Plan, run_cell
from ecgbench.run.store import CellKey, RunStore

log = logging.getLogger(__name__)
LOG_TOPIC = "ecgbench-log"
STARTED_TOPIC = "ecgbench-started"  # a worker began a cell's task: its death now costs that cell a try
MAX_REQUEUES = 5  # a cell whose worker died before it started is submitted again this often without a try counted
JOBQUEUE_SYSTEMS = {
    "slurm": "SLURMCluster",
    "pbs": "PBSCluster",
    "sge": "SGECluster",
    "lsf": "LSFCluster",
    "htcondor": "HTCondorCluster",
    "oar": "OARCluster",
    "moab": "MoabCluster",
}


def describe(key: CellKey) -> str:
    return f"{key.model} on {key.dataset}/{key.split} seed {key.seed}"


def attempt(
    store: RunStore, key: CellKey, data_dir: Path | None, dataset=None
) -> tuple[CellResult | None, Failure | None]:
    """Run one cell: ``(metrics, None)``, or ``(None, failure)`` with its ``error.txt`` written. What would fail
    every later cell too (the wrong data, a full disk, a read-only folder) is raised as an EcgbenchError; what a
    model raised while it fitted or predicted, EcgbenchError or not, fails its cell alone."""
    try:
        try:
            return run_cell(store, key, data_dir, dataset), None
        except EcgbenchError as exc:
            if is_model_failure(exc):  # e.g. the model returned NaN probabilities: its cell, not the run
                return None, failed(store, key, exc)
            raise
        except OSError as exc:
            if exc.errno in STORAGE_ERRNOS:
                raise
            return None, failed(store, key, exc)
        except Exception as exc:  # one broken model must not cost the other cells their results
            return None, failed(store, key, exc)
    except OSError as exc:  # the cell, or its error.txt, could not be written
        if exc.errno not in STORAGE_ERRNOS:
            raise
        raise storage_stop(key, exc) from None


def storage_stop(key: CellKey, exc: OSError) -> EcgbenchError:
    return EcgbenchError(
        f"{describe(key)} could not be stored: {os_error_text(exc)}; the run stops here, the cells "
        "finished so far are kept: rerun the same command once there is room (or write access)"
    )


def failed(store: RunStore, key: CellKey, exc: BaseException) -> Failure:
    log.error("%s failed: %s: %s", describe(key), type(exc).__name__, exc)
    return store.write_failure(key, exc)


def finished_line(key: CellKey, metrics: CellResult, seconds: float, where: str = "") -> None:
    log.info(
        "%s: accuracy %.4f, macro-F1 %.4f (%.0f s%s)",
        describe(key),
        metrics.accuracy,
        metrics.f1_macro,
        seconds,
        where,
    )


class SerialExecutor:
    """One cell after another in this process, on the datasets the plan loaded (today's default)."""

    def run(self, plan: Plan) -> list[Failure]:
        failures = []
        for key in plan.cells:
            if key not in plan.pending:
                log.info("%s: finished earlier, kept", describe(key))
        progress = RunProgress(len(plan.pending))
        for done, key in enumerate(plan.pending, 1):
            log.info("%s: training (cell %d of %d)", describe(key), done, len(plan.pending))
            start = time.monotonic()
            metrics, failure = attempt(plan.store, key, plan.data_dir, plan.datasets[key.dataset])
            seconds = time.monotonic() - start
            if failure:
                failures.append(failure)
            else:
                finished_line(key, metrics, seconds)
            progress.cell_ended(None if failure else seconds)
        return failures


# ---- on a Dask worker ----------------------------------------------------------------------------------------------


def uses_gpu(model: str) -> bool:
    from ecgbench.models import model_class

    return bool(getattr(model_class(model), "uses_gpu", False))


def _relay_to_client(cell_id: str):
    """A log emitter that sends the record to the client's terminal (a Dask event), the cell named."""
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return lambda record: None
    return lambda record: worker.log_event(
        LOG_TOPIC, {"cell": cell_id, "level": record.levelno, "message": record.getMessage()}
    )


def _announce_start(task: str) -> None:
    """Tell the client that this worker began ``task`` (a Dask key): were the worker to die now, the task died
    with it, whereas a task only queued on a worker that died never ran and is not the cell's failure."""
    try:
        from distributed import get_worker

        get_worker().log_event(STARTED_TOPIC, {"task": task})
    except (ImportError, ValueError):
        pass


def work_cell(run_dir: str, cell_id: str, data_dir: str | None, threads: int, task: str = "") -> dict:
    """One cell on a Dask worker: threads pinned to ``threads``, the data loaded here from ``data_dir``."""
    _announce_start(task)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is first imported in this process
    from ecgbench.core.threads import set_threads

    set_threads(threads)  # BLAS/OpenMP and numba through pinned(), XGBoost's n_jobs, TensorFlow's pools
    key, start = CellKey.from_id(cell_id), time.monotonic()
    with captured(_relay_to_client(cell_id)):
        metrics, failure = attempt(RunStore(run_dir), key, Path(data_dir) if data_dir else None)
    try:
        from distributed import get_worker

        worker = str(get_worker().name)
    except (ImportError, ValueError):
        worker = "?"
    import ecgbench

    return {
        "cell": cell_id,
        "metrics": metrics,
        "failure": failure,
        "seconds": time.monotonic() - start,
        "worker": worker,
        "pid": os.getpid(),
        "ecgbench": ecgbench.__file__,
    }


class WorkerDied(RuntimeError):
    """The process running a cell died (killed, out of memory) as often as the retries allow."""


# ---- the client ----------------------------------------------------------------------------------------------------


class DaskExecutor:
    """The cells as Dask tasks on the cluster that ``connect()`` (a context manager yielding a Client) opens.

    ``gpu``: route the cells of models that can use a GPU (``uses_gpu``) to workers with the resource ``GPU``;
    None: do so when a worker offers it at the start. ``retries``: how many more times a cell is tried after the
    worker running it died. ``no_worker_timeout``: stop the run when the cluster has had no worker for this many
    seconds while cells remain (batch jobs that ended at their walltime are not replaced); None: wait.
    """

    def __init__(
        self, connect, threads: int, retries: int = 1, gpu: bool | None = None, no_worker_timeout: float | None = None
    ):
        self.connect, self.threads, self.retries, self.gpu = connect, threads, retries, gpu
        self.no_worker_timeout = no_worker_timeout
        self.placements: dict[CellKey, str] = {}  # which worker ran each finished cell
        self.worker_code: set[str] = set()  # where the workers imported ecgbench from

    def run(self, plan: Plan) -> list[Failure]:
        from distributed import as_completed
        from distributed.client import FutureCancelledError
        from distributed.scheduler import KilledWorker

        for key in plan.cells:
            if key not in plan.pending:
                log.info("%s: finished earlier, kept", describe(key))
        if not plan.pending:
            return []
        with self.connect() as client:
            client.subscribe_topic(LOG_TOPIC, relay)
            started: set[str] = set()  # the Dask keys that a worker began (STARTED_TOPIC)
            client.subscribe_topic(STARTED_TOPIC, lambda event: started.add(event[1]["task"]))
            workers = client.scheduler_info().get("workers", {}).values()
            gpu = self.gpu if self.gpu is not None else any(w.get("resources", {}).get("GPU") for w in workers)
            parallel = sum(w.get("nthreads", 1) for w in workers) or 1
            log.info(
                "%d cell(s) on %s (%d worker(s) now, %d thread(s) per cell%s)",
                len(plan.pending),
                client.scheduler.address,
                len(workers),
                self.threads,
                "; GPU cells on GPU workers" if gpu else "",
            )
            tries: dict[CellKey, int] = {}
            requeues: dict[CellKey, int] = {}

            def submit(key: CellKey, requeue: bool = False):
                if requeue:
                    requeues[key] = requeues.get(key, 0) + 1
                else:
                    tries[key] = tries.get(key, 0) + 1
                resources = {"GPU": 1} if gpu and uses_gpu(key.model) else None
                task = f"ecgbench-{key.id}-try{tries[key]}" + (f"-requeue{requeues[key]}" if requeue else "")
                future = client.submit(
                    work_cell,
                    str(plan.store.root),
                    key.id,
                    str(plan.data_dir) if plan.data_dir else None,
                    self.threads,
                    task,
                    key=task,
                    resources=resources,
                    pure=False,
                )
                cell_of[future.key] = key
                return future

            cell_of: dict = {}
            futures = as_completed([submit(key) for key in plan.pending])
            progress, failures = RunProgress(len(plan.pending), parallel), []
            watch = _NoWorkerWatch(client, futures, self.no_worker_timeout)
            try:
                for future in futures:
                    key = cell_of[future.key]
                    try:
                        result = future.result()
                    except KilledWorker as exc:
                        if future.key not in started and requeues.get(key, 0) < MAX_REQUEUES:
                            # only queued on the worker that died (Dask fails those too): run it elsewhere, no
                            # try lost; bounded, in case a start went unannounced
                            log.info(
                                "%s: the worker it was queued on died before it started; queued again", describe(key)
                            )
                            futures.add(submit(key, requeue=True))
                            continue
                        if tries[key] <= self.retries:
                            log.warning(
                                "%s: its worker died (%s); trying again (%d of %d)",
                                describe(key),
                                exc,
                                tries[key],
                                self.retries,
                            )
                            futures.add(submit(key))
                            continue
                        died = WorkerDied(
                            f"the worker running this cell died (killed, or out of memory) {tries[key]} time(s): {exc}"
                        )
                        failures.append(failed(plan.store, key, died))
                        progress.cell_ended(None)
                        continue
                    except (EcgbenchError, FutureCancelledError):
                        if watch.stalled:  # cancelled by the watch: say why, in one line
                            raise watch.error() from None
                        raise
                    except Exception as exc:  # could not run at all (e.g. not unpicklable on the worker)
                        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:  # nor store its error.txt
                            raise storage_stop(key, exc) from None
                        failures.append(failed(plan.store, key, exc))
                        progress.cell_ended(None)
                        continue
                    self.worker_code.add(result["ecgbench"])
                    if result["failure"]:
                        failures.append(result["failure"])
                        progress.cell_ended(None)
                        continue
                    self.placements[key] = result["worker"]
                    finished_line(key, result["metrics"], result["seconds"], f", worker {result['worker']}")
                    progress.cell_ended(result["seconds"])
            except BaseException:
                client.cancel(list(futures.futures))
                raise
            finally:
                watch.stop()
        return failures


class _NoWorkerWatch:
    """Cancels the run's tasks when the cluster has had no worker for ``timeout`` seconds (None: never), so that
    the client, which would wait for ever, stops with :meth:`error` instead."""

    POLL_SECONDS = 1.0

    def __init__(self, client, futures, timeout: float | None):
        import threading

        self.client, self.futures, self.timeout = client, futures, timeout
        self.stalled, self.done = False, threading.Event()
        self.thread = None
        if timeout is not None:
            self.thread = threading.Thread(target=self._watch, name="ecgbench-no-worker-watch", daemon=True)
            self.thread.start()

    def _watch(self) -> None:
        since = None
        while not self.done.wait(self.POLL_SECONDS):
            try:
                workers = len(self.client.nthreads())
            except Exception:  # the client is closing, or the scheduler is briefly unreachable: look again
                continue
            since = None if workers else since or time.monotonic()
            if since is not None and time.monotonic() - since >= self.timeout:
                self.stalled = True
                self.client.cancel(list(self.futures.futures))
                return

    def error(self) -> EcgbenchError:
        return EcgbenchError(
            f"the cluster has had no worker for {self.timeout:g} s while cells remained (batch jobs "
            "that ended, e.g. at their walltime, are not replaced); the finished cells are kept: "
            "rerun the same command to go on"
        )

    def stop(self) -> None:
        self.done.set()
        if self.thread is not None:
            self.thread.join(timeout=5)


def relay(event) -> None:
    """A worker's log line, on this terminal, the cell named."""
    _, message = event
    log.log(message["level"], "[%s] %s", message["cell"], message["message"])


# ---- clusters ------------------------------------------------------------------------------------------------------


def worker_environment(threads: int) -> dict[str, str]:
    """What a worker process needs in its environment before it starts: its BLAS/OpenMP pools at ``threads``,
    TensorFlow's C++ log noise off, and room for tsfresh's process pool (a Dask worker is daemonic by default)."""
    env = {name: str(threads) for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}
    return env | {"TF_CPP_MIN_LOG_LEVEL": "3", "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}


def client_config(threads: int) -> dict:
    """Dask settings of the scheduler and nannies started from this process. ``allowed-failures`` 0: a worker
    death is reported at once, and our ``retries`` decide."""
    import dask

    spawn = {**dask.config.get("distributed.nanny.pre-spawn-environ", {}), **worker_environment(threads)}
    return {
        "distributed.scheduler.allowed-failures": 0,
        "distributed.worker.daemon": False,
        "distributed.nanny.pre-spawn-environ": spawn,
    }


def local_security():
    """Throw-away TLS credentials for a cluster of this machine: a scheduler listening on a local port would
    otherwise take any local process as a client, and a client may run any code on the workers. With a
    certificate made here and held only in this process's memory (and handed to the workers it starts), only
    they and this client can connect. Needs ``cryptography``."""
    from distributed.security import Security

    try:
        return Security.temporary()
    except ImportError:
        raise EcgbenchError(
            "--workers needs the cryptography package for its TLS credentials: pip install cryptography"
        ) from None


def local_cluster(workers: int, threads: int):
    """``--workers N``: a LocalCluster of N processes, one cell at a time each, reachable only with the
    credentials made for it (local_security), on 127.0.0.1."""

    @contextlib.contextmanager
    def connect():
        import dask
        from distributed import Client, LocalCluster

        security = local_security()
        with (
            dask.config.set(client_config(threads)),
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
                protocol="tls://",
                security=security,
            ) as cluster,
        ):
            with Client(cluster, security=security) as client:
                yield client

    return connect


def scheduler(address: str):
    """``--scheduler ADDRESS``: an existing Dask cluster (its own ``allowed-failures`` applies before ours)."""

    @contextlib.contextmanager
    def connect():
        from distributed import Client

        try:
            client = Client(address, timeout="30s")
        except OSError as exc:
            raise EcgbenchError(f"no Dask scheduler reachable at {address}: {exc}") from None
        with client:
            yield client

    return connect


START_TIMEOUT_S = 1800  # [cluster] start_timeout: seconds without any worker before the run stops


def _jobqueue_class(options: dict):
    try:
        import dask_jobqueue
    except ImportError:
        raise EcgbenchError("batch clusters need dask-jobqueue: pip install 'ecgbench-suite[cluster]'") from None
    system = options.get("system", "slurm")
    if system not in JOBQUEUE_SYSTEMS:
        raise EcgbenchError(f"[cluster] system {system!r} is not one of {', '.join(JOBQUEUE_SYSTEMS)}")
    return system, getattr(dask_jobqueue, JOBQUEUE_SYSTEMS[system])


def check_submit_command(options: dict) -> None:
    """Refuse, before anything is planned, a batch system whose submit command (sbatch, qsub, ...) this machine
    does not have: dask-jobqueue would only log the failure, and the client would wait for workers forever."""
    system, cluster_class = _jobqueue_class(options)
    command = shlex.split(cluster_class.job_cls.submit_command)[0]
    if shutil.which(command) is None:
        raise EcgbenchError(
            f"--cluster {system}: its submit command {command!r} is not found on this machine "
            f"(PATH); run from a login node of the {system} cluster"
        )


def _recording_job(job_class, errors: list):
    """``job_class`` whose failed submissions (sbatch refused the job, ...) are kept in ``errors`` for the client
    to report; dask-jobqueue itself only logs them. A job is marked failed or closed, as the cluster's close
    expects of its jobs (else, after a submission failed, it stops on an assertion that hides the reason)."""
    from distributed.core import Status

    class Recorded(job_class):
        async def start(self):
            try:
                await super().start()
            except Exception as exc:
                errors.append(exc)
                self.status = Status.failed
                raise

        async def close(self):  # dask-jobqueue's close cancels the job but leaves its status "running"
            try:
                await super().close()
            finally:
                self.status = Status.closed

    Recorded.__name__ = Recorded.__qualname__ = job_class.__name__
    return Recorded


def jobqueue_cluster(options: dict, threads: int, submit_errors: list | None = None):
    """A dask-jobqueue cluster (Slurm, PBS, SGE, LSF, HTCondor, ...) from the ``[cluster]`` options: each job runs
    ``cores // threads`` workers of one cell at a time, with ``threads`` threads for each cell. Every string that
    goes into the job script is checked by what it may hold (ecgbench.run.suite.check_cluster), here again for callers
    that built the options in code, and the shell lines of our own are quoted."""
    from ecgbench.run.suite import check_cluster

    system, cluster_class = _jobqueue_class(options)
    check_cluster(options, "")
    cores = int(options.get("cores", threads))
    if cores < threads:
        raise EcgbenchError(f"[cluster] cores ({cores}) must be at least --threads ({threads})")
    if not options.get("memory"):
        raise EcgbenchError('[cluster] needs memory (per job, e.g. memory = "16GB" or --memory 16GB)')
    extra = ["--nthreads", "1"] + (["--resources", "GPU=1"] if options.get("gpu") else [])
    prologue = [f"export {name}={shlex.quote(value)}" for name, value in worker_environment(threads).items()]
    kwargs = dict(
        cores=cores,
        processes=cores // threads,
        memory=options["memory"],
        worker_extra_args=extra,
        job_script_prologue=prologue,
        python=shlex.quote(sys.executable),
        job_name="ecgbench",
    )
    kwargs.update({k: options[k] for k in ("queue", "walltime", "account", "job_extra_directives") if k in options})
    if submit_errors is not None:
        kwargs["job_cls"] = _recording_job(cluster_class.job_cls, submit_errors)
    return cluster_class(**kwargs)


def _submit_error_text(exc: BaseException) -> str:
    """dask-jobqueue's submission error in one line: the batch system's own error output where it has one."""
    text = str(exc)
    if "stderr:" in text:
        code = text.split("Exit code:", 1)[1].split("\n", 1)[0].strip() if "Exit code:" in text else "?"
        stderr = " / ".join(line.strip() for line in text.split("stderr:", 1)[1].splitlines() if line.strip())
        stdout = text.split("stdout:", 1)[1].split("stderr:", 1)[0].strip() if "stdout:" in text else ""
        said = stderr or " / ".join(stdout.splitlines()) or "no error output"
        return f"exit code {code}: {said[:500]}"
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())[:500] or type(exc).__name__


def wait_for_a_worker(client, errors: list, system: str, timeout: float, jobs: int = 1) -> None:
    """Return once a worker has connected; stop with one line when every one of the ``jobs`` submissions failed or
    ``timeout`` passed (a refused or never-starting job would otherwise leave the client waiting for ever). Some
    jobs refused and others accepted: a warning, and the wait goes on for the others."""
    deadline, warned = time.monotonic() + timeout, 0
    while True:
        if len(errors) >= jobs:
            said = _submit_error_text(errors[0])
            raise EcgbenchError(
                f"--cluster {system}: the batch system refused the job{'s' if jobs > 1 else ''}: {said}"
            )
        if len(errors) > warned:
            log.warning(
                "--cluster %s: %d of %d job(s) refused: %s", system, len(errors), jobs, _submit_error_text(errors[-1])
            )
            warned = len(errors)
        try:
            client.wait_for_workers(1, timeout=min(1.0, max(0.1, deadline - time.monotonic())))
            return
        except TimeoutError:
            pass
        if time.monotonic() >= deadline:
            raise EcgbenchError(
                f"--cluster {system}: no batch job started a worker within {timeout:g} s (queued "
                "too long, or failed once started: see the batch system's queue and the jobs' "
                "output files); raise [cluster] start_timeout to wait longer"
            )


@contextlib.contextmanager
def _reported_by_us(errors: list):
    """Keep the traceback that tornado logs for a failed submission off the terminal: the client reports that
    failure itself, in one line (wait_for_a_worker). Other errors are logged as before."""

    def keep(record: logging.LogRecord) -> bool:
        return not (record.exc_info and any(record.exc_info[1] is exc for exc in errors))

    logger = logging.getLogger("tornado.application")
    logger.addFilter(keep)
    try:
        yield
    finally:
        logger.removeFilter(keep)


def jobqueue(options: dict, threads: int):
    """``--cluster``: submit ``jobs`` batch jobs (default 1), run the cells on them, cancel the jobs at the end."""

    @contextlib.contextmanager
    def connect():
        import dask
        from distributed import Client

        check_submit_command(options)
        errors: list = []
        with dask.config.set(client_config(threads)), _reported_by_us(errors):
            with jobqueue_cluster(options, threads, errors) as cluster, Client(cluster) as client:
                jobs = int(options.get("jobs", 1))
                cluster.scale(jobs=jobs)
                wait_for_a_worker(
                    client, errors, options.get("system", "slurm"), options.get("start_timeout", START_TIMEOUT_S), jobs
                )
                yield client

    return connect


def job_script(options: dict, threads: int) -> str:
    """The script dask-jobqueue would submit for one job (``--print-job-script``; nothing is submitted)."""
    with jobqueue_cluster(options, threads) as cluster:
        return cluster.job_script()
