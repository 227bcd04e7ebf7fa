"""A suite run from plan to report: plan the cells (:mod:`ecgbench.run.runner`), execute them with an executor
(:mod:`ecgbench.run.executors`), write the report (:mod:`ecgbench.reports.summary`), then mark the run finished.

It sits above the run side and the reports, so that neither imports the other's layer upwards.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ecgbench.core.environment import now
from ecgbench.reports.summary import write_report
from ecgbench.run.executors import SerialExecutor
from ecgbench.run.records import Failure
from ecgbench.run.runner import plan_run, recording_stops, resume_command, sigterm_as_interrupt
from ecgbench.run.store import RunStore
from ecgbench.run.suite import Suite

log = logging.getLogger(__name__)


def run_suite(
    suite: Suite,
    run_dir: Path,
    data_dir: Path | None,
    command: str,
    executor=None,
    plan_only: bool = False,
    save_models: bool = True,
) -> list[Failure]:
    """Plan the run, execute its unfinished cells, write the report; return the failed cells' records.
    ``plan_only``: stop after planning (the cells are then run by ``run-cell``, e.g. in a job array)."""
    with sigterm_as_interrupt():
        plan = plan_run(suite, run_dir, data_dir, command, save_models)
        try:
            if plan_only:
                log.info(
                    "planned %d cell(s), %d not finished; list them with `python -m ecgbench cells %s`",
                    len(plan.cells),
                    len(plan.pending),
                    run_dir,
                )
                return []
            resume = resume_command(command, plan.store.root.name)
            with recording_stops(plan.store, resume):
                failures = (executor or SerialExecutor()).run(plan)
                finish_run(plan.store, failures)
            if failures:
                log.warning(
                    "%d cell(s) failed; to try them again (the finished ones are kept): %s", len(failures), resume
                )
            return failures
        finally:
            plan.lock.release()


def finish_run(store: RunStore, failures: list[Failure]) -> None:
    """Write the report, then mark the run finished: the manifest says "complete" only once the report exists."""
    with recording_stops(store, f"python -m ecgbench finish {store.root}"):
        manifest = store.read_manifest()
        manifest.status = "failed cells" if failures else "complete"
        manifest.finished, manifest.failures = now(), list(failures)
        manifest.partial_report = None  # the full report replaces an earlier partial one
        write_report(store, manifest)
        store.write_manifest(manifest)


def finish_partial(store: RunStore, finished: int, planned: int) -> None:
    """The report of the cells finished so far, for a run that stopped: marked partial in the manifest
    (``partial_report``) and at the top of summary.md; the run's status is left as it is, never "complete"."""
    manifest = store.read_manifest()
    manifest.partial_report = {"at": now(), "finished_cells": finished, "planned_cells": planned}
    write_report(store, manifest)
    store.write_manifest(manifest)
