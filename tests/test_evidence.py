"""Evidence in the reports (ecgbench.reports.evidence): intervals in the summary, paired comparisons in `compare`, the
ranking of a group-kfold run, on quick runs of the embedded SYNTHETIC data."""

import re

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.core import statistics as st
from ecgbench.reports.compare import mcnemar_seeds_text
from ecgbench.reports.evidence import mcnemar, paired, paired_table, shown_metrics
from ecgbench.reports.view import Pooled

pytestmark = pytest.mark.slow  # compares trained runs

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
    assert re.search(
        r"Uncertainty: 95% intervals, resampling patients \(\d+ patients\), 2,000 resamples, "
        "percentile",
        summary,
    )
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
    assert (
        main(
            [
                "run",
                "--model",
                "rocket",
                "--model",
                "minirocket",
                *BASE,
                "--run-id",
                "m",
                "--results-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["compare", "m", "--model-a", "rocket", "--model-b", "minirocket", "--results-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "paired: two models of one run" in out
    assert "| synthetic: rocket (A) vs minirocket (B) | accuracy |" in out
    assert main(["compare", "m", "--model-a", "rocket", "--results-dir", str(tmp_path)]) == 2
    assert "--model-a and --model-b go together" in capsys.readouterr().err


def test_a_group_kfold_run_of_three_models_ranks_them_with_a_diagram(tmp_path):
    from ecgbench import models
    from tests.centroid_plugin import NearestCentroid

    models.register("centroid-for-ranks")(NearestCentroid)  # a third model of seconds, not a network's minutes
    try:
        code = main(
            [
                "run",
                "--model",
                "rocket",
                "--model",
                "minirocket",
                "--model",
                "centroid-for-ranks",
                *BASE,
                "--protocol",
                "group-kfold",
                "--run-id",
                "cv",
                "--results-dir",
                str(tmp_path),
            ]
        )
    finally:
        models.MODELS.remove("centroid-for-ranks")
    assert code == 0
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
    assert err == [
        "error: compare some-run alone would compare the run with itself: give a second run "
        "(compare RUN_A RUN_B) or two of its models (--model-a NAME --model-b NAME)"
    ]


def gathered(model, seeds, y_true, preds, groups, classes=("N", "S", "V", "F", "Q")):
    """A :class:`Pooled` of given predictions (one-hot probabilities)."""
    beats = pd.DataFrame({"split": "holdout", "index": np.arange(len(y_true)), "y_true": y_true})
    if groups is not None:
        beats["group"] = groups
    preds = np.asarray(preds)
    proba = np.eye(len(classes), dtype=np.float32)[preds]
    return Pooled("synthetic", model, beats, preds, proba, classes, tuple(seeds))


def test_mcnemar_tests_every_seed_and_says_which(capsys):
    """SYNTHETIC predictions: three seeds per side, each seed with its own errors."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 5, 400)
    groups = np.repeat([f"r{i}" for i in range(8)], 50)
    wrong = [lambda p, s=s: np.where(rng.random(400) < 0.1 + 0.1 * s, (p + 1) % 5, p) for s in range(3)]
    a = gathered("rocket", (0, 1, 2), y, [w(y) for w in wrong], groups)
    b = gathered("rocket", (0, 1, 2), y, [np.where(rng.random(400) < 0.05, (y + 2) % 5, y) for _ in range(3)], groups)
    results = mcnemar(a, b)
    assert [name for name, _ in results] == ["seed 0", "seed 1", "seed 2"]
    for i, (_, result) in enumerate(results):
        assert result == st.mcnemar_exact(y, a.y_pred[i], b.y_pred[i])
    row = next(
        line
        for line in paired_table([("x", "patient", paired(a, b), results)], shown_metrics(a.classes))
        if line.startswith("| x | accuracy |")
    )
    for name, result in results:
        assert f"{name}: {result.p_value:.3g} ({result.only_a_correct} vs {result.only_b_correct}" in row
    # other seeds on the two sides: the shared ones are tested, the rest named as not tested
    c = gathered("rocket", (0, 7), y, [a.y_pred[0], a.y_pred[1]], groups)
    assert [name for name, _ in mcnemar(c, b)] == ["seed 0"]
    assert mcnemar_seeds_text(c, b) == "McNemar per seed: 0 (seeds without a counterpart, not tested: A's 7; B's 1, 2)"
    # two models with no seed in common: the seeds in order
    d = gathered("cnn", (5, 6), y, [b.y_pred[0], b.y_pred[1]], groups)
    assert [name for name, _ in mcnemar(a, d)] == ["A seed 0 / B seed 5", "A seed 1 / B seed 6"]


def beats_of(*pairs):
    """(record, true class, predicted class, count) -> record ids, true and predicted class indices."""
    index = {c: i for i, c in enumerate("NSVFQ")}
    rows = [(record, index[t], index[p]) for record, t, p, n in pairs for _ in range(n)]
    records, y_true, y_pred = map(np.array, zip(*rows, strict=True))
    return records, y_true, y_pred


def test_average_statistics_are_per_record_means_with_the_records_left_out_named():
    """Made-up predictions of three records, worked out by hand (EC57's sumstats rules, docs/ec57.md)."""
    from ecgbench.reports.evidence import average_statistics_table
    from ecgbench.reports.markdown import mean_std

    seed0 = [
        ("a", "V", "V", 9),
        ("a", "V", "N", 1),
        ("a", "N", "N", 19),
        ("a", "N", "V", 1),
        ("a", "S", "S", 4),
        ("a", "F", "V", 1),  # V predicted on a reference F beat: not a false V for EC57
        ("b", "V", "V", 1),
        ("b", "V", "N", 1),
        ("b", "N", "N", 30),
        ("c", "S", "S", 1),
        ("c", "S", "N", 4),
        ("c", "N", "N", 8),
        ("c", "N", "S", 2),
    ]
    seed1 = [*seed0[:8], ("b", "N", "N", 29), ("b", "N", "S", 1), *seed0[9:]]  # seed 1 predicts S once in b
    groups, y_true, pred0 = beats_of(*seed0)
    _, y_true1, pred1 = beats_of(*seed1)
    assert np.array_equal(y_true, y_true1)
    table = average_statistics_table([gathered("m", (0, 1), y_true, [pred0, pred1], groups)])
    # By hand. Se V: a 9/10, b 1/2, c has no V beat (left out); gross 10/12.
    # +P V: a 9/(9 + 1) (the F beat called V does not count), b 1/1, c never called V (left out); gross 10/11.
    # Se S: a 4/4, b has no S beat (left out), c 1/5; gross 5/9.
    # +P S, seed 0: a 4/4, b never called S (left out), c 1/(1 + 2); gross 5/7.
    #       seed 1: a 4/4, b 0/1, c 1/3; gross 5/8.
    expected = [(10 / 12, (0.9 + 0.5) / 2), (10 / 11, (0.9 + 1.0) / 2), (5 / 9, (1.0 + 0.2) / 2)]
    texts = [f"{v:.4f}" for pair in expected for v in pair]
    texts += [mean_std(pd.Series([5 / 7, 5 / 8])), mean_std(pd.Series([(1 + 1 / 3) / 2, (1 + 0 + 1 / 3) / 3]))]
    assert "| m | 2 | " + " | ".join(texts) + " |" in table
    assert texts[:2] == ["0.8333", "0.7000"]  # pooled and average differ
    assert "- Se V average leaves out the records with no reference V beat: 1 record(s): c." in table
    assert (
        "- +P V average leaves out the records with no V predicted on a reference N, S or V beat: 1 record(s): c."
        in table
    )
    assert "- Se S average leaves out the records with no reference S beat: 1 record(s): b." in table
    assert (
        "- +P S average leaves out the records with no S predicted on a reference N, S or V beat: b (seed(s) 0 "
        "only)." in table
    )
    assert any("over the 3 test records" in line and "not an EC57 run" in line for line in table)


def test_no_average_statistics_without_record_ids_or_without_v_and_s():
    from ecgbench.reports.evidence import average_statistics_table

    groups, y_true, y_pred = beats_of(("a", "V", "V", 3), ("a", "S", "N", 2), ("b", "N", "N", 4))
    assert average_statistics_table([gathered("m", (0,), y_true, [y_pred], groups)])  # the section applies here
    assert average_statistics_table([gathered("m", (0,), y_true, [y_pred], None)]) == []  # no record ids
    two_class = gathered("m", (0,), y_true % 2, [y_pred % 2], groups, classes=("normal", "MI"))
    assert average_statistics_table([two_class]) == []  # no V and S classes


def test_the_summary_shows_average_statistics_where_record_ids_are_saved(runs):
    summary = (runs / "a" / "summary.md").read_text()
    assert "Average statistics (per-record mean) beside the gross (pooled) ones" in summary
    assert re.search(r"^\| rocket \| 1 \| [\d.]+ \| [\d.]+ \|", summary, re.M)


def test_a_report_proves_the_cells_once_and_reads_each_predictions_file_once(runs, monkeypatch):
    """The summary's sections all read through one RunView: listing and proving the cells (which hashes every
    predictions file) and reading a predictions file happen once per report, however many sections use them."""
    from ecgbench.reports.summary import write_report
    from ecgbench.run.store import RunStore

    calls = {"cells": 0, "predictions": []}
    cells, predictions = RunStore.cells, RunStore.predictions

    def counted_cells(self):
        calls["cells"] += 1
        return cells(self)

    def counted_predictions(self, key):
        calls["predictions"].append(key)
        return predictions(self, key)

    monkeypatch.setattr(RunStore, "cells", counted_cells)
    monkeypatch.setattr(RunStore, "predictions", counted_predictions)
    before = (runs / "a" / "summary.md").read_text()
    store = RunStore(runs / "a")  # a new store proves afresh: the proof itself reads each file once
    write_report(store)
    assert calls["cells"] == 1
    proofs = len(store.cells())  # (counted: one more) the cells the report shows, each proved once above
    assert len(calls["predictions"]) == 2 * proofs  # once to prove it, once to report it: never per section
    assert len(set(calls["predictions"])) == proofs
    assert (runs / "a" / "summary.md").read_text() == before  # the same report, bytes included


def test_pooled_keeps_every_per_beat_column_and_leaves_out_a_seed_of_other_beats():
    from ecgbench.reports.view import RunView

    class Store:  # a run of one model, two splits, two seeds; seed 1 scored other beats of split "b"
        root = "run"

        def cells(self):
            return [
                {"dataset": "d", "split": s, "model": "m", "seed": k, "classes": ["N", "V"]}
                for k in (0, 1)
                for s in ("b", "a")
            ]

        def predictions(self, key):
            index = np.array([3, 1]) if key.split == "a" else np.array([2, 0 if key.seed == 0 else 9])
            proba = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float32)
            return pd.DataFrame(
                {"index": index, "group": [100, 101], "condition": ["clean", "em 6"], "y_true": [0, 1]}
                | {"y_pred": proba.argmax(1), "p_N": proba[:, 0], "p_V": proba[:, 1]}
            )

    pooled = RunView(Store(), manifest={"suite": {"models": ["m"]}, "datasets": {}}).pooled("d", "m")
    assert pooled.beats["split"].tolist() == ["a", "a", "b", "b"] and pooled.beats["index"].tolist() == [1, 3, 0, 2]
    assert pooled.groups.tolist() == ["101", "100", "101", "100"]  # record ids as text, in the beats' order
    assert pooled.conditions.tolist() == ["em 6", "clean", "em 6", "clean"]
    assert pooled.seeds == (0,) and pooled.dropped_seeds == (1,)
    assert pooled.y_pred.shape == (1, 4) and pooled.proba.shape == (1, 4, 2)
    assert pooled.scores[0].tolist() == pytest.approx([0.8, 0.1, 0.8, 0.1])  # p(V), the positive class
    assert (pooled.probabilities(0).argmax(1) == pooled.y_pred[0]).all()


def test_every_evaluation_has_one_leaderboard_table_and_the_noise_section_only_its_own():
    from ecgbench.core.evaluation import Evaluation
    from ecgbench.reports import noise_report
    from ecgbench.reports.sections import leaderboard_sections, summary_sections

    for evaluation in Evaluation:
        assert len(leaderboard_sections(evaluation)) == 1, evaluation  # else its datasets drop off the leaderboard
        noise = noise_report.summary_section in summary_sections(evaluation)
        assert noise == (evaluation is Evaluation.NOISE_STRESS)
    assert noise_report.summary_section not in summary_sections(None)  # a dataset that records no evaluation
