"""End to end through the command line, on the embedded SYNTHETIC data, smoke-sized (--quick)."""

import inspect
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.core.evaluation import SPLIT_PROTOCOLS
from ecgbench.data import load_dataset
from ecgbench.models import model_names
from ecgbench.run.store import read_predictions
from ecgbench.run.suite import QUICK_DATASET_PARAMS
from tests.conftest import committed_run_manifests

FAST = ["--model", "minirocket", "--model", "rocket", "--dataset", "synthetic", "--quick"]


@pytest.fixture(scope="module")
def full_quick_run(tmp_path_factory):
    """``run --all --quick``: every model family on the embedded dataset (the real data folder is empty)."""
    root = tmp_path_factory.mktemp("runs")
    empty = tmp_path_factory.mktemp("no-data")
    code = main(["run", "--all", "--quick", "--run-id", "all", "--results-dir", str(root), "--data-dir", str(empty)])
    return code, root / "all"


@pytest.mark.slow
def test_run_all_quick_writes_every_report_file(full_quick_run):
    code, run = full_quick_run
    assert code == 0
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "complete"
    assert manifest["command"].startswith("python -m ecgbench run --all --quick")
    assert manifest["versions"]["tensorflow"] and manifest["versions"]["xgboost"]
    assert manifest["datasets"]["synthetic"]["synthetic"] is True
    assert len(manifest["datasets"]["synthetic"]["provenance"]["checksum"]) == 64
    models = model_names()  # --all: every registered model

    table = pd.read_csv(run / "results.csv")
    assert sorted(table["model"]) == sorted(models)
    assert (table["f1_macro"] > table["baseline_f1_macro"]).all(), table[["model", "f1_macro", "baseline_f1_macro"]]
    assert len(json.loads((run / "metrics.json").read_text())["cells"]) == len(models)

    summary = (run / "summary.md").read_text()
    assert "SYNTHETIC" in summary and "Quick run" in summary
    for model in models:
        assert f"| {model} |" in summary
        assert (run / "confusion" / f"synthetic_holdout_{model}_seed0.png").read_bytes()[:4] == b"\x89PNG"
        cell = run / "cells" / "synthetic" / "holdout" / model / "seed0"
        predictions = read_predictions(cell / "predictions.parquet")
        probabilities = predictions.filter(like="p_").to_numpy()
        assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-3)
        assert (predictions["y_pred"] == probabilities.argmax(axis=1)).all()
        row = table[table["model"] == model].iloc[0]
        assert row["accuracy"] == pytest.approx((predictions["y_true"] == predictions["y_pred"]).mean(), abs=1e-5)

    splits = np.load(run / "splits" / "synthetic.npz")
    assert set(splits.files) == {"holdout_train", "holdout_val", "holdout_test", "schema_version"}
    assert len(splits["holdout_test"]) == table["n_test"].iloc[0]


@pytest.mark.slow
def test_predictions_carry_record_ids_and_the_summary_names_the_records_holding_missed_beats(full_quick_run):
    _, run = full_quick_run
    dataset = load_dataset("synthetic", n_beats=QUICK_DATASET_PARAMS["synthetic"]["n_beats"])
    summary = (run / "summary.md").read_text()
    assert "Where the missed beats are" in summary
    for model in ["minirocket", "cnn"]:
        predictions = pd.read_parquet(run / "cells" / "synthetic" / "holdout" / model / "seed0" / "predictions.parquet")
        assert (predictions["group"].to_numpy() == dataset.groups[predictions["index"]]).all()
        row = next(line for line in summary.splitlines() if line.startswith(f"| {model} | ") and " / " in line)
        cells = row.strip("| ").split(" | ")[1:]
        for i, cell in enumerate(cells):
            beats = predictions[predictions["y_true"] == i]
            missed = beats.assign(missed=beats["y_pred"] != i).groupby("group")["missed"].agg(["sum", "size"])
            total, _, listed = cell.partition(" (")
            assert total == f"{missed['sum'].sum()} / {len(beats)}", (model, cell)
            shown = {
                int(g): tuple(map(int, counts.split(" / ")))
                for g, counts in (part.split(": ") for part in listed.rstrip(")").split("; ") if part)
            }
            assert len(shown) == min(3, (missed["sum"] > 0).sum()), (model, cell)
            for group, counts in shown.items():
                assert counts == (missed.loc[group, "sum"], missed.loc[group, "size"]), (model, cell, group)
            unlisted = missed.drop(index=list(shown))["sum"]
            assert (unlisted <= min((m for m, _ in shown.values()), default=0)).all(), (model, cell)


def test_list_says_which_real_datasets_were_not_found_and_how_to_get_them(capsys, tmp_path):
    main(["list", "--data-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert "synthetic" in out and "present" in out
    assert "mitbih" in out and "not found" in out and "kaggle.com/datasets/shayanfazeli/heartbeat" in out
    for model in model_names():
        assert model in out


@pytest.mark.slow
def test_an_interrupted_run_resumes_and_gives_the_same_report(tmp_path, capsys):
    args = ["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]
    assert main(args) == 0
    run = tmp_path / "r"
    before = pd.read_csv(run / "results.csv")
    # Simulate an interruption during the rocket cell: its metrics.json (the finished mark) was never written.
    (run / "cells" / "synthetic" / "holdout" / "rocket" / "seed0" / "metrics.json").unlink()
    (run / "results.csv").unlink()
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "minirocket on synthetic/holdout seed 0: finished earlier, kept" in err
    assert "rocket on synthetic/holdout seed 0: training" in err
    after = pd.read_csv(run / "results.csv")
    scores = ["model", "accuracy", "f1_macro", "f1_S", "f1_V"]
    pd.testing.assert_frame_equal(before[scores], after[scores])
    invocations = json.loads((run / "manifest.json").read_text())["invocations"]
    assert len(invocations) == 2
    # Each cell names the code that ran it, and the summary lists both invocations.
    assert set(after["commit"]) == {invocations[1]["commit"]}
    summary = (run / "summary.md").read_text()
    assert "Resumed run" in summary and summary.count(f"at commit `{invocations[1]['commit']}`") == 2


@pytest.mark.slow
def test_resuming_with_another_suite_is_refused(tmp_path, capsys):
    assert main(["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]) == 0
    code = main(["run", *FAST, "--seeds", "1", "--run-id", "r", "--results-dir", str(tmp_path)])
    assert code == 2
    assert "holds a run of another suite" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_shows_the_differences_of_shared_pairs(tmp_path, capsys):
    base = ["--dataset", "synthetic", "--quick", "--results-dir", str(tmp_path)]
    assert main(["run", "--model", "minirocket", "--model", "rocket", *base, "--run-id", "a"]) == 0
    assert main(["run", "--model", "rocket", *base, "--seeds", "1", "--run-id", "b"]) == 0
    capsys.readouterr()
    md = tmp_path / "diff.md"
    assert main(["compare", "a", "b", "--results-dir", str(tmp_path), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    a = pd.read_csv(tmp_path / "a" / "results.csv").set_index("model").loc["rocket"]
    b = pd.read_csv(tmp_path / "b" / "results.csv").set_index("model").loc["rocket"]
    assert "minirocket" not in out  # only in run a
    text = md.read_text()
    for metric in ("accuracy", "f1_macro", "f1_S"):
        line = next(line for line in text.splitlines() if line.startswith(f"| rocket | {metric} |"))
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert float(cells[2]) == pytest.approx(a[metric], abs=1e-4)
        assert float(cells[3]) == pytest.approx(b[metric], abs=1e-4)
        assert float(cells[4]) == pytest.approx(b[metric] - a[metric], abs=2e-4)
        assert metric in out


@pytest.mark.slow
def test_compare_of_runs_without_shared_pairs_is_a_clear_error(tmp_path, capsys):
    base = ["--dataset", "synthetic", "--quick", "--results-dir", str(tmp_path)]
    assert main(["run", "--model", "minirocket", *base, "--run-id", "a"]) == 0
    assert main(["run", "--model", "rocket", *base, "--run-id", "b"]) == 0
    assert main(["compare", "a", "b", "--results-dir", str(tmp_path)]) == 2
    assert "share no (dataset, model) pair" in capsys.readouterr().err
    assert main(["compare", "a", "missing", "--results-dir", str(tmp_path)]) == 2
    assert "no run found at 'missing'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "--model", "nope", "--dataset", "synthetic"],
            "unknown model 'nope'; known models: cnn, cnn-bilstm, lstm",
        ),
        (["run", "--model", "cnn", "--dataset", "nope"], "unknown dataset 'nope'; known datasets:"),
        (["run", "--model", "cnn"], "--model and --dataset go together"),
        (["run"], "say what to run"),
        (["run", "--suite", "missing.toml"], "suite file missing.toml does not exist"),
        (["run", "--all", "--threads", "0"], "--threads must be at least 1"),
        (["run", "--all", "--run-id", "../x"], "--run-id '../x': use letters"),
        (
            ["run", "--model", "cnn", "--dataset", "mitbih", "--data-dir", "/nonexistent"],
            "dataset 'mitbih' cannot be read from /nonexistent: mitbih_train.csv not found",
        ),
    ],
)
def test_bad_input_gets_a_clear_message_and_exit_code_2(args, message, capsys, tmp_path):
    assert main([*args, "--results-dir", str(tmp_path)] if args[0] == "run" and len(args) > 1 else args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())  # nothing half-written


@pytest.mark.parametrize(
    ("suite", "message"),
    [
        ("datasets = ['synthetic']\nmodels = ['rocket']\nepochs = 3\n", "unknown key(s) epochs"),
        ("datasets = ['synthetic']\nmodels = []\n", "models = []: must be a non-empty list of names"),
        ("datasets = ['synthetic'\n", "is not valid TOML"),
        (
            "datasets = ['synthetic']\nmodels = ['rocket']\n[model_params.rocket]\nkernels = 3\n",
            "model 'rocket': unknown parameter(s) kernels",
        ),
        (
            "datasets = ['synthetic']\nmodels = ['rocket']\n[dataset_params.synthetic]\nbeats = 3\n",
            "dataset 'synthetic': unknown parameter(s) beats",
        ),
        (
            "datasets = ['synthetic']\nmodels = ['rocket']\n[split]\nprotocol = 'random'\n",
            '[split] protocol = "random": must be one of "auto", "predefined", "holdout"',
        ),
        (
            "datasets = ['synthetic']\nmodels = ['rocket']\n[model_seeds]\nrocket = []\n",
            "'[model_seeds] rocket' must be a non-empty list of integers",
        ),
        (
            "datasets = ['synthetic']\nmodels = ['rocket']\n[model_seeds]\ncnn = [1]\n",
            "[model_seeds] names cnn, which the suite does not run",
        ),
        (
            "description = ['a', 'list']\ndatasets = ['synthetic']\nmodels = ['rocket']\n",
            'description = ["a", "list"]: must be a string',
        ),
    ],
)
def test_bad_suite_files_are_named(suite, message, tmp_path, capsys):
    path = tmp_path / "suite.toml"
    path.write_text(suite)
    assert main(["run", "--suite", str(path), "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_prior_weights_that_do_not_fit_the_dataset_fail_before_any_cell_runs(tmp_path, capsys):
    # Their length is checked against the dataset's classes, so only once it is loaded; no cell may run first.
    path = tmp_path / "suite.toml"
    path.write_text(
        "datasets = ['synthetic']\nmodels = ['rocket', 'tsfresh-xgboost']\n"
        "[model_params.tsfresh-xgboost]\nprior_weights = [1, 3]\n"
    )
    assert main(["run", "--suite", str(path), "--results-dir", str(tmp_path / "results")]) == 2
    err = capsys.readouterr().err
    assert "model 'tsfresh-xgboost': prior_weights must be 5 positive numbers" in err and "Traceback" not in err
    assert not (tmp_path / "results").exists()  # no run folder for a run that never started


@pytest.mark.slow
def test_a_suite_file_overrides_parameters(tmp_path):
    path = tmp_path / "suite.toml"
    path.write_text(
        "datasets = ['synthetic']\nmodels = ['rocket', 'minirocket']\nseeds = [3]\n"
        "[model_seeds]\nminirocket = [1, 2]\n"
        "[dataset_params.synthetic]\nn_beats = 1200\n[model_params.rocket]\nnum_kernels = 64\n"
        "[model_params.minirocket]\nnum_kernels = 84\n"
    )
    assert main(["run", "--suite", str(path), "--run-id", "s", "--results-dir", str(tmp_path)]) == 0
    cell = json.loads(
        (tmp_path / "s" / "cells" / "synthetic" / "holdout" / "rocket" / "seed3" / "metrics.json").read_text()
    )
    assert cell["params"]["num_kernels"] == 64
    table = pd.read_csv(tmp_path / "s" / "results.csv")
    pairs = sorted(zip(table["model"], table["seed"], strict=True))
    assert pairs == [("minirocket", 1), ("minirocket", 2), ("rocket", 3)]
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["suite"]["seeds"] == [3]
    assert manifest["datasets"]["synthetic"]["n_beats"] == pytest.approx(1200, abs=50)


@pytest.mark.slow
def test_a_failing_model_costs_only_its_own_cell(tmp_path, capsys, monkeypatch):
    from ecgbench.models.rocket import RocketModel

    def explode(self, *args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(RocketModel, "fit", explode)
    assert main(["run", *FAST, "--run-id", "f", "--results-dir", str(tmp_path)]) == 1
    assert "synthetic/holdout/rocket/seed0: RuntimeError: boom" in capsys.readouterr().err
    run = tmp_path / "f"
    assert "boom" in (run / "cells" / "synthetic" / "holdout" / "rocket" / "seed0" / "error.txt").read_text()
    assert list(pd.read_csv(run / "results.csv")["model"]) == ["minirocket"]
    assert json.loads((run / "manifest.json").read_text())["status"] == "failed cells"
    shutil.rmtree(run)


@pytest.mark.slow
def test_data_export_writes_kaggle_csvs_that_the_loader_reads_back(tmp_path, capsys):
    from ecgbench.data import load_dataset
    from ecgbench.data.kaggle import read_beats_csv

    assert main(["data", "export", "synthetic", "--output", str(tmp_path)]) == 0
    assert "written:" in capsys.readouterr().out
    X, y = read_beats_csv(tmp_path / "synthetic.csv", n_classes=5)
    original = load_dataset("synthetic")
    assert np.array_equal(X, original.X) and np.array_equal(y, original.y)
    groups = np.loadtxt(tmp_path / "synthetic_groups.csv", dtype=int)
    assert np.array_equal(groups, original.groups)


SUITE_FILES = sorted(
    p for p in (Path(__file__).resolve().parent.parent / "benchmarks").glob("*.toml") if p.name != "published.toml"
)  # published.toml holds the leaderboard's anchors


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.name)
def test_committed_suites_name_only_parameters_that_exist(path):
    from ecgbench.data import dataset_spec
    from ecgbench.data.context import check_groups
    from ecgbench.models import build
    from ecgbench.run.suite import load_suite

    suite = load_suite(path)
    assert suite.split["protocol"] in SPLIT_PROTOCOLS
    for name in suite.datasets:
        params = suite.params_for_dataset(name)
        inspect.signature(dataset_spec(name).load).bind(Path("."), **params)  # what the loader takes
        if "context" in params:
            check_groups(params["context"])
    for model in suite.models:
        build(model, n_classes=5, **suite.params_for_model(model))  # unknown parameters are refused here


@pytest.mark.parametrize("path", SUITE_FILES, ids=lambda p: p.name)
def test_committed_suites_say_what_they_are_for(path):
    from ecgbench.run.suite import load_suite

    description = load_suite(path).description
    assert description.strip() and "\n" not in description


@pytest.mark.slow
def test_a_description_edit_keeps_the_fingerprint_and_the_run_resumes(tmp_path, capsys):
    # The description says what a suite is for, not what its cells compute: editing it must not stop a resume.
    from ecgbench.run.suite import load_suite

    body = "datasets = ['synthetic']\nmodels = ['minirocket']\n[dataset_params.synthetic]\nn_beats = 600\n"
    path = tmp_path / "suite.toml"
    path.write_text("description = 'first words'\n" + body)
    first = load_suite(path)
    assert first.description == "first words"
    assert main(["run", "--suite", str(path), "--quick", "--run-id", "d", "--results-dir", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["suite"]["description"] == "first words"  # recorded in the manifest, shown in the summary
    assert (tmp_path / "d" / "summary.md").read_text().splitlines()[2] == "first words"
    path.write_text("description = 'other words'\n" + body)
    assert load_suite(path).fingerprint() == first.fingerprint()
    path.write_text(body)
    assert load_suite(path).fingerprint() == first.fingerprint()
    capsys.readouterr()
    assert main(["run", "--suite", str(path), "--quick", "--run-id", "d", "--results-dir", str(tmp_path)]) == 0
    assert "holds a run of another suite" not in capsys.readouterr().err


def _committed_suite_runs():
    """(run folder, the words of its command after ``python -m ecgbench``) of every committed run whose command
    names a suite file."""
    runs = []
    for manifest in committed_run_manifests():
        words = json.loads(manifest.read_text())["command"].split()
        if "--suite" in words:  # a run of `run --all` names none (studies are no runs: left out already)
            runs.append((manifest.parent, words[3:]))
    return runs


@pytest.mark.parametrize(
    ("run", "argv"), _committed_suite_runs(), ids=lambda p: p.name if isinstance(p, Path) else "its-command"
)
def test_committed_runs_keep_the_fingerprint_of_their_suite_file(run, argv, monkeypatch):
    # Comments and the description of a suite file may change; what its cells compute may not, or the committed
    # run could no longer be resumed (or rerun into the same folder) from the command that made it: the suite file
    # as that command line builds it (--seeds, --protocol, --quick applied).
    from ecgbench.cli import build_parser, suite_from_args

    monkeypatch.chdir(Path(__file__).resolve().parent.parent)  # the command's suite path is the repository's
    manifest = json.loads((run / "manifest.json").read_text())
    suite = suite_from_args(build_parser().parse_args(argv), available_datasets=[])
    assert suite.fingerprint() == manifest["suite_fingerprint"]


def test_the_committed_run_of_every_model_keeps_its_fingerprint():
    # run --all records every registered model and dataset in listing order (LISTED_AT of their modules): found by
    # discovery, they must come in the order the committed run was made with, or its command would not resume it.
    from ecgbench.cli import build_parser, suite_from_args

    manifest = json.loads(
        (Path(__file__).resolve().parent.parent / "results/synthetic-default/manifest.json").read_text()
    )
    argv = manifest["command"].split()[3:]
    assert "--all" in argv
    suite = suite_from_args(build_parser().parse_args(argv), available_datasets=manifest["suite"]["datasets"])
    assert suite.fingerprint() == manifest["suite_fingerprint"]


def test_the_ds1_cross_validation_suite_mirrors_the_inter_patient_suite():
    # mitdb-ds1-cv exists to judge mitdb-inter's settings on DS1 alone: a setting changed in one file only would
    # make its numbers say nothing about the other.
    from ecgbench.run.suite import load_suite

    inter, ds1_cv = (load_suite(SUITE_FILES[0].parent / f"{name}.toml") for name in ("mitdb-inter", "mitdb-ds1-cv"))
    assert ds1_cv.models == inter.models
    assert ds1_cv.params_for_dataset("mitdb-ds1") == inter.params_for_dataset("mitdb-inter")
    for model in inter.models:  # but for the prior weights that are chosen on mitdb-ds1-cv's probabilities
        chosen_on_ds1_cv = {k: v for k, v in inter.params_for_model(model).items() if k != "prior_weights"}
        assert ds1_cv.params_for_model(model) == chosen_on_ds1_cv, model
    assert ds1_cv.split["val_size"] == inter.split["val_size"]


def test_the_tuning_suite_is_the_inter_patient_suite_without_its_per_family_settings():
    # The equal-budget study (docs/decisions.md#tune-study-budget) tunes mitdb-inter's data and split; a family must
    # not start from settings chosen on DS1 for it alone (prior weights above all: chosen on tune's own folds).
    from ecgbench.run.suite import load_suite

    inter, tune = (load_suite(SUITE_FILES[0].parent / f"{name}.toml") for name in ("mitdb-inter", "mitdb-inter-tune"))
    assert tune.models == inter.models and tune.datasets == inter.datasets
    assert tune.params_for_dataset("mitdb-inter") == inter.params_for_dataset("mitdb-inter")
    # n_folds is tune's own: a predefined split has no folds, so only the tuning suite sets it
    assert {**tune.split, "n_folds": inter.split["n_folds"]} == inter.split
    assert all(tune.seeds_for(m) == inter.seeds_for(m) for m in inter.models)
    assert all(tune.params_for_model(m) == {} for m in tune.models)
    assert any(inter.params_for_model(m) for m in inter.models)  # what the tuning suite leaves out


def test_the_suites_that_extend_mitdb_inter_restate_its_context_groups():
    # The context groups are keyed by dataset, so a suite that extends mitdb-inter on another dataset states them
    # again: mitdb-noise (and mitdb-noise-xqrs through it) must score mitdb-inter's inputs.
    from ecgbench.run.suite import load_suite

    inter, noise, xqrs = (
        load_suite(SUITE_FILES[0].parent / f"{name}.toml")
        for name in ("mitdb-inter", "mitdb-noise", "mitdb-noise-xqrs")
    )
    context = inter.params_for_dataset("mitdb-inter")["context"]
    assert noise.params_for_dataset("mitdb-noise")["context"] == context
    assert xqrs.params_for_dataset("mitdb-noise") == {**noise.params_for_dataset("mitdb-noise"), "r_peaks": "xqrs"}


PARENT = """description = "the parent"
datasets = ["synthetic"]
models = ["rocket", "minirocket"]
seeds = [0]
[model_seeds]
rocket = [0, 1]
[split]
protocol = "holdout"
val_size = 0.15
[model_params.rocket]
alpha = 1e-4
average = false
[model_params.minirocket]
alpha = 1e-3
[dataset_params.synthetic]
n_beats = 900
"""


def write_suites(folder: Path, **files: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.toml").write_text(text)


def test_a_suite_file_extends_another_tables_key_by_key_lists_whole(tmp_path):
    from ecgbench.run.suite import load_suite

    write_suites(tmp_path, parent=PARENT)
    write_suites(
        tmp_path / "children",
        child='extends = "../parent.toml"\nmodels = ["rocket"]\n'
        "[model_params.rocket]\nalpha = 1e-2\n[split]\nseed = 3\n",
    )
    child = load_suite(tmp_path / "children" / "child.toml")
    assert child.models == ["rocket"]  # a list replaces the parent's
    assert child.model_params == {"rocket": {"alpha": 1e-2, "average": False}}  # minirocket's: not run, dropped
    assert child.split["protocol"] == "holdout" and child.split["val_size"] == 0.15 and child.split["seed"] == 3
    assert child.model_seeds == {"rocket": [0, 1]} and child.params_for_dataset("synthetic") == {"n_beats": 900}
    assert child.description == ""  # the parent's says what the parent is for


def test_an_extending_suite_has_the_fingerprint_of_the_file_it_resolves_to(tmp_path):
    from ecgbench.run.suite import load_suite

    write_suites(tmp_path, parent=PARENT, child='extends = "parent.toml"\n[model_seeds]\nrocket = [0]\n')
    flat = PARENT.replace("[model_seeds]\nrocket = [0, 1]\n", "").replace("the parent", "flat")
    write_suites(tmp_path, flat=flat, grandchild='extends = "child.toml"\ndescription = "third"\n')
    child, grandchild = load_suite(tmp_path / "child.toml"), load_suite(tmp_path / "grandchild.toml")
    assert child.model_seeds == {}  # rocket given back the common seeds
    assert child.fingerprint() == grandchild.fingerprint() == load_suite(tmp_path / "flat.toml").fingerprint()
    assert child.fingerprint() != load_suite(tmp_path / "parent.toml").fingerprint()


@pytest.mark.parametrize(
    ("files", "message"),
    [
        (
            {"a": 'extends = "missing.toml"\n'},
            "a.toml: extends = 'missing.toml', but {dir}/missing.toml does not exist",
        ),
        ({"a": 'extends = "a.toml"\n'}, "a.toml: extends = 'a.toml' closes a cycle ({dir}/a.toml -> {dir}/a.toml)"),
        (
            {"a": 'extends = "b.toml"\n', "b": 'extends = "a.toml"\n' + PARENT},
            "b.toml: extends = 'a.toml' closes a cycle ({dir}/a.toml -> {dir}/b.toml -> {dir}/a.toml)",
        ),
        ({"a": "extends = 3\n"}, "a.toml: extends = 3: must be the path of a suite file"),
        ({"a": 'extends = "b.toml"\n', "b": "datasets = ['synthetic'\n"}, "suite file {dir}/b.toml is not valid TOML"),
        (
            {"a": 'extends = "b.toml"\n', "b": PARENT.replace("alpha = 1e-4", "alpha = -1")},
            "a.toml (extends {dir}/b.toml): [model_params.rocket] alpha = -1",
        ),
    ],
)
def test_a_bad_parent_suite_is_refused_in_one_line_naming_the_file(files, message, tmp_path, capsys):
    write_suites(tmp_path, **files)
    argv = ["run", "--suite", str(tmp_path / "a.toml"), "--results-dir", str(tmp_path / "results")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message.format(dir=tmp_path) in err and "Traceback" not in err, err
    assert not (tmp_path / "results").exists()


def test_the_command_line_s_log_lines_reach_caplog_and_are_printed_once(tmp_path, capsys, caplog):
    import logging

    caplog.set_level(logging.INFO)
    args = ["run", *FAST[:2], *FAST[4:], "--plan-only", "--results-dir", str(tmp_path), "--run-id", "p"]
    for _ in range(2):  # main() twice in one process, as here: still one terminal handler
        assert main(args) == 0
    planned = [r for r in caplog.records if r.name.startswith("ecgbench") and r.getMessage().startswith("planned 1")]
    assert len(planned) == 2 and planned[0].levelno == logging.INFO
    err = capsys.readouterr().err
    assert err.count("planned 1 cell(s), 1 not finished") == 2, err
    logging.getLogger("some.library").warning("a warning of another library")
    assert "warning: some.library: a warning of another library" in capsys.readouterr().err
