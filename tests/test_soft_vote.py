"""benchmarks/soft_vote.py on a quick group-kfold run of the embedded SYNTHETIC data."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "soft_vote.py"


@pytest.fixture(scope="module")
def soft_vote():
    spec = importlib.util.spec_from_file_location("soft_vote", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def group_kfold_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    code = main(["run", "--model", "minirocket", "--model", "rocket", "--dataset", "synthetic", "--quick",
                 "--protocol", "group-kfold", "--run-id", "cv", "--results-dir", str(root)])
    assert code == 0
    return root / "cv"


def test_group_kfold_run_tests_every_beat_once_with_no_patient_on_two_sides(group_kfold_run):
    splits = np.load(group_kfold_run / "splits" / "synthetic.npz")
    for model in ("minirocket", "rocket"):
        files = sorted(group_kfold_run.glob(f"cells/synthetic/fold*/{model}/seed0/predictions.csv"))
        assert len(files) == 5
        pooled = pd.concat(pd.read_csv(f) for f in files)
        assert pooled["index"].is_unique
        assert len(pooled) == sum(len(splits[f"fold{k}_test"]) for k in range(1, 6))
        for k in range(1, 6):  # the folds' test records are disjoint
            test_records = set(pd.read_csv(files[k - 1])["group"])
            others = set(pd.concat(pd.read_csv(f) for f in files if f != files[k - 1])["group"])
            assert not test_records & others


def test_votes_are_scored_on_the_mean_probabilities_of_the_pooled_folds(group_kfold_run, soft_vote, tmp_path):
    proba, y, classes = soft_vote.pooled_probabilities(group_kfold_run)
    assert set(proba) == {"minirocket", "rocket"} and classes == tuple("NSVFQ")
    soft_vote.main([str(group_kfold_run), "minirocket+rocket", "--out", str(tmp_path)])
    written = (tmp_path / f"{group_kfold_run.name}.md").read_text().splitlines()
    rows = {line.split(" | ")[0].strip("| "): line for line in written
            if line.startswith("| ") and not line.startswith("| model")}
    vote = np.mean([proba["minirocket"], proba["rocket"]], axis=0).argmax(1)
    assert rows["minirocket + rocket"].split(" | ")[1] == f"{np.mean(vote == y):.3f}"
    files = group_kfold_run.glob("cells/synthetic/fold*/rocket/seed0/predictions.csv")
    alone = pd.concat(pd.read_csv(f) for f in files)
    assert rows["rocket"].split(" | ")[1] == f"{np.mean(alone['y_true'] == alone['y_pred']):.3f}"


def test_a_vote_naming_a_model_not_in_the_run_is_refused(group_kfold_run, soft_vote, tmp_path):
    with pytest.raises(SystemExit, match="vote 'minirocket\\+cnn' names cnn, not in the run"):
        soft_vote.main([str(group_kfold_run), "minirocket+cnn", "--out", str(tmp_path)])
