"""Command line: ``python -m ecgbench COMMAND`` (run, list, compare, leaderboard, rescoring, upgrade, data)."""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import time
from pathlib import Path

from ecgbench.errors import EcgbenchError
from ecgbench.suite import PROTOCOLS

log = logging.getLogger("ecgbench")

EPILOG = """examples:
  python -m ecgbench run --all                      every model on every dataset found locally
  python -m ecgbench run --all --quick              the same, smoke-sized (a minute or two)
  python -m ecgbench run --model cnn --dataset mitbih --seeds 0 1 2
  python -m ecgbench run --suite benchmarks/synthetic.toml
  python -m ecgbench list
  python -m ecgbench compare RUN_A RUN_B --markdown diff.md
  python -m ecgbench leaderboard mitdb-intra mitdb-inter --out results/README.md
  python -m ecgbench soft-vote mitdb-ds1-cv tsfresh-xgboost+lstm all
  python -m ecgbench prior-weights mitdb-ds1-cv tsfresh-xgboost
  python -m ecgbench upgrade results/OLD-RUN          convert a run written by an older ecgbench
  python -m ecgbench data fetch mitdb               download a PhysioNet database, verified by SHA256
  python -m ecgbench data export mitdb-inter --output DIR
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m ecgbench", description="Benchmark suite for ECG heartbeat classification.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="more progress detail")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="train and evaluate models, write a report into results/<run-id>/",
                              epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    what = run.add_argument_group("what to run (one of --all, --suite, or --model/--dataset)")
    what.add_argument("--all", action="store_true", help="every registered model on every dataset found locally")
    what.add_argument("--suite", type=Path, help="a TOML suite file (see benchmarks/)")
    what.add_argument("--model", action="append", metavar="NAME", help="a model to run (repeatable)")
    what.add_argument("--dataset", action="append", metavar="NAME", help="a dataset to run on (repeatable)")
    run.add_argument("--seeds", type=int, nargs="+", metavar="SEED", help="model seeds (default: 0)")
    run.add_argument("--protocol", choices=PROTOCOLS,
                     help="split protocol (default: auto = the dataset's own train/test files, else holdout)")
    run.add_argument("--quick", action="store_true", help="smoke-sized data and models: checks the harness")
    run.add_argument("--run-id", help="name of the run folder; an existing run of the same suite is resumed "
                                      "(default: a new time-stamped name)")
    run.add_argument("--results-dir", type=Path, default=Path("results"), help="where run folders go (results/)")
    run.add_argument("--data-dir", type=Path, help="folder with the real data files "
                                                   "(default: $ECGBENCH_DATA, else ~/.cache/ecgbench)")
    run.add_argument("--threads", type=int, help="threads per cell for BLAS, numba, XGBoost and TensorFlow "
                                                 "(default: all CPUs)")

    listing = commands.add_parser("list", help="models, datasets, and which datasets are present locally")
    listing.add_argument("--data-dir", type=Path, help="folder with the real data files")

    compare = commands.add_parser(
        "compare", help="compare two runs (or two models of one run): means, and paired patient-level differences",
        description="Difference B - A for every (dataset, model) pair the runs share, or with --model-a/--model-b "
                    "between two models (of one run: give RUN_A only, or of two runs): the paired patient-level "
                    "bootstrap interval and p-value, McNemar's exact test beside it (it assumes independent beats), "
                    "and a verdict (B better / A better / no detectable difference at alpha 0.05, Holm-corrected "
                    "over the rows shown). Pairs only where both sides scored the same test beats (saved split "
                    "test indices and data fingerprint, or the predictions' index and labels for runs without a "
                    "fingerprint); otherwise it says why and shows each side's own interval.",
        epilog="examples:\n  python -m ecgbench compare RUN_A RUN_B --markdown diff.md\n"
               "  python -m ecgbench compare mitdb-inter --model-a rocket --model-b tsfresh-xgboost\n"
               "  python -m ecgbench compare RUN_A RUN_B --model-a cnn --model-b lstm",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    compare.add_argument("run_a", metavar="RUN_A", help="run folder or run id under --results-dir")
    compare.add_argument("run_b", metavar="RUN_B", nargs="?",
                         help="run folder or run id under --results-dir (default: RUN_A, with --model-a/--model-b)")
    compare.add_argument("--model-a", metavar="MODEL", help="side A's model (with --model-b)")
    compare.add_argument("--model-b", metavar="MODEL", help="side B's model (with --model-a)")
    compare.add_argument("--results-dir", type=Path, default=Path("results"))
    compare.add_argument("--markdown", type=Path, metavar="FILE", help="also write the comparison as Markdown")

    board = commands.add_parser("leaderboard", help="write the leaderboard of run reports beside published numbers")
    board.add_argument("runs", nargs="+", metavar="RUN", help="run folders or run ids under --results-dir")
    board.add_argument("--results-dir", type=Path, default=Path("results"))
    board.add_argument("--published", type=Path, default=Path("benchmarks/published.toml"),
                       help="published anchors and targets (default: benchmarks/published.toml)")
    board.add_argument("--out", type=Path, required=True, metavar="FILE", help="the Markdown file to write")

    vote = commands.add_parser("soft-vote", help="score soft votes of a run's models from their saved probabilities")
    vote.add_argument("run", metavar="RUN", help="a finished run folder or run id under --results-dir")
    vote.add_argument("votes", nargs="+", metavar="VOTE", help="models joined by '+', or 'all'")
    vote.add_argument("--results-dir", type=Path, default=Path("results"))
    vote.add_argument("--out", type=Path, default=Path("results/soft-vote"), metavar="DIR",
                      help="where <run>.md goes (results/soft-vote)")

    weights = commands.add_parser("prior-weights", help="choose a model's prior_weights from a run's saved "
                                                        "out-of-fold probabilities")
    weights.add_argument("run", metavar="RUN", help="a finished run folder or run id under --results-dir")
    weights.add_argument("model", metavar="MODEL", help="a model of the run")
    weights.add_argument("--results-dir", type=Path, default=Path("results"))
    weights.add_argument("--out", type=Path, default=Path("results/prior-weights"), metavar="DIR",
                         help="where <run>-<model>.md goes (results/prior-weights)")

    upgrade = commands.add_parser("upgrade", help="convert run folders written by an older ecgbench, in place, "
                                                  "and rebuild their reports")
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
    return parser


def main(argv: list[str] | None = None) -> int:
    from ecgbench.progress import setup_logging

    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # recorded in the manifest
    setup_logging(args.verbose)
    try:
        return {"run": cmd_run, "list": cmd_list, "compare": cmd_compare, "leaderboard": cmd_leaderboard,
                "soft-vote": cmd_soft_vote, "prior-weights": cmd_prior_weights, "upgrade": cmd_upgrade,
                "data": cmd_data}[args.command](args)
    except EcgbenchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished cells are kept; rerun the same command with --run-id to resume",
              file=sys.stderr)
        return 130


def suite_from_args(args, available_datasets):
    from ecgbench.models import model_names
    from ecgbench.suite import Suite, load_suite

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
        suite.seeds, suite.model_seeds = args.seeds, {}
    if args.protocol:
        suite.split["protocol"] = args.protocol
    if args.quick:
        suite.make_quick()
    return suite


def cmd_run(args) -> int:
    from ecgbench.data import dataset_names, dataset_spec, resolve_data_dir
    from ecgbench.runner import run_suite
    from ecgbench.suite import validate
    from ecgbench.threads import set_threads

    if args.threads is not None:
        if args.threads < 1:
            raise EcgbenchError(f"--threads must be at least 1 (got {args.threads})")
        set_threads(args.threads)
    data_dir = resolve_data_dir(args.data_dir)
    available = [n for n in dataset_names() if dataset_spec(n).is_available(data_dir)]
    suite = suite_from_args(args, available)
    validate(suite, data_dir)
    if args.all:
        for name in sorted(set(dataset_names()) - set(available)):
            log.info("dataset %s not found in %s, skipped. %s", name, data_dir, dataset_spec(name).how_to_get)
    run_id = args.run_id or time.strftime("%Y%m%d-%H%M%S") + ("-quick" if suite.quick else "")
    if not run_id.replace("-", "").replace("_", "").replace(".", "").isalnum():
        raise EcgbenchError(f"--run-id {run_id!r}: use letters, digits, '-', '_' and '.' only")
    run_dir = args.results_dir / run_id
    command = "python -m ecgbench " + shlex.join(args.argv)
    pairs = sum(len(suite.seeds_for(model)) for model in suite.models)
    log.info("run %s: %d dataset(s) x %d model(s), %d (model, seed) pair(s) per split -> %s", run_id,
             len(suite.datasets), len(suite.models), pairs, run_dir)
    failures = run_suite(suite, run_dir, data_dir, command)
    if (run_dir / "summary.md").exists():
        print(f"report: {run_dir / 'summary.md'}")
    if failures:
        print(f"{len(failures)} cell(s) failed (details in their error.txt):", file=sys.stderr)
        for failure in failures:
            print(f"  {failure['cell']}: {failure['error']}: {failure['message']}", file=sys.stderr)
        return 1
    return 0


def cmd_list(args) -> int:
    from ecgbench.data import dataset_names, dataset_spec, resolve_data_dir
    from ecgbench.models import model_class, model_names, model_origin

    data_dir = resolve_data_dir(args.data_dir)
    print("models:")
    for name in model_names():
        print(f"  {name:<18} {model_class(name).description}  [{model_origin(name)}]")
    print(f"\ndatasets (data directory: {data_dir}):")
    for name in dataset_names():
        spec = dataset_spec(name)
        state = "present" if spec.is_available(data_dir) else "not found"
        print(f"  {name:<18} {state:<10} {spec.description}")
        if state == "not found" and spec.how_to_get:
            print(f"  {'':<18} {'':<10} {spec.how_to_get}")
    return 0


def cmd_compare(args) -> int:
    from ecgbench.compare import compare_runs, comparison_markdown, comparison_pairs, evidence_markdown
    from ecgbench.io import write_text
    from ecgbench.store import resolve_run

    run_a = resolve_run(args.run_a, args.results_dir)
    run_b = resolve_run(args.run_b, args.results_dir) if args.run_b else run_a
    pairs = comparison_pairs(run_a, run_b, args.model_a, args.model_b)
    print(f"A = {run_a.root}{f' ({args.model_a})' if args.model_a else ''}\n"
          f"B = {run_b.root}{f' ({args.model_b})' if args.model_b else ''}\n")
    markdown = [f"# ecgbench: `{run_a.root.name}` (A) vs `{run_b.root.name}` (B)", ""]
    if not args.model_a:  # the same models in both runs: the means per metric first
        diff = compare_runs(run_a, run_b)
        print("(means over seeds and folds; difference = B - A)\n")
        for dataset, rows in diff.groupby("dataset", sort=False):
            print(f"{dataset}")
            print(rows.drop(columns="dataset").rename(columns={"a": "A", "b": "B", "difference": "B - A"})
                  .to_string(index=False, float_format=lambda v: f"{v:.4f}"))
            print()
        markdown = comparison_markdown(diff, run_a.root.name, run_b.root.name).splitlines()
    evidence = evidence_markdown(run_a, run_b, pairs)
    print("\n".join(evidence))
    if args.markdown:
        write_text(args.markdown, "\n".join([*markdown, *evidence]) + "\n")
        print(f"written: {args.markdown}")
    return 0


def cmd_leaderboard(args) -> int:
    from ecgbench.io import write_text
    from ecgbench.leaderboard import leaderboard_markdown, load_published
    from ecgbench.store import resolve_run

    runs = [resolve_run(run, args.results_dir) for run in args.runs]
    command = "python -m ecgbench " + shlex.join(args.argv)
    write_text(args.out, leaderboard_markdown(runs, load_published(args.published), command))
    print(f"written: {args.out}")
    return 0


def cmd_soft_vote(args) -> int:
    from ecgbench import rescoring
    from ecgbench.evidence import pooled_groups, rescored_table
    from ecgbench.io import write_text
    from ecgbench.store import pooled_probabilities, resolve_run

    store = resolve_run(args.run, args.results_dir)
    manifest = store.read_manifest()
    proba, y, classes = pooled_probabilities(store)
    rows = rescoring.vote_rows(args.votes, proba, y, classes)
    command = "python -m ecgbench " + shlex.join(args.argv)
    lines = [*rescoring.header("Soft votes, scored from saved probabilities", command, store, manifest),
             f"- beats: {len(y):,}, the test beats of every split pooled (seed 0 of each model)", "",
             "| model or vote | accuracy | macro-F1 | Se S | +P S | Se V | +P V |",
             "|---|---|---|---|---|---|---|", *rows, "",
             "Each vote (B) against its best member alone (A, the highest pooled macro-F1):", "",
             *rescored_table(rescoring.vote_comparisons(args.votes, proba, y, classes), y,
                             pooled_groups(store, y), classes), ""]
    path = write_text(args.out / f"{store.root.name}.md", "\n".join(lines))
    print("\n".join(lines))
    print(f"written: {path}")
    return 0


def cmd_prior_weights(args) -> int:
    from ecgbench import rescoring
    from ecgbench.evidence import pooled_groups, rescored_table
    from ecgbench.io import write_text
    from ecgbench.models.base import shift_priors
    from ecgbench.store import pooled_probabilities, resolve_run

    store = resolve_run(args.run, args.results_dir)
    manifest = store.read_manifest()
    proba, y, classes = pooled_probabilities(store)
    if args.model not in proba:
        raise EcgbenchError(f"model {args.model!r} is not in {store.root} ({', '.join(proba)})")
    rows = rescoring.score_prior_weights(proba[args.model], y, classes)
    chosen = rescoring.choose_prior_weights(rows)
    command = "python -m ecgbench " + shlex.join(args.argv)
    title = f"Prior weights for {args.model}, chosen on saved probabilities"
    head = [*rescoring.header(title, command, store, manifest),
            f"- beats: {len(y):,}, the test beats of every split pooled (seed 0)",
            f"- rule: {rescoring.PRIOR_WEIGHT_RULE}", "",
            f"chosen: `prior_weights = [{', '.join(f'{w:g}' for w in chosen['weights'])}]` (classes "
            f"{', '.join(classes)})"]
    alone = proba[args.model].argmax(1)
    weighted = shift_priors(proba[args.model], chosen["weights"]).argmax(1)
    evidence = ["The chosen weights (B) against the model alone, unweighted (A):", "",
                *rescored_table([(f"{args.model} chosen weights", alone, weighted)], y, pooled_groups(store, y),
                                classes)]
    path = write_text(args.out / f"{store.root.name}-{args.model}.md",
                      "\n".join([*head, "", *rescoring.prior_weight_table(rows, chosen, classes), "", *evidence, ""]))
    print("\n".join(head))
    print(f"written: {path}")
    return 0


def cmd_upgrade(args) -> int:
    from ecgbench.reports import write_report
    from ecgbench.store import RunStore, upgrade

    for run in args.runs:
        store = RunStore(run)
        if not store.exists():
            raise EcgbenchError(f"{run} is not a run folder (no manifest.json in it)")
        converted = upgrade(store)
        write_report(store)
        print(f"{run}: {converted} cell(s) converted, report rebuilt" if converted else
              f"{run}: already current, report rebuilt")
    return 0


def cmd_data(args) -> int:
    from ecgbench.data import load_dataset, resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    if args.data_command == "fetch":
        from ecgbench.data.download import check_kaggle_heartbeat, fetch_physionet

        if args.name == "kaggle-heartbeat":
            print(check_kaggle_heartbeat(data_dir))
        else:
            folder = fetch_physionet(args.name, data_dir, version=args.version, files=args.records)
            print(f"{args.name}: every file verified against SHA256SUMS.txt in {folder}")
        return 0
    from ecgbench.data.export import export_csv

    for path in export_csv(load_dataset(args.dataset, data_dir), args.output):
        print(f"written: {path}")
    return 0
