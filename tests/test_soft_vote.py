"""`soft-vote` and `prior-weights` (ecgbench.reports.rescoring) on a quick group-kfold run of the embedded
SYNTHETIC data."""

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.models import build
from ecgbench.models.base import shift_priors
from ecgbench.reports.rescoring import PRIOR_WEIGHT_GRID, seed_zero, seed_zero_probabilities
from ecgbench.reports.view import RunView
from ecgbench.run.store import RunStore

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


@pytest.fixture(scope="module")
def group_kfold_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    code = main(
        [
            "run",
            "--model",
            "minirocket",
            "--model",
            "rocket",
            "--dataset",
            "synthetic",
            "--quick",
            "--protocol",
            "group-kfold",
            "--run-id",
            "cv",
            "--results-dir",
            str(root),
        ]
    )
    assert code == 0
    return root / "cv"


@pytest.mark.slow
def test_group_kfold_run_tests_every_beat_once_with_no_patient_on_two_sides(group_kfold_run):
    splits = np.load(group_kfold_run / "splits" / "synthetic.npz")
    for model in ("minirocket", "rocket"):
        files = sorted(group_kfold_run.glob(f"cells/synthetic/fold*/{model}/seed0/predictions.parquet"))
        assert len(files) == 5
        pooled = pd.concat(pd.read_parquet(f) for f in files)
        assert pooled["index"].is_unique
        assert len(pooled) == sum(len(splits[f"fold{k}_test"]) for k in range(1, 6))
        for k in range(1, 6):  # the folds' test records are disjoint
            test_records = set(pd.read_parquet(files[k - 1])["group"])
            others = set(pd.concat(pd.read_parquet(f) for f in files if f != files[k - 1])["group"])
            assert not test_records & others


def test_votes_are_scored_on_the_mean_probabilities_of_the_pooled_folds(group_kfold_run, tmp_path):
    pooled = seed_zero(RunView(RunStore(group_kfold_run)))
    proba, y = seed_zero_probabilities(pooled), pooled["rocket"].y_true
    assert set(proba) == {"minirocket", "rocket"} and pooled["rocket"].classes == tuple("NSVFQ")
    assert main(["soft-vote", str(group_kfold_run), "minirocket+rocket", "--out", str(tmp_path)]) == 0
    written = (tmp_path / f"{group_kfold_run.name}.md").read_text().splitlines()
    assert written[0] == "# Soft votes, scored from saved probabilities (SYNTHETIC data)"
    rows = {
        line.split(" | ")[0].strip("| "): line
        for line in written
        if line.startswith("| ") and not line.startswith("| model")
    }
    vote = np.mean([proba["minirocket"], proba["rocket"]], axis=0).argmax(1)
    assert rows["minirocket + rocket"].split(" | ")[1] == f"{np.mean(vote == y):.3f}"
    files = group_kfold_run.glob("cells/synthetic/fold*/rocket/seed0/predictions.parquet")
    alone = pd.concat(pd.read_parquet(f) for f in files)
    assert rows["rocket"].split(" | ")[1] == f"{np.mean(alone['y_true'] == alone['y_pred']):.3f}"


def test_a_vote_naming_a_model_not_in_the_run_is_refused(group_kfold_run, tmp_path, capsys):
    assert main(["soft-vote", str(group_kfold_run), "minirocket+cnn", "--out", str(tmp_path)]) == 2
    assert "error: vote 'minirocket+cnn' names cnn, not in the run" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_prior_weights_are_the_most_sensitive_of_the_grid_that_keep_accuracy(group_kfold_run, tmp_path):
    pooled = seed_zero(RunView(RunStore(group_kfold_run)))
    proba, y = seed_zero_probabilities(pooled), pooled["minirocket"].y_true
    assert main(["prior-weights", str(group_kfold_run), "minirocket", "--out", str(tmp_path)]) == 0
    text = (tmp_path / f"{group_kfold_run.name}-minirocket.md").read_text()
    assert text.startswith("# Prior weights for minirocket, chosen on saved probabilities (SYNTHETIC data)\n")
    chosen = json.loads(re.search(r"prior_weights = (\[[^]]*\])", text).group(1))

    def scores(weights):
        pred = shift_priors(proba["minirocket"], weights).argmax(1)
        return np.mean(pred == y), (np.mean(pred[y == 1] == 1) + np.mean(pred[y == 2] == 2)) / 2

    unweighted_accuracy, _ = scores(None)
    accuracy, mean_se = scores(chosen)
    assert accuracy >= unweighted_accuracy
    for s, v, f in itertools.product(*PRIOR_WEIGHT_GRID.values()):  # brute force over the grid, rule by rule
        other_accuracy, other_mean_se = scores([1, s, v, f, 1])
        assert other_accuracy < unweighted_accuracy or (other_mean_se, other_accuracy) <= (mean_se, accuracy)
    assert len(re.findall(r"^\| [\d.]+ \| [\d.]+ \| [\d.]+ \|", text, re.M)) == 5 * 7 * 3
    build("tsfresh-xgboost", n_classes=5, prior_weights=chosen)  # a valid model parameter as written


def test_prior_weights_for_a_model_not_in_the_run_are_refused(group_kfold_run, tmp_path, capsys):
    assert main(["prior-weights", str(group_kfold_run), "cnn", "--out", str(tmp_path)]) == 2
    assert re.search(r"error: model 'cnn' is not in .* \(minirocket, rocket\)", capsys.readouterr().err)
    assert not any(tmp_path.iterdir())


def test_mitdb_inter_uses_the_prior_weights_the_command_chooses_on_the_committed_ds1_cv_run(tmp_path):
    from ecgbench.run.suite import load_suite

    root = BENCHMARKS.parent
    assert (
        main(["prior-weights", str(root / "results" / "mitdb-ds1-cv"), "tsfresh-xgboost", "--out", str(tmp_path)]) == 0
    )
    fresh = (tmp_path / "mitdb-ds1-cv-tsfresh-xgboost.md").read_text()
    committed = (root / "results" / "prior-weights" / "mitdb-ds1-cv-tsfresh-xgboost.md").read_text()
    assert "SYNTHETIC" not in fresh  # real MIT-BIH beats
    table = [line for line in fresh.splitlines() if line.startswith("|")]
    assert table == [line for line in committed.splitlines() if line.startswith("|")]
    chosen = json.loads(re.search(r"prior_weights = (\[[^]]*\])", committed).group(1))
    suite = load_suite(BENCHMARKS / "mitdb-inter.toml")
    assert suite.params_for_model("tsfresh-xgboost")["prior_weights"] == chosen
