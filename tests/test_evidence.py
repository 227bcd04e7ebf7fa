"""Evidence in the reports (ecgbench.evidence): intervals in the summary, paired comparisons in `compare`, the
ranking of a group-kfold run, on quick runs of the embedded SYNTHETIC data."""

import re

import numpy as np
import pandas as pd
import pytest

from ecgbench import statistics as st
from ecgbench.cli import main
from ecgbench.compare import mcnemar_seeds_text
from ecgbench.evidence import Gathered, mcnemar, paired, paired_table, shown_metrics

BASE = ["--dataset", "synthetic", "--quick"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    assert main(["run", "--model", "rocket", *BASE, "--run-id", "a", "--results-dir", str(root)]) == 0
    suite = root / "other-split.toml"
    suite.write_text('datasets = ["synthetic"]\nmodels = ["rocket"]\n[split]\nseed = 7\n')
    assert main(["run", "--suite", str(suite), "--quick", "--run-id", "b", "--results-dir", str(root)]) == 0
    return root


def test_the_summary_carries_intervals_naming_the_unit(runs):
    summary = (runs / "a" / "summary.md").read_text()
    assert re.search(r"Uncertainty: 95% intervals, resampling patients \(\d+ patients\), 2,000 resamples, "
                     "percentile", summary)
    row = next(line for line in summary.splitlines() if line.startswith("| rocket | 1 | ") and "[" in line)
    estimate, low, high = map(float, re.match(r"\| rocket \| 1 \| ([\d.]+) \[([\d.]+), ([\d.]+)\]", row).groups())
    assert low <= estimate <= high


def test_a_cell_compared_with_itself_differs_by_nothing(runs, capsys):
    capsys.readouterr()
    assert main(["compare", "a", "a", "--results-dir", str(runs)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| synthetic: rocket |")]
    assert len(rows) == 6  # accuracy, macro-F1, S and V Se and +P
    for row in rows:
        assert "+0.000 [+0.000, +0.000]" in row and "**no detectable difference**" in row
    assert "assumes independent beats" in out


def test_pairing_is_refused_when_the_test_beats_differ(runs, capsys):
    capsys.readouterr()
    md = runs / "diff.md"
    assert main(["compare", "a", "b", "--results-dir", str(runs), "--markdown", str(md)]) == 0
    out = capsys.readouterr().out
    assert "the saved test indices of split holdout differ" in out
    assert "Not paired" in out and "B better" not in out and "no detectable difference" not in out
    assert "| synthetic: rocket | accuracy | " in md.read_text()  # each side's own interval


def test_two_models_of_one_run(tmp_path, capsys):
    assert main(["run", "--model", "rocket", "--model", "minirocket", *BASE, "--run-id", "m",
                 "--results-dir", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["compare", "m", "--model-a", "rocket", "--model-b", "minirocket", "--results-dir",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paired: two models of one run" in out
    assert "| synthetic: rocket (A) vs minirocket (B) | accuracy |" in out
    assert main(["compare", "m", "--model-a", "rocket", "--results-dir", str(tmp_path)]) == 2
    assert "--model-a and --model-b go together" in capsys.readouterr().err


def test_a_group_kfold_run_of_three_models_ranks_them_with_a_diagram(tmp_path):
    assert main(["run", "--model", "rocket", "--model", "minirocket", "--model", "cnn", *BASE, "--protocol",
                 "group-kfold", "--run-id", "cv", "--results-dir", str(tmp_path)]) == 0
    png = tmp_path / "cv" / "ranks" / "synthetic.png"
    assert png.read_bytes()[:4] == b"\x89PNG"
    summary = (tmp_path / "cv" / "summary.md").read_text()
    assert "Ranking over the 5 folds" in summary and "(ranks/synthetic.png)" in summary
    assert "smallest exact two-sided p-value with 5 blocks is 2/32 = 0.0625" in summary
    assert "Friedman chi-square" in summary


def test_compare_of_one_run_alone_is_refused_in_one_line(tmp_path, capsys):
    # (no run folder is needed: the command is refused before any file is read)
    assert main(["compare", "some-run", "--results-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: compare some-run alone would compare the run with itself: give a second run "
                   "(compare RUN_A RUN_B) or two of its models (--model-a NAME --model-b NAME)"]


def gathered(model, seeds, y_true, preds, groups):
    beats = pd.DataFrame({"split": "holdout", "index": np.arange(len(y_true)), "y_true": y_true})
    return Gathered("synthetic", model, beats, np.asarray(preds), groups, ("N", "S", "V", "F", "Q"), tuple(seeds))


def test_mcnemar_tests_every_seed_and_says_which(capsys):
    """SYNTHETIC predictions: three seeds per side, each seed with its own errors."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 400)
    groups = np.repeat([f"r{i}" for i in range(8)], 50)
    wrong = [lambda p, s=s: np.where(rng.random(400) < 0.1 + 0.1 * s, (p + 1) % 5, p) for s in range(3)]
    a = gathered("rocket", (0, 1, 2), y, [w(y) for w in wrong], groups)
    b = gathered("rocket", (0, 1, 2), y, [np.where(rng.random(400) < 0.05, (y + 2) % 5, y) for _ in range(3)],
                 groups)
    results = mcnemar(a, b)
    assert [name for name, _ in results] == ["seed 0", "seed 1", "seed 2"]
    for i, (_, result) in enumerate(results):
        assert result == st.mcnemar_exact(y, a.y_pred[i], b.y_pred[i])
    row = next(line for line in paired_table([("x", "patient", paired(a, b), results)], shown_metrics(a.classes))
               if line.startswith("| x | accuracy |"))
    for name, result in results:
        assert f"{name}: {result.p_value:.3g} ({result.only_a_correct} vs {result.only_b_correct}" in row
    # other seeds on the two sides: the shared ones are tested, the rest named as not tested
    c = gathered("rocket", (0, 7), y, [a.y_pred[0], a.y_pred[1]], groups)
    assert [name for name, _ in mcnemar(c, b)] == ["seed 0"]
    assert mcnemar_seeds_text(c, b) == "McNemar per seed: 0 (seeds without a counterpart, not tested: A's 7; B's 1, 2)"
    # two models with no seed in common: the seeds in order
    d = gathered("cnn", (5, 6), y, [b.y_pred[0], b.y_pred[1]], groups)
    assert [name for name, _ in mcnemar(a, d)] == ["A seed 0 / B seed 5", "A seed 1 / B seed 6"]
