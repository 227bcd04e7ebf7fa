"""Command line: ``python -m ecgbench COMMAND`` (run, tune, tune-worker, list, compare, leaderboard, rescoring,
upgrade, data, ec57)."""

from __future__ import annotations

import argparse
import logging
import shlex
import signal
import sys
import time
from pathlib import Path

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import SPLIT_PROTOCOLS

log = logging.getLogger("ecgbench")
OVERWRITE_HELP = (
    "replace the output file where it exists (never an input of the command, a run folder's file or a data file)"
)

EPILOG = """examples:
  python -m ecgbench run --all                      every model on every dataset found locally
  python -m ecgbench run --all --quick              the same, smoke-sized (a minute or two)
  python -m ecgbench run --model cnn --dataset mitbih --seeds 0 1 2
  python -m ecgbench run --suite benchmarks/synthetic.toml
  python -m ecgbench run --suite benchmarks/synthetic.toml --workers 4 --threads 2   4 cells at a time (Dask)
  python -m ecgbench run --suite S.toml --cluster slurm --queue short --walltime 02:00:00 --memory 16GB --jobs 8
  python -m ecgbench cells results/RUN             the unfinished cells, one id a line (for job arrays)
  python -m ecgbench run-cell results/RUN CELL_ID  run one cell of a planned run (docs/scaling.md)
  python -m ecgbench tune benchmarks/mitdb-inter-tune.toml --trials 20  equal-budget search on DS1 (docs/tuning.md)
  python -m ecgbench tune-worker results/STUDY      run trials of a study planned by tune --plan-only
  python -m ecgbench list
  python -m ecgbench compare RUN_A RUN_B --markdown diff.md
  python -m ecgbench leaderboard mitdb-intra mitdb-inter --out results/README.md --overwrite
  python -m ecgbench soft-vote mitdb-ds1-cv tsfresh-xgboost+lstm all
  python -m ecgbench prior-weights mitdb-ds1-cv tsfresh-xgboost
  python -m ecgbench upgrade results/OLD-RUN          convert a run written by an older ecgbench
  python -m ecgbench data fetch mitdb               download a PhysioNet database, verified by SHA256
  python -m ecgbench data export mitdb-inter --output DIR
  python -m ecgbench ec57 DIR --test ANNOTATOR      ANSI/AAMI EC57 beat-by-beat statistics, as PhysioNet's bxb
  python -m ecgbench predict mitdb-inter/tsfresh-xgboost DATA/mitdb/100 --annotator atr --output out/
  python -m ecgbench gallery mitdb-inter --model tsfresh-xgboost --true S --pred N --output s-as-n.png
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgbench",
        description="Benchmark suite for ECG heartbeat classification.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more progress detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="train and evaluate models, write a report into results/<run-id>/",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    what = run.add_argument_group("what to run (one of --all, --suite, or --model/--dataset)")
    what.add_argument("--all", action="store_true", help="every registered model on every dataset found locally")
    what.add_argument("--suite", type=Path, help="a TOML suite file (see benchmarks/)")
    what.add_argument("--model", action="append", metavar="NAME", help="a model to run (repeatable)")
    what.add_argument("--dataset", action="append", metavar="NAME", help="a dataset to run on (repeatable)")
    run.add_argument("--seeds", type=int, nargs="+", metavar="SEED", help="model seeds (default: 0)")
    run.add_argument(
        "--protocol",
        choices=SPLIT_PROTOCOLS,
        help="split protocol (default: auto = the one each dataset declares: its own train/test "
        "files, group-kfold for mitdb-ds1, else holdout; --quick keeps it)",
    )
    run.add_argument("--quick", action="store_true", help="smoke-sized data and models: checks the harness")
    run.add_argument(
        "--run-id",
        help="name of the run folder; an existing run of the same suite is resumed (default: a new time-stamped name)",
    )
    run.add_argument("--results-dir", type=Path, default=Path("results"), help="where run folders go (results/)")
    run.add_argument(
        "--data-dir",
        type=Path,
        help="folder with the real data files (default: $ECGBENCH_DATA, else ~/.cache/ecgbench)",
    )
    run.add_argument(
        "--no-models",
        action="store_true",
        help="do not store each cell's fitted model (and its card) beside its predictions",
    )
    run.add_argument(
        "--threads",
        type=int,
        help="threads per cell for BLAS, numba, XGBoost and TensorFlow (default: all CPUs; 1 with --workers)",
    )
    where = run.add_argument_group(
        "where the cells run (default: one after another in this process; the run "
        "folder and data directory must be visible to every worker: docs/scaling.md)"
    )
    how = where.add_mutually_exclusive_group()
    how.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="a local Dask cluster of N worker processes, one cell at a time each, --threads threads per cell",
    )
    how.add_argument("--scheduler", metavar="ADDRESS", help="an existing Dask cluster, e.g. tcp://host:8786")
    how.add_argument(
        "--cluster",
        nargs="?",
        const="",
        metavar="SYSTEM",
        help="batch jobs through dask-jobqueue: slurm, pbs, sge, lsf, htcondor, oar, moab (default: the "
        "suite's [cluster] system, else slurm); the options below override its [cluster] table",
    )
    where.add_argument("--queue", help="batch queue (partition)")
    where.add_argument("--cores", type=int, help="cores per batch job (its workers: cores // --threads)")
    where.add_argument("--memory", help="memory per batch job, e.g. 16GB")
    where.add_argument("--walltime", help="time limit per batch job, e.g. 02:00:00")
    where.add_argument("--jobs", type=int, help="batch jobs to submit (default 1)")
    where.add_argument(
        "--print-job-script",
        action="store_true",
        help="print the script dask-jobqueue would submit, submit nothing, and exit",
    )
    where.add_argument(
        "--retries",
        type=int,
        default=1,
        help="more tries for a cell whose worker died (killed, out of memory; default 1)",
    )
    where.add_argument(
        "--plan-only",
        action="store_true",
        help="plan the run folder and stop: its cells are then run by `run-cell` (e.g. from a job array)",
    )

    cell = commands.add_parser("run-cell", help="run one cell of a planned run (a job array's task)")
    cell.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    cell.add_argument("cell_id", metavar="CELL_ID", help="DATASET/SPLIT/MODEL/seedK, as `cells` lists them")
    cell.add_argument("--data-dir", type=Path, help="folder with the real data files (the run's, as seen from here)")
    cell.add_argument("--threads", type=int, help="threads for the cell (default: all CPUs)")
    cell.add_argument("--force", action="store_true", help="run it again even if it is finished")

    cells = commands.add_parser("cells", help="list a planned run's unfinished cells, one id a line")
    cells.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    cells.add_argument("--all", action="store_true", help="every cell, finished or not")

    finish = commands.add_parser("finish", help="write the report of a run whose cells were run by run-cell")
    finish.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run folder")
    finish.add_argument(
        "--partial",
        action="store_true",
        help="write the report of the cells finished so far (an interrupted run), marked partial; "
        "the run is not marked complete",
    )

    from ecgbench.tuning.command import add_parser as add_tune_parser

    add_tune_parser(commands)

    listing = commands.add_parser("list", help="models, datasets, and which datasets are present locally")
    listing.add_argument("--data-dir", type=Path, help="folder with the real data files")

    compare = commands.add_parser(
        "compare",
        help="compare two runs (or two models of one run): means, and paired patient-level differences",
        description="Difference B - A for every (dataset, model) pair the runs share, or with --model-a/--model-b "
        "between two models (of one run: give RUN_A only, or of two runs): the paired patient-level "
        "bootstrap interval and p-value, McNemar's exact test beside it for every seed (it assumes "
        "independent beats), "
        "and a verdict (B better / A better / no detectable difference at alpha 0.05, Holm-corrected "
        "over the rows shown). Pairs only where both sides scored the same test beats (saved split "
        "test indices and data fingerprint, or the predictions' index and labels for runs without a "
        "fingerprint); otherwise it says why and shows each side's own interval.",
        epilog="examples:\n  python -m ecgbench compare RUN_A RUN_B --markdown diff.md\n"
        "  python -m ecgbench compare mitdb-inter --model-a rocket --model-b tsfresh-xgboost\n"
        "  python -m ecgbench compare RUN_A RUN_B --model-a cnn --model-b lstm",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compare.add_argument("run_a", metavar="RUN_A", help="run folder or run id under --results-dir")
    compare.add_argument(
        "run_b",
        metavar="RUN_B",
        nargs="?",
        help="run folder or run id under --results-dir (default: RUN_A, with --model-a/--model-b)",
    )
    compare.add_argument("--model-a", metavar="MODEL", help="side A's model (with --model-b)")
    compare.add_argument("--model-b", metavar="MODEL", help="side B's model (with --model-a)")
    compare.add_argument("--results-dir", type=Path, default=Path("results"))
    compare.add_argument("--markdown", type=Path, metavar="FILE", help="also write the comparison as Markdown")
    compare.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)

    board = commands.add_parser("leaderboard", help="write the leaderboard of run reports beside published numbers")
    board.add_argument("runs", nargs="+", metavar="RUN", help="run folders or run ids under --results-dir")
    board.add_argument("--results-dir", type=Path, default=Path("results"))
    board.add_argument(
        "--published",
        type=Path,
        default=Path("benchmarks/published.toml"),
        help="published anchors and targets (default: benchmarks/published.toml)",
    )
    board.add_argument("--out", type=Path, required=True, metavar="FILE", help="the Markdown file to write")
    board.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)

    vote = commands.add_parser("soft-vote", help="score soft votes of a run's models from their saved probabilities")
    vote.add_argument("run", metavar="RUN", help="a finished run folder or run id under --results-dir")
    vote.add_argument("votes", nargs="+", metavar="VOTE", help="models joined by '+', or 'all'")
    vote.add_argument("--results-dir", type=Path, default=Path("results"))
    vote.add_argument(
        "--out",
        type=Path,
        default=Path("results/soft-vote"),
        metavar="DIR",
        help="where <run>.md goes (results/soft-vote)",
    )
    vote.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)

    weights = commands.add_parser(
        "prior-weights", help="choose a model's prior_weights from a run's saved out-of-fold probabilities"
    )
    weights.add_argument("run", metavar="RUN", help="a finished run folder or run id under --results-dir")
    weights.add_argument("model", metavar="MODEL", help="a model of the run")
    weights.add_argument("--results-dir", type=Path, default=Path("results"))
    weights.add_argument(
        "--out",
        type=Path,
        default=Path("results/prior-weights"),
        metavar="DIR",
        help="where <run>-<model>.md goes (results/prior-weights)",
    )
    weights.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)

    upgrade = commands.add_parser(
        "upgrade", help="convert run folders written by an older ecgbench, in place, and rebuild their reports"
    )
    upgrade.add_argument("runs", nargs="+", metavar="RUN", help="run folders")

    data = commands.add_parser("data", help="fetch real data, export datasets as Kaggle-style CSV")
    data_commands = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    fetch = data_commands.add_parser("fetch", help="download a PhysioNet database (or check the Kaggle files)")
    fetch.add_argument("name", help="a PhysioNet database (mitdb, svdb, incartdb, ...) or kaggle-heartbeat")
    fetch.add_argument("--version", help="the database version (default: the current one for known databases)")
    fetch.add_argument("--records", nargs="+", metavar="RECORD", help="only these records")
    fetch.add_argument("--data-dir", type=Path, help="where data goes (default: $ECGBENCH_DATA or ~/.cache/ecgbench)")
    export = data_commands.add_parser("export", help="write a dataset in the Kaggle CSV layout")
    export.add_argument("dataset", help="a dataset name (see list)")
    export.add_argument("--output", type=Path, required=True, metavar="DIR", help="folder for the CSV files")
    export.add_argument("--data-dir", type=Path, help="folder with the real data files")
    export.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)

    ec57 = commands.add_parser(
        "ec57",
        help="ANSI/AAMI EC57 beat-by-beat comparison of a test annotator with a "
        "reference, as PhysioNet's bxb and sumstats compute it (docs/ec57.md)",
    )
    ec57.add_argument("folder", type=Path, metavar="DIR", help="folder of WFDB records with both annotation files")
    ec57.add_argument("--ref", default="atr", metavar="ANNOTATOR", help="reference annotator (default: atr)")
    ec57.add_argument("--test", required=True, metavar="ANNOTATOR", help="test annotator (file extension)")
    ec57.add_argument(
        "--records",
        nargs="+",
        metavar="RECORD",
        help="these records (default: the folder's RECORDS file, else every .hea in it)",
    )
    ec57.add_argument("--markdown", type=Path, metavar="FILE", help="also write the report as Markdown")
    ec57.add_argument("--csv", type=Path, metavar="FILE", help="also write the per-record table as CSV")
    ec57.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    nonstandard = ec57.add_argument_group("nonstandard comparisons (bxb's -f, -t, -w; not EC57)")
    nonstandard.add_argument(
        "--start", type=float, default=300.0, metavar="SECONDS", help="end of the learning period (default: 300)"
    )
    nonstandard.add_argument(
        "--end",
        type=float,
        metavar="SECONDS",
        help="end of the comparison (default: the record's end; 0: the end of either file)",
    )
    nonstandard.add_argument(
        "--window", type=float, default=0.15, metavar="SECONDS", help="match window (default: 0.15)"
    )
    predict = commands.add_parser(
        "predict",
        help="classify the beats of WFDB records (or a CSV of beats) with a stored model",
        description="Classify the beats of WFDB records with a model a run stored: beats and context are cut "
        "exactly as in its training (resampled from the record's own rate). R peaks come from "
        "--annotator, else from the XQRS detector. Per input: a per-beat table (Parquet and CSV), a WFDB "
        "annotation file of AAMI beat symbols and a PNG strip (docs/using-models.md).",
        epilog="examples:\n  python -m ecgbench predict mitdb-inter/minirocket DATA/mitdb/100 --output out/\n"
        "  python -m ecgbench predict results/RUN/cells/D/S/M/seed0/model rec1 rec2 --lead II --output out/\n"
        "  python -m ecgbench predict mitdb-inter/minirocket DATA/mitdb/100 DATA/mitdb/101 --workers 2 "
        "--output out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument(
        "model",
        metavar="MODEL",
        help="RUN/MODEL[/seedK] (a run folder or run id under "
        "--results-dir; default: the lowest seed) or a model folder",
    )
    predict.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="WFDB records (the path without extension) or Kaggle-layout CSV files of beats",
    )
    predict.add_argument("--output", type=Path, required=True, metavar="DIR", help="folder for the outputs")
    predict.add_argument("--lead", help="the lead to classify, by name (default: the lead the model was trained on)")
    predict.add_argument(
        "--annotator",
        metavar="NAME",
        help="take the R peaks from this reference annotator (e.g. atr); default: detect them with XQRS",
    )
    predict.add_argument(
        "--out-annotator",
        default="ecgb",
        metavar="NAME",
        help="annotator (file extension) of the written WFDB annotations (default: ecgb)",
    )
    predict.add_argument(
        "--strip-seconds",
        type=float,
        default=60.0,
        metavar="S",
        help="seconds of the record drawn in the PNG strip (default: 60)",
    )
    predict.add_argument("--results-dir", type=Path, default=Path("results"))
    predict.add_argument(
        "--threads",
        type=int,
        help="threads to predict with (default: those the model's cell ran "
        "with, so that its stored probabilities are reproduced to the "
        "last digit; else all CPUs)",
    )
    parallel = predict.add_mutually_exclusive_group()
    parallel.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="predict the inputs in parallel on a local Dask cluster of N worker processes (as run --workers)",
    )
    parallel.add_argument("--scheduler", metavar="ADDRESS", help="predict the inputs on an existing Dask cluster")
    predict.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    predict.add_argument(
        "--allow-pickle",
        action="store_true",
        help="load a model that was saved by pickling (a plugin that declares saved_by_pickle). "
        "UNSAFE: unpickling runs whatever code the file names; only for folders you trust",
    )

    gallery = commands.add_parser("gallery", help="draw the misclassified beats of one (true, predicted) pair")
    gallery.add_argument("run", metavar="RUN", help="a run folder or run id under --results-dir")
    gallery.add_argument("--model", required=True, help="a model of the run")
    gallery.add_argument("--true", required=True, metavar="CLASS", help="the true class, e.g. S")
    gallery.add_argument("--pred", required=True, metavar="CLASS", help="the predicted class, e.g. N")
    gallery.add_argument("--seed", type=int, help="the model's seed (default: its lowest)")
    gallery.add_argument("--max", type=int, default=24, help="beats drawn at most (default 24)")
    gallery.add_argument("--output", type=Path, required=True, metavar="FILE.png", help="the PNG to write")
    gallery.add_argument("--results-dir", type=Path, default=Path("results"))
    gallery.add_argument("--data-dir", type=Path, help="folder with the real data files")
    gallery.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)
    return parser


def main(argv: list[str] | None = None) -> int:
    from ecgbench.core.progress import setup_logging

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in the manifest
    setup_logging(args.verbose)
    try:
        return {
            "run": cmd_run,
            "list": cmd_list,
            "compare": cmd_compare,
            "leaderboard": cmd_leaderboard,
            "soft-vote": cmd_soft_vote,
            "prior-weights": cmd_prior_weights,
            "upgrade": cmd_upgrade,
            "data": cmd_data,
            "run-cell": cmd_run_cell,
            "cells": cmd_cells,
            "finish": cmd_finish,
            "ec57": cmd_ec57,
            "tune": cmd_tune,
            "tune-worker": cmd_tune_worker,
            "predict": cmd_predict,
            "gallery": cmd_gallery,
        }[args.command](args)
    except EcgbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        _resume_hint(exc)
        return 2
    except OSError as exc:  # a file or folder that cannot be read or written, outside a run's own checks
        from ecgbench.core.io import os_error_text

        print(f"error: {os_error_text(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        from ecgbench.core.errors import signal_name

        name = signal_name(exc)
        print(
            f"\ninterrupted ({name})"
            + (
                ""
                if hasattr(exc, "resume")
                else ": finished cells are kept; rerun the same command with --run-id to resume"
            ),
            file=sys.stderr,
        )
        _resume_hint(exc)
        return 128 + getattr(signal, name)


def _resume_hint(exc: BaseException) -> None:
    """The command that continues a run (or a tuning study) stopped after planning; what it finished is kept."""
    if getattr(exc, "resume", None):
        kept = getattr(exc, "kept", "the finished cells are kept")
        print(f"{kept}; to continue: {exc.resume}", file=sys.stderr)


def suite_from_args(args, available_datasets):
    from ecgbench.models import model_names
    from ecgbench.run.suite import Suite, check_seeds, load_suite

    chosen = sum(bool(x) for x in (args.all, args.suite, args.model or args.dataset))
    if chosen != 1:
        raise EcgbenchError("say what to run: --all, --suite FILE, or --model NAME and --dataset NAME")
    if args.suite:
        suite = load_suite(args.suite)
    elif args.all:
        suite = Suite(datasets=available_datasets, models=model_names())
    else:
        if not args.model or not args.dataset:
            raise EcgbenchError("--model and --dataset go together (each may be repeated)")
        suite = Suite(datasets=args.dataset, models=args.model)
    if args.seeds:
        check_seeds(args.seeds, "--seeds")
        suite.seeds, suite.model_seeds = args.seeds, {}
    if args.protocol:
        suite.split["protocol"] = args.protocol
    if args.quick:
        suite.make_quick()
    return suite


def cmd_run(args) -> int:
    from ecgbench.core.io import writable_folder
    from ecgbench.core.threads import current_threads, set_threads
    from ecgbench.data import dataset_names, dataset_spec, resolve_data_dir
    from ecgbench.run.suite import validate
    from ecgbench.workflow import run_suite

    if args.threads is not None:
        if args.threads < 1:
            raise EcgbenchError(f"--threads must be at least 1 (got {args.threads})")
        set_threads(args.threads)
    elif args.workers:
        set_threads(1)
    if args.retries < 0:
        raise EcgbenchError(f"--retries must be 0 or more (got {args.retries})")
    writable_folder(args.results_dir, "--results-dir")
    data_dir = resolve_data_dir(args.data_dir)
    available = [n for n in dataset_names() if dataset_spec(n).is_available(data_dir)]
    suite = suite_from_args(args, available)
    validate(suite, data_dir)
    if args.all:
        for name in sorted(set(dataset_names()) - set(available)):
            log.info("dataset %s skipped: %s", name, dataset_spec(name).missing(data_dir))
    run_id = args.run_id or time.strftime("%Y%m%d-%H%M%S") + ("-quick" if suite.quick else "")
    if not run_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise EcgbenchError(f"--run-id {run_id!r}: use letters, digits, '-', '_' and '.' only")
    run_dir = args.results_dir / run_id
    command = "python -m ecgbench " + shlex.join(args.argv)
    pairs = sum(len(suite.seeds_for(model)) for model in suite.models)
    log.info(
        "run %s: %d dataset(s) x %d model(s), %d (model, seed) pair(s) per split -> %s",
        run_id,
        len(suite.datasets),
        len(suite.models),
        pairs,
        run_dir,
    )
    executor = executor_from_args(args, suite)
    if args.print_job_script:
        from ecgbench.run.executors import job_script

        print(job_script(cluster_options(args, suite), current_threads()))
        return 0
    failures = run_suite(
        suite, run_dir, data_dir, command, executor, plan_only=args.plan_only, save_models=not args.no_models
    )
    if args.plan_only:
        print(f"planned: {run_dir} (cells: python -m ecgbench cells {run_dir})")
        return 0
    if (run_dir / "summary.md").exists():
        print(f"report: {run_dir / 'summary.md'}")
    if failures:
        print(f"{len(failures)} cell(s) failed (details in their error.txt):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure.cell}: {failure.error}: {failure.message}", file=sys.stderr)
        return 1
    return 0


CLUSTER_OPTIONS = ("queue", "cores", "memory", "walltime", "jobs")


def cluster_options(args, suite) -> dict:
    """The suite's ``[cluster]`` table, overridden by the command line's options; the options are checked as the
    table is (what goes into a batch job script: ecgbench.run.suite.check_cluster), and named as options."""
    from ecgbench.run.suite import check_cluster

    given = {name: getattr(args, name) for name in CLUSTER_OPTIONS if getattr(args, name) is not None}
    if args.cluster:
        given["system"] = args.cluster
    check_cluster(given, "", {name: f"--{name}" for name in given} | {"system": "--cluster"})
    return dict(suite.cluster) | given


def executor_from_args(args, suite):
    from ecgbench.core.threads import current_threads
    from ecgbench.run import executors

    threads = current_threads()
    if args.workers is not None:
        if args.workers < 1:
            raise EcgbenchError(f"--workers must be at least 1 (got {args.workers})")
        return executors.DaskExecutor(executors.local_cluster(args.workers, threads), threads, args.retries)
    if args.scheduler:
        return executors.DaskExecutor(executors.scheduler(args.scheduler), threads, args.retries)
    if args.cluster is not None or args.print_job_script:
        options = cluster_options(args, suite)
        if not args.print_job_script:  # before planning: without sbatch (or qsub, ...) nothing could ever start
            executors.check_submit_command(options)
        return executors.DaskExecutor(
            executors.jobqueue(options, threads),
            threads,
            args.retries,
            gpu=bool(options.get("gpu")),
            no_worker_timeout=options.get("start_timeout", executors.START_TIMEOUT_S),
        )
    return None


def cmd_run_cell(args) -> int:
    from ecgbench.core.threads import set_threads
    from ecgbench.data import resolve_data_dir
    from ecgbench.run.executors import attempt, describe
    from ecgbench.run.runner import planned_cells, sigterm_as_interrupt
    from ecgbench.run.store import CellKey, RunStore

    if args.threads is not None:
        set_threads(max(1, args.threads))
    store = RunStore(args.run_dir)
    if not store.exists():
        raise EcgbenchError(
            f"{args.run_dir} is not a planned run folder (no manifest.json in it); plan it with "
            "`python -m ecgbench run ... --plan-only`"
        )
    key = CellKey.from_id(args.cell_id)
    if key not in planned_cells(store):
        raise EcgbenchError(
            f"{key.id} is not a cell of {args.run_dir} (`python -m ecgbench cells {args.run_dir} --all` lists them)"
        )
    # SIGTERM (a batch system's cancel) stops the cell as Ctrl-C does, so the cell's lock is released on the way
    with sigterm_as_interrupt(), store.cell_lock(key):
        if store.cell_finished(key) and not args.force:
            print(f"{key.id}: finished earlier, kept")
            return 0
        start = time.monotonic()
        metrics, failure = attempt(store, key, resolve_data_dir(args.data_dir))
    if failure:
        print(f"{key.id} failed: {failure.error}: {failure.message} (details in its error.txt)", file=sys.stderr)
        return 1
    print(
        f"{describe(key)}: accuracy {metrics.accuracy:.4f}, macro-F1 {metrics.f1_macro:.4f} "
        f"({time.monotonic() - start:.0f} s)"
    )
    return 0


def cmd_cells(args) -> int:
    from ecgbench.run.runner import planned_cells
    from ecgbench.run.store import RunStore

    store = RunStore(args.run_dir)
    if not store.exists():
        raise EcgbenchError(f"{args.run_dir} is not a planned run folder (no manifest.json in it)")
    for key in planned_cells(store):
        if args.all or not store.cell_finished(key):
            print(key.id)
    return 0


def cmd_finish(args) -> int:
    from ecgbench.run.records import Failure
    from ecgbench.run.runner import planned_cells, sigterm_as_interrupt
    from ecgbench.run.store import RunStore
    from ecgbench.workflow import finish_partial, finish_run

    store = RunStore(args.run_dir)
    if not store.exists():
        raise EcgbenchError(f"{args.run_dir} is not a planned run folder (no manifest.json in it)")
    with sigterm_as_interrupt(), store.lock():
        planned = planned_cells(store)
        unfinished = [key for key in planned if not store.cell_finished(key)]
        failed = [key for key in unfinished if (store.cell_dir(key) / "error.txt").is_file()]
        if args.partial and len(failed) < len(unfinished):  # else every cell has run: the full report below
            if len(unfinished) == len(planned):
                raise EcgbenchError(f"{args.run_dir} has no finished cell yet: there is nothing to report")
            finish_partial(store, len(planned) - len(unfinished), len(planned))
            print(
                f"partial report ({len(planned) - len(unfinished)} of {len(planned)} cells): "
                f"{args.run_dir / 'summary.md'}"
            )
            return 0
        if len(failed) < len(unfinished):
            raise EcgbenchError(
                f"{len(unfinished) - len(failed)} cell(s) of {args.run_dir} are not finished (not "
                f"run yet, or damaged: see the warnings; `python -m ecgbench cells {args.run_dir}` "
                "lists them; `finish --partial` reports the finished ones)"
            )
        # the exception of a cell that failed in another process is in its error.txt only: point to it
        failures = [Failure(key.id, "see error.txt", str(store.cell_dir(key) / "error.txt")) for key in failed]
        finish_run(store, failures)
    print(f"report: {args.run_dir / 'summary.md'}")
    if failures:
        print(f"{len(failures)} cell(s) failed (details in their error.txt)", file=sys.stderr)
        return 1
    return 0


def cmd_tune(args) -> int:
    from ecgbench.tuning.command import cmd_tune as tune

    return tune(args)


def cmd_tune_worker(args) -> int:
    from ecgbench.tuning.command import cmd_tune_worker as tune_worker

    return tune_worker(args)


def cmd_list(args) -> int:
    from ecgbench.data import dataset_names, dataset_origin, dataset_spec, resolve_data_dir
    from ecgbench.models import model_class, model_names, model_origin

    data_dir = resolve_data_dir(args.data_dir)
    print("models:")
    for name in model_names():
        print(f"  {name:<18} {model_class(name).description}  [{model_origin(name)}]")
        if unavailable := model_class(name).unavailable():
            print(f"  {'':<18} unavailable: {unavailable}")
    print(f"\ndatasets (data directory: {data_dir}):")
    for name in dataset_names():
        spec = dataset_spec(name)
        missing = spec.missing(data_dir)
        origin = "" if dataset_origin(name) == "built-in" else f"  [{dataset_origin(name)}]"
        print(f"  {name:<18} {'not found' if missing else 'present':<10} {spec.description}{origin}")
        if missing:
            print(f"  {'':<18} {'':<10} {missing}")
    return 0


def cmd_compare(args) -> int:
    from ecgbench.core.io import output_file, write_text
    from ecgbench.data import resolve_data_dir
    from ecgbench.reports.compare import compare_runs, comparison_markdown, comparison_pairs, evidence_markdown
    from ecgbench.reports.view import RunView
    from ecgbench.run.store import resolve_run

    if not args.run_b and not (args.model_a or args.model_b):  # A and B would be the same cells
        raise EcgbenchError(
            f"compare {args.run_a} alone would compare the run with itself: give a second run "
            "(compare RUN_A RUN_B) or two of its models (--model-a NAME --model-b NAME)"
        )
    if args.markdown:
        output_file(args.markdown, "--markdown", args.overwrite, data_dir=resolve_data_dir(None))
    run_a = RunView(resolve_run(args.run_a, args.results_dir))
    run_b = RunView(resolve_run(args.run_b, args.results_dir)) if args.run_b else run_a
    pairs = comparison_pairs(run_a, run_b, args.model_a, args.model_b)
    print(
        f"A = {run_a.root}{f' ({args.model_a})' if args.model_a else ''}\n"
        f"B = {run_b.root}{f' ({args.model_b})' if args.model_b else ''}\n"
    )
    markdown = [f"# ecgbench: `{run_a.root.name}` (A) vs `{run_b.root.name}` (B)", ""]
    if not args.model_a:  # the same models in both runs: the means per metric first
        diff = compare_runs(run_a, run_b)
        print("(means over seeds and folds; difference = B - A)\n")
        for dataset, rows in diff.groupby("dataset", sort=False):
            print(f"{dataset}")
            print(
                rows.drop(columns="dataset")
                .rename(columns={"a": "A", "b": "B", "difference": "B - A"})
                .to_string(index=False, float_format=lambda v: f"{v:.4f}")
            )
            print()
        markdown = comparison_markdown(diff, run_a.root.name, run_b.root.name).splitlines()
    evidence = evidence_markdown(run_a, run_b, pairs)
    print("\n".join(evidence))
    if args.markdown:
        write_text(args.markdown, "\n".join([*markdown, *evidence]) + "\n")
        print(f"written: {args.markdown}")
    return 0


def cmd_leaderboard(args) -> int:
    from ecgbench.core.io import output_file, write_text
    from ecgbench.data import resolve_data_dir
    from ecgbench.reports.leaderboard import leaderboard_markdown, left_out_lines, load_published
    from ecgbench.reports.view import RunView
    from ecgbench.run.store import resolve_run

    output_file(args.out, "--out", args.overwrite, inputs=[args.published], data_dir=resolve_data_dir(None))
    runs = [RunView(resolve_run(run, args.results_dir)) for run in args.runs]
    command = "python -m ecgbench " + shlex.join(args.argv)
    write_text(args.out, leaderboard_markdown(runs, load_published(args.published), command))
    print(f"written: {args.out}")
    for line in left_out_lines(runs):
        print(line)
    return 0


def cmd_soft_vote(args) -> int:
    from ecgbench.reports.rescoring import soft_vote_report

    return _write_rescoring(
        args, lambda view, command: soft_vote_report(view, args.votes, command), lambda view: f"{view.root.name}.md"
    )


def cmd_prior_weights(args) -> int:
    from ecgbench.reports.rescoring import prior_weights_report

    return _write_rescoring(
        args,
        lambda view, command: prior_weights_report(view, args.model, command),
        lambda view: f"{view.root.name}-{args.model}.md",
    )


def _write_rescoring(args, report, file_name) -> int:
    """A rescoring report of one run into ``--out``: the folder checked first, the report printed and written."""
    from ecgbench.core.io import output_file, writable_folder, write_text
    from ecgbench.data import resolve_data_dir
    from ecgbench.reports.view import RunView
    from ecgbench.run.store import resolve_run

    writable_folder(args.out, "--out")
    view = RunView(resolve_run(args.run, args.results_dir))
    path = output_file(args.out / file_name(view), "--out", args.overwrite, data_dir=resolve_data_dir(None))
    text = report(view, "python -m ecgbench " + shlex.join(args.argv))
    path = write_text(path, text)
    print(text, end="")
    print(f"written: {path}")
    return 0


def cmd_upgrade(args) -> int:
    from ecgbench.reports.summary import write_report
    from ecgbench.run.runner import sigterm_as_interrupt
    from ecgbench.run.store import RunStore, upgrade

    for run in args.runs:
        store = RunStore(run)
        if not store.exists():
            raise EcgbenchError(f"{run} is not a run folder (no manifest.json in it)")
        with sigterm_as_interrupt(), store.lock():  # not while a run or another upgrade works on it
            converted = upgrade(store)
            write_report(store)
        print(
            f"{run}: {converted} cell(s) converted, report rebuilt"
            if converted
            else f"{run}: already current, report rebuilt"
        )
    return 0


def cmd_data(args) -> int:
    from ecgbench.core.io import writable_folder
    from ecgbench.data import load_dataset, resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    if args.data_command == "fetch":
        from ecgbench.data.download import check_kaggle_heartbeat, fetch_physionet

        if args.name == "kaggle-heartbeat":
            print(check_kaggle_heartbeat(data_dir))
        else:
            writable_folder(data_dir, "--data-dir")
            folder = fetch_physionet(args.name, data_dir, version=args.version, files=args.records)
            print(f"{args.name}: every file verified against SHA256SUMS.txt in {folder}")
        return 0
    from ecgbench.core.io import output_file
    from ecgbench.data.export import export_csv, export_paths

    writable_folder(args.output, "--output")
    dataset = load_dataset(args.dataset, data_dir)
    for path in export_paths(dataset, args.output):  # every file checked before the first is written
        output_file(path, "--output", args.overwrite, data_dir=data_dir)
    for path in export_csv(dataset, args.output):
        print(f"written: {path}")
    return 0


def cmd_ec57(args) -> int:
    from ecgbench.core.io import output_file, write_text
    from ecgbench.data import resolve_data_dir
    from ecgbench.reports import ec57

    records = sorted(args.folder.iterdir()) if args.folder.is_dir() else []  # the annotations read are inputs
    for option, path in (("--markdown", args.markdown), ("--csv", args.csv)):
        if path:
            output_file(path, option, args.overwrite, inputs=records, data_dir=resolve_data_dir(None))
    if args.start < 0 or args.window <= 0 or (args.end is not None and args.end < 0):
        raise EcgbenchError("--start and --end must be 0 or more seconds, --window more than 0")
    settings = ec57.Settings(args.start, args.end, args.window)
    evaluation = ec57.evaluate(args.folder, args.test, args.ref, args.records, settings)
    title = (
        f"EC57 beat-by-beat comparison: test '{args.test}' against reference '{args.ref}', "
        f"{len(evaluation.records)} record(s) of {args.folder}"
        + ("" if settings.standard else " (NONSTANDARD comparison interval or window)")
    )
    print(ec57.report_text(evaluation, title), end="")
    if args.markdown:
        print(f"written: {write_text(args.markdown, ec57.report_markdown(evaluation, title))}")
    if args.csv:
        print(f"written: {write_text(args.csv, ec57.report_csv(evaluation))}")
    return 0


def cmd_predict(args) -> int:
    from ecgbench.delivery.predict import predict_inputs, resolve_model

    if not args.strip_seconds > 0:
        raise EcgbenchError(f"--strip-seconds must be more than 0 (got {args.strip_seconds})")
    if args.threads is not None and args.threads < 1:
        raise EcgbenchError(f"--threads must be at least 1 (got {args.threads})")
    if args.workers is not None and args.workers < 1:
        raise EcgbenchError(f"--workers must be at least 1 (got {args.workers})")
    loaded = resolve_model(args.model, args.results_dir, allow_pickle=args.allow_pickle, threads=args.threads)
    plans = predict_inputs(
        loaded,
        [Path(p) for p in args.inputs],
        args.output,
        args.lead,
        args.annotator,
        args.out_annotator,
        args.overwrite,
        args.strip_seconds,
        args.workers,
        args.scheduler,
    )
    for paths in plans:
        for path in paths.values():
            print(f"written: {path}")
    return 0


def cmd_gallery(args) -> int:
    from ecgbench.delivery.gallery import write_gallery

    path = write_gallery(
        args.run,
        args.results_dir,
        args.model,
        args.true,
        args.pred,
        args.seed,
        args.max,
        args.output,
        args.data_dir,
        args.overwrite,
    )
    print(f"written: {path}")
    return 0
