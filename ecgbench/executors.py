"""Executors run a plan's unfinished cells. The executor is not part of what a run is: any executor can finish
a run folder that another one started, since a cell is described by names alone (:mod:`ecgbench.runner`)."""

from __future__ import annotations

import errno
import logging
import time

from ecgbench.errors import EcgbenchError
from ecgbench.runner import Plan, run_cell
from ecgbench.store import CellKey

log = logging.getLogger(__name__)
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES}


def describe(key: CellKey) -> str:
    return f"{key.model} on {key.dataset}/{key.split} seed {key.seed}"


class SerialExecutor:
    """One cell after another in this process, on the datasets the plan loaded (today's default)."""

    def run(self, plan: Plan) -> list[dict]:
        failures = []
        for key in plan.cells:
            if key not in plan.pending:
                log.info("%s: finished earlier, kept", describe(key))
        for done, key in enumerate(plan.pending, 1):
            log.info("%s: training (cell %d of %d)", describe(key), done, len(plan.pending))
            start = time.monotonic()
            try:
                metrics = run_cell(plan.store, key, plan.data_dir, plan.datasets[key.dataset])
            except EcgbenchError:
                raise
            except OSError as exc:
                if exc.errno not in STORAGE_ERRNOS:
                    failures.append(self._failed(plan, key, exc))
                    continue
                # A full disk or a read-only folder fails every later cell too: stop, keep what is finished.
                raise EcgbenchError(f"{describe(key)} could not be stored: {exc}; the cells finished so far are "
                                    "kept, rerun the same command once there is room") from None
            except Exception as exc:  # one broken model must not cost the other cells their results
                failures.append(self._failed(plan, key, exc))
                continue
            log.info("%s: accuracy %.4f, macro-F1 %.4f (%.0f s)", describe(key), metrics["accuracy"],
                     metrics["f1_macro"], time.monotonic() - start)
        return failures

    @staticmethod
    def _failed(plan: Plan, key: CellKey, exc: Exception) -> dict:
        log.error("%s failed: %s: %s", describe(key), type(exc).__name__, exc)
        return plan.store.write_failure(key, exc)
