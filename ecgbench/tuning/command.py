"""The command line of ``tune`` and ``tune-worker`` (:mod:`ecgbench.cli` adds the parsers and calls these)."""

from __future__ import annotations

from pathlib import Path

from ecgbench.core.errors import EcgbenchError
from ecgbench.tuning.folder import existing_study
from ecgbench.tuning.study import tune, worker_main


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
