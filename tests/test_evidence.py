"""Evidence in the reports (ecgbench.evidence): intervals in the summary, paired comparisons in `compare`, the
ranking of a group-kfold run, on quick runs of the embedded SYNTHETIC data."""

import re

import pytest

from ecgbench.cli import main

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
