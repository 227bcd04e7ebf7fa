"""Thread pinning, so that a cell's results and timings do not depend on how cells were scheduled.

The runner calls :func:`pinned` around every cell. BLAS/OpenMP pools are limited through threadpoolctl and numba
through ``numba.set_num_threads``. TensorFlow's pools can only be sized once per process, before first use, so
:func:`tensorflow` imports it lazily and sizes it from the same setting. Work that only parallelises over
processes (tsfresh's feature calculators are Python) gets :func:`process_pool`, one process per thread.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

_threads = max(1, os.cpu_count() or 1)


def set_threads(n: int) -> None:
    global _threads
    _threads = max(1, int(n))


def current_threads() -> int:
    return _threads


@contextlib.contextmanager
def pinned(n: int | None = None):
    from threadpoolctl import threadpool_limits

    n = n or _threads
    previous_numba = None
    try:
        import numba

        previous_numba = numba.get_num_threads()
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    except ImportError:
        pass
    try:
        with threadpool_limits(limits=n):
            yield n
    except BaseException:  # a stop or an error: the pieces in flight are of no use, end their workers now
        close_process_pool(kill=True)
        raise
    finally:
        close_process_pool()
        if previous_numba is not None:
            import numba

            numba.set_num_threads(previous_numba)


_pool = None  # the executor process_pool last returned, for close_process_pool
POOL_IDLE_SECONDS = 600  # longer than a cell's training between two extractions, so its workers start once


def process_pool():
    """A pool of ``current_threads()`` worker processes of one thread each, or None with one thread.

    joblib's loky executor, the one scikit-learn uses: its workers are started fresh (fork and exec), never
    forked from this process, which could hand a child a lock held by one of XGBoost's OpenMP threads to wait on
    forever (docs/decisions.md#tsfresh-one-process); it does not re-run the ``__main__`` script; a worker that
    dies breaks the pool with an error instead of leaving the cell waiting; and the pool is reused from call to
    call, so a worker's start-up (a fresh interpreter importing tsfresh, seconds) is paid once per cell.
    :func:`pinned` shuts it down when the cell ends, so that its workers and their memory belong to one cell.
    Each worker dies with the process that started it (:func:`die_with_parent`): a run killed with SIGKILL, which
    runs no clean-up, must not leave its workers (hundreds of MB each) waiting out their idle timeout.
    """
    global _pool
    workers = current_threads()
    if workers == 1:
        return None
    from joblib.externals.loky import get_reusable_executor

    one_thread = {
        name: "1" for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS")
    }
    _pool = get_reusable_executor(
        max_workers=workers,
        timeout=POOL_IDLE_SECONDS,
        env=one_thread,
        initializer=start_worker,
        initargs=(os.getpid(), PR_SET_PDEATHSIG),
    )
    return _pool


def start_worker(parent: int, option: int) -> None:
    """A pool worker's initializer: it dies with ``parent`` (:func:`die_with_parent`), and tqdm, which tsfresh
    calls with its bar disabled, gets a thread lock instead of the multiprocessing lock it makes by default: that
    lock is a named semaphore, and a worker ended by :func:`close_process_pool` cannot release it, so the resource
    tracker warned of "leaked semaphore objects" after every stopped cell."""
    die_with_parent(parent, option)
    try:
        from tqdm import tqdm
    except ImportError:
        return
    tqdm.set_lock(threading.RLock())


PR_SET_PDEATHSIG = 1  # linux/prctl.h
PARENT_POLL_SECONDS = 1.0


def die_with_parent(parent: int, option: int = PR_SET_PDEATHSIG) -> None:
    """A pool worker's initializer: end this process when ``parent`` (the process that started the pool) ends,
    however it ends. On Linux the kernel sends SIGKILL at the parent's death (prctl PR_SET_PDEATHSIG, through
    ctypes); elsewhere, or if that fails, a daemon thread polls the parent every second. Either way, a parent
    already gone before this ran (the worker re-parented) ends the worker at once. ``option``: prctl's option
    number, passed from the parent (a test refuses it there to exercise the fallback)."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            if ctypes.CDLL(None, use_errno=True).prctl(option, signal.SIGKILL, 0, 0, 0) == 0:
                if os.getppid() != parent:  # it died between our start and the prctl: no signal will come
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=watch, name="ecgbench-parent-watch", daemon=True).start()


def map_in_pool(job, items):
    """``job(item)`` of every item, in order, from the process pool (:func:`process_pool`), or here with one thread."""
    pool = process_pool()
    if pool is None:
        yield from map(job, items)
        return
    futures = [pool.submit(job, item) for item in items]
    for future in futures:
        yield future.result()


def close_process_pool(kill: bool = False) -> None:
    """Shut the pool down: let its workers finish their pieces, or with ``kill`` end them first.

    The workers are killed here rather than through loky's ``shutdown(kill_workers=True)``: with pieces still
    queued, that path raises in loky's manager thread (a cancelled future, a work id already dropped), which then
    printed a traceback or left the stopped cell waiting for the pieces in flight (minutes of tsfresh extraction).
    A pool whose workers died is broken; its shutdown drops the queued pieces and returns at once.
    """
    global _pool
    if _pool is None:
        return
    if kill:
        for pid in list(getattr(_pool, "_processes", {})):  # loky's, as concurrent.futures' pool: pid -> process
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    _pool.shutdown(wait=True)
    _pool = None


@contextlib.contextmanager
def native_stderr_silenced():
    """Send file descriptor 2 to /dev/null for the duration (C++ code writes there, around Python's logging).

    TensorFlow 2.21 logs "oneDNN custom operations are on", "Could not find cuda drivers" and the absl
    "All log messages before absl::InitializeLog()" warning from C++ while it is imported, before absl logging
    is initialised, so TF_CPP_MIN_LOG_LEVEL does not reach them. Python exceptions are unaffected.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (e.g. an embedded interpreter): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "wb") as devnull:
            os.dup2(devnull.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_tf = None


def tensorflow():
    """Import TensorFlow quietly, with its thread pools sized to :func:`current_threads` and deterministic ops."""
    global _tf
    if _tf is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep C++ start-up noise out of the terminal
        with native_stderr_silenced():
            import absl.logging
            import tensorflow as tf

            tf.keras.layers  # noqa: B018 - tf.keras is imported lazily, on first use; do it while silenced

        absl.logging.set_verbosity(absl.logging.ERROR)
        tf.get_logger().setLevel("ERROR")
        tf.config.threading.set_intra_op_parallelism_threads(_threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, _threads))
        tf.config.experimental.enable_op_determinism()
        _tf = tf
    return _tf
