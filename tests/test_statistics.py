import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as sk
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests

from ecgbench.core.metrics import classification_metrics, confusion_matrix
from ecgbench.core.statistics import (
    anchor_verdict,
    bootstrap_p_value,
    cluster_bootstrap,
    holm,
    mcnemar_exact,
    metric_names,
    metrics_from_confusion,
    paired_bootstrap,
    paired_verdicts,
    rank_models,
    target_verdict,
)

CLASSES = ("N", "S", "V", "F", "Q")


def random_labels(rng, n, accuracy=0.7, p=(0.6, 0.1, 0.15, 0.05, 0.1)):
    y_true = rng.choice(len(p), size=n, p=p)
    y_pred = np.where(rng.random(n) < accuracy, y_true, rng.integers(0, len(p), n))
    return y_true, y_pred


def patient_effect_set(rng, n_patients=22, beats=150, mean=0.85, concentration=10.0):
    """Three classes; each patient's chance of a beat being right is Beta-distributed around ``mean`` (strong
    patient effects); a wrong beat is given the next class. The population accuracy is ``mean``."""
    p_right = rng.beta(mean * concentration, (1 - mean) * concentration, n_patients)
    groups = np.repeat(np.arange(n_patients), beats)
    y_true = rng.integers(0, 3, groups.size)
    right = rng.random(groups.size) < p_right[groups]
    return y_true, np.where(right, y_true, (y_true + 1) % 3), groups


# --- metrics from confusion matrices ---------------------------------------------------------------------------


@pytest.mark.filterwarnings("ignore:y_pred contains classes not in y_true")
def test_metrics_of_a_stack_are_each_matrix_scored_alone_bit_for_bit_and_agree_with_scikit_learn():
    rng = np.random.default_rng(0)
    sets = [random_labels(rng, int(n)) for n in rng.integers(5, 400, 40)]  # small sets: classes often absent
    sets.append((np.array([0, 0, 1, 1, 2, 2]), np.array([0, 1, 1, 1, 2, 0])))  # F and Q occur nowhere
    sets.append((np.array([0, 0, 0, 1]), np.array([0, 0, 4, 1])))  # Q only predicted
    stack = np.stack([confusion_matrix(t, p, 5) for t, p in sets])
    m = metrics_from_confusion(stack)
    assert m["accuracy"].shape == (len(sets),) and m["recall"].shape == (len(sets), 5)
    for i, (t, p) in enumerate(sets):
        # a cell's stored scores (one matrix) and the bootstrap's (a stack) are the same numbers, not nearly
        stored = classification_metrics(t, p, CLASSES)
        for name in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted"):
            assert m[name][i] == stored[name], name
        for j, c in enumerate(CLASSES):
            for name in ("precision", "recall", "f1"):
                assert m[name][i, j] == stored["per_class"][c][name], (name, c)
        assert m["accuracy"][i] == pytest.approx(sk.accuracy_score(t, p))
        assert m["f1_macro"][i] == pytest.approx(sk.f1_score(t, p, average="macro", zero_division=0))
        assert m["f1_weighted"][i] == pytest.approx(sk.f1_score(t, p, average="weighted", zero_division=0))
        assert m["balanced_accuracy"][i] == pytest.approx(sk.balanced_accuracy_score(t, p))
        ref = sk.precision_recall_fscore_support(t, p, labels=range(5), zero_division=0)[:3]
        for name, values in zip(("precision", "recall", "f1"), ref, strict=True):
            assert m[name][i] == pytest.approx(values), name


def test_absent_nan_marks_only_the_classes_absent_from_the_true_labels():
    cm = confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 2, 1, 1]), 4)  # 2 only predicted, 3 nowhere
    m = metrics_from_confusion(cm, absent_nan=True)
    assert m["recall"][:2].tolist() == [0.5, 1.0]
    assert np.isnan(m["recall"][2:]).all() and np.isnan(m["precision"][2:]).all() and np.isnan(m["f1"][2:]).all()
    assert m["f1_macro"] == pytest.approx(sk.f1_score([0, 0, 1, 1], [0, 2, 1, 1], average="macro"))


# --- cluster bootstrap ----------------------------------------------------------------------------------------


def test_beat_level_accuracy_interval_agrees_with_scipy_percentile_bootstrap():
    rng = np.random.default_rng(1)
    y_true, y_pred = random_labels(rng, 2_000, accuracy=0.75)
    ours = cluster_bootstrap(y_true, y_pred, None, classes=CLASSES, n_resamples=10_000, seed=2)["accuracy"]
    ref = stats.bootstrap(
        (y_pred == y_true,), np.mean, method="percentile", n_resamples=10_000, random_state=np.random.default_rng(3)
    ).confidence_interval
    # Monte-Carlo SD of each endpoint is about 0.00025 for either method; accuracy moves in steps of 0.0005
    assert ours.low == pytest.approx(ref.low, abs=0.002)
    assert ours.high == pytest.approx(ref.high, abs=0.002)
    assert ours.unit == "beat" and ours.n_groups == 2_000 and ours.n_resamples == 10_000 == ours.n_defined
    assert ours.estimate == pytest.approx(np.mean(y_pred == y_true))


def test_patient_level_interval_is_wider_than_beat_level_under_patient_effects():
    y_true, y_pred, groups = patient_effect_set(np.random.default_rng(4))
    patient = cluster_bootstrap(y_true, y_pred, groups)["accuracy"]
    beat = cluster_bootstrap(y_true, y_pred, None)["accuracy"]
    assert patient.estimate == beat.estimate
    assert patient.unit == "patient" and patient.n_groups == 22
    assert patient.high - patient.low > 2 * (beat.high - beat.low)


def test_patient_level_interval_covers_the_population_accuracy_near_the_nominal_rate():
    """200 simulated test sets of 22 patients, 500 resamples each. With 200 sets the coverage's Monte-Carlo SD is
    1.5 points; percentile intervals over 22 clusters run a little narrow, so the tolerance is 0.89 to 0.99."""
    rng = np.random.default_rng(5)
    covered = 0
    for i in range(200):
        y_true, y_pred, groups = patient_effect_set(rng)
        iv = cluster_bootstrap(y_true, y_pred, groups, n_resamples=500, seed=i)["accuracy"]
        covered += iv.low <= 0.85 <= iv.high
    assert 0.89 <= covered / 200 <= 0.99


def test_a_class_held_by_one_record_is_scored_only_in_the_resamples_that_draw_it():
    rng = np.random.default_rng(6)
    groups = np.repeat(np.arange(22), 100)
    y_true = rng.integers(0, 3, groups.size)
    y_true[groups == 7] = np.where(rng.random(100) < 0.3, 3, y_true[groups == 7])  # class F only in record 7
    y_pred = np.where(rng.random(groups.size) < 0.8, y_true, rng.integers(0, 5, groups.size))
    result = cluster_bootstrap(y_true, y_pred, groups, classes=CLASSES, n_resamples=2_000)
    f = result["recall:F"]
    # record 7 is left out of a resample with probability (21/22)^22 = 0.36; binomial SD over 2,000 is 0.011
    missing = 1 - f.n_defined / f.n_resamples
    assert missing == pytest.approx((21 / 22) ** 22, abs=0.04)
    samples = result.samples["recall:F"]
    assert np.isnan(samples).sum() == f.n_resamples - f.n_defined
    defined = samples[~np.isnan(samples)]
    assert (f.low, f.high) == pytest.approx(tuple(np.percentile(defined, [2.5, 97.5])))
    assert np.isnan(result.samples["precision:F"]).sum() == np.isnan(samples).sum()
    for name in ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted", "recall:N"):
        assert result[name].n_defined == 2_000 and not np.isnan(result.samples[name]).any()
    q = result["recall:Q"]  # Q is predicted but never true: undefined everywhere
    assert math.isnan(q.estimate) and math.isnan(q.low) and q.n_defined == 0


def test_several_seeds_score_the_seed_mean_and_report_the_seed_sd():
    rng = np.random.default_rng(7)
    y_true, _, groups = patient_effect_set(rng)
    preds = np.stack([patient_effect_set(np.random.default_rng(s))[1] for s in (8, 9, 10)])
    preds = np.where(rng.random(preds.shape) < 0.85, y_true, preds)
    result = cluster_bootstrap(y_true, preds, groups, classes=("a", "b", "c"))
    per_seed = [classification_metrics(y_true, p, ("a", "b", "c")) for p in preds]
    for name in ("accuracy", "f1_macro"):
        values = [m[name] for m in per_seed]
        assert result[name].estimate == pytest.approx(np.mean(values))
        assert result[name].seed_sd == pytest.approx(np.std(values, ddof=1))
        assert result[name].n_seeds == 3
    recall_b = [m["per_class"]["b"]["recall"] for m in per_seed]
    assert result["recall:b"].estimate == pytest.approx(np.mean(recall_b))
    # the same prediction three times: the same interval as one seed, and a seed SD of 0
    one = cluster_bootstrap(y_true, preds[0], groups)
    three = cluster_bootstrap(y_true, np.stack([preds[0]] * 3), groups)
    assert (three["accuracy"].low, three["accuracy"].high) == pytest.approx((one["accuracy"].low, one["accuracy"].high))
    assert three["accuracy"].seed_sd == 0 and math.isnan(one["accuracy"].seed_sd)


def test_many_seeds_at_beat_level_pool_the_same_cells():
    """30 copies of one prediction: too many label columns for one integer code per beat (the np.unique path),
    yet the same cells in the same order, hence the same draws and intervals as the single prediction."""
    y_true, y_pred = random_labels(np.random.default_rng(17), 500)
    one = cluster_bootstrap(y_true, y_pred, None, classes=CLASSES, n_resamples=300).to_frame()
    many = cluster_bootstrap(y_true, np.stack([y_pred] * 30), None, classes=CLASSES, n_resamples=300).to_frame()
    cols = ["estimate", "low", "high", "n_defined", "n_groups"]
    pd.testing.assert_frame_equal(one[cols], many[cols])


def test_bad_inputs_are_refused():
    y = np.array([0, 1, 2, 1])
    with pytest.raises(ValueError, match="shape"):
        cluster_bootstrap(y, y[:3])
    with pytest.raises(ValueError, match="groups"):
        cluster_bootstrap(y, y, np.zeros(3))
    with pytest.raises(ValueError, match="integer class indices"):
        cluster_bootstrap(y, y - 1)
    with pytest.raises(ValueError, match="only 2 classes"):
        cluster_bootstrap(y, y, classes=("a", "b"))


def test_the_result_is_tidy_and_reproducible():
    rng = np.random.default_rng(11)
    y_true, y_pred, groups = patient_effect_set(rng)
    a = cluster_bootstrap(y_true, y_pred, groups, n_resamples=300).to_frame()
    b = cluster_bootstrap(y_true, y_pred, groups, n_resamples=300).to_frame()
    pd.testing.assert_frame_equal(a, b)
    assert list(a.index) == metric_names(("0", "1", "2"))
    assert {"estimate", "low", "high", "unit", "n_resamples", "n_groups", "n_defined", "seed_sd"} <= set(a.columns)
    assert (a["low"] <= a["estimate"]).all() and (a["estimate"] <= a["high"]).all()


# --- paired comparison ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("groups", ["patient", "beat"])
def test_a_cell_compared_with_itself_differs_by_exactly_zero(groups):
    y_true, y_pred, g = patient_effect_set(np.random.default_rng(12))
    result = paired_bootstrap(y_true, y_pred, y_pred, g if groups == "patient" else None, n_resamples=500)
    for d in result.differences.values():
        assert d.difference == 0 and d.low == 0 and d.high == 0 and d.p_value == 1
        assert (result.samples[d.metric] == 0).all()
    frame = result.to_frame()
    assert paired_verdicts(frame["difference"], frame["p_value"]) == ["no detectable difference"] * len(frame)
    m = mcnemar_exact(y_true, y_pred, y_pred)
    assert (m.only_a_correct, m.only_b_correct, m.p_value) == (0, 0, 1.0)


def test_the_paired_bootstrap_uses_the_same_records_for_both_cells():
    rng = np.random.default_rng(13)
    y_true, pred_a, groups = patient_effect_set(rng)
    pred_b = np.where(rng.random(y_true.size) < 0.5, y_true, pred_a)  # B fixes half of A's errors
    paired = paired_bootstrap(y_true, pred_a, pred_b, groups, n_resamples=1_000, seed=3)
    a = cluster_bootstrap(y_true, pred_a, groups, n_resamples=1_000, seed=3)
    b = cluster_bootstrap(y_true, pred_b, groups, n_resamples=1_000, seed=3)
    np.testing.assert_allclose(paired.samples["accuracy"], b.samples["accuracy"] - a.samples["accuracy"])
    d = paired["accuracy"]
    assert d.difference == pytest.approx(b["accuracy"].estimate - a["accuracy"].estimate)
    assert d.low > 0 and d.p_value == pytest.approx(2 / 1_001)
    assert paired_verdicts([d.difference], [d.p_value]) == ["B better"]
    swapped = paired_bootstrap(y_true, pred_b, pred_a, groups, n_resamples=1_000, seed=3)["accuracy"]
    assert swapped.high < 0 and paired_verdicts([swapped.difference], [swapped.p_value]) == ["A better"]
    # the patient effects cancel in the paired difference: narrower than that of independently resampled cells
    other = cluster_bootstrap(y_true, pred_a, groups, n_resamples=1_000, seed=4)
    unpaired = np.percentile(b.samples["accuracy"] - other.samples["accuracy"], [2.5, 97.5])
    assert d.high - d.low < 0.6 * (unpaired[1] - unpaired[0])


def test_bootstrap_p_value_counts_the_far_side_of_zero_with_the_plus_one_correction():
    assert bootstrap_p_value(np.ones(999)) == pytest.approx(2 / 1_000)
    assert bootstrap_p_value(-np.ones(999)) == pytest.approx(2 / 1_000)
    d = np.r_[np.full(30, -1.0), np.full(969, 1.0)]
    assert bootstrap_p_value(d) == pytest.approx(2 * 31 / 1_000)
    assert bootstrap_p_value(np.r_[np.zeros(10), np.ones(989)]) == pytest.approx(2 * 11 / 1_000)  # ties count
    assert bootstrap_p_value(np.r_[np.nan, np.ones(99)]) == pytest.approx(2 / 100)  # over the defined ones
    assert bootstrap_p_value(np.zeros(50)) == 1.0 and math.isnan(bootstrap_p_value([np.nan]))


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_agrees_with_statsmodels(seed):
    rng = np.random.default_rng(seed)
    n = [20, 60, 300, 2_000, 40, 500][seed]
    y_true, pred_a = random_labels(rng, n, accuracy=0.8)
    pred_b = np.where(rng.random(n) < 0.1 * seed, y_true, pred_a) if seed else pred_a.copy()
    pred_b[:3] = (y_true[:3] + 1) % 5
    ours = mcnemar_exact(y_true, pred_a, pred_b)
    ra, rb = pred_a == y_true, pred_b == y_true
    table = [[(ra & rb).sum(), (ra & ~rb).sum()], [(~ra & rb).sum(), (~ra & ~rb).sum()]]
    ref = mcnemar(table, exact=True)
    assert ours.p_value == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours.statistic == ref.statistic
    assert (ours.only_a_correct, ours.only_b_correct) == (table[0][1], table[1][0])


def test_mcnemar_refuses_several_seeds():
    with pytest.raises(ValueError, match="one prediction per cell"):
        mcnemar_exact(np.zeros(4, int), np.zeros((2, 4), int), np.zeros(4, int))


@pytest.mark.parametrize("seed", range(5))
def test_holm_agrees_with_statsmodels(seed):
    rng = np.random.default_rng(seed)
    p = rng.random(3 + 4 * seed) ** 3
    p[:2] = p[2]  # ties
    reject, adjusted, _, _ = multipletests(p, alpha=0.05, method="holm")
    np.testing.assert_allclose(holm(p), adjusted, rtol=1e-12)
    verdicts = paired_verdicts(np.ones_like(p), p, alpha=0.05)
    assert [v == "B better" for v in verdicts] == reject.tolist()


def test_holm_leaves_nan_out_of_the_count():
    np.testing.assert_allclose(holm([0.01, np.nan, 0.04]), [0.02, np.nan, 0.04])


def test_paired_verdicts_at_their_edges():
    # Holm over two rows: 0.025 * 2 = 0.05 is at alpha, and at alpha rejects (as statsmodels does)
    assert paired_verdicts([0.01, -0.01], [0.025, 0.05], alpha=0.05) == ["B better", "A better"]
    assert paired_verdicts([0.01, -0.01], [0.0251, 0.05], alpha=0.05) == ["no detectable difference"] * 2
    assert paired_verdicts([0.01], [0.05], alpha=0.05) == ["B better"]  # one row: no correction
    assert paired_verdicts([0.0], [0.0], alpha=0.05) == ["no detectable difference"]  # no direction
    assert paired_verdicts([0.3], [np.nan]) == ["no detectable difference"]
    with pytest.raises(ValueError):
        paired_verdicts([0.1, 0.2], [0.01])


# --- target and anchor verdicts -------------------------------------------------------------------------------


def test_target_verdict_edges_count_as_not_resolved():
    assert target_verdict(0.91, 0.95, 0.90) == "met"
    assert target_verdict(0.80, 0.89, 0.90) == "missed"
    assert target_verdict(0.88, 0.93, 0.90) == "not resolved"
    assert target_verdict(0.90, 0.95, 0.90) == "not resolved"  # low endpoint on the threshold
    assert target_verdict(0.85, 0.90, 0.90) == "not resolved"  # high endpoint on the threshold
    assert target_verdict(0.90, 0.90, 0.90) == "not resolved"
    assert target_verdict(math.nan, math.nan, 0.90) == "not resolved"
    assert target_verdict(np.nextafter(0.9, 1), 0.95, 0.90) == "met"


def test_anchor_verdict_edges_count_as_indistinguishable():
    assert anchor_verdict(0.91, 0.95, 0.90) == "above"
    assert anchor_verdict(0.80, 0.89, 0.90) == "below"
    assert anchor_verdict(0.90, 0.95, 0.90) == "indistinguishable"
    assert anchor_verdict(0.85, 0.90, 0.90) == "indistinguishable"
    assert anchor_verdict(math.nan, math.nan, 0.90) == "indistinguishable"


# --- ranking over blocks --------------------------------------------------------------------------------------


def score_table(rng, n_blocks=8):
    base = rng.normal(0.8, 0.05, (n_blocks, 1))
    offsets = np.array([0.0, 0.01, 0.03, 0.06])
    return pd.DataFrame(
        base + offsets + rng.normal(0, 0.01, (n_blocks, 4)),
        index=[f"fold{i}" for i in range(n_blocks)],
        columns=["knn", "svm", "xgb", "cnn"],
    )


def test_rank_models_tests_ranks_and_its_diagram_is_drawn_apart(tmp_path):
    from ecgbench.reports.plots import write_critical_difference

    scores = score_table(np.random.default_rng(14))
    result = rank_models(scores)
    assert not any(tmp_path.iterdir())  # the statistics write nothing
    ref = stats.friedmanchisquare(*[scores[c] for c in scores.columns])
    assert result.friedman_p == pytest.approx(ref.pvalue) and result.friedman_statistic == pytest.approx(ref.statistic)
    assert result.friedman_p < 0.01 and result.n_blocks == 8
    ranks = stats.rankdata(-scores.to_numpy(), axis=1).mean(axis=0)
    assert result.average_ranks.to_dict() == pytest.approx(dict(zip(scores.columns, ranks, strict=True)))
    assert result.average_ranks.index[0] == "cnn"
    pairs = [(a, b) for i, a in enumerate(scores.columns) for b in scores.columns[i + 1 :]]
    raw = [stats.wilcoxon(scores[a], scores[b]).pvalue for a, b in pairs]
    adjusted = multipletests(raw, method="holm")[1]
    for (a, b), p in zip(pairs, adjusted, strict=True):
        assert result.wilcoxon_p.loc[a, b] == pytest.approx(p) == result.wilcoxon_p.loc[b, a]
    png = tmp_path / "cd" / "cd.png"
    write_critical_difference(png, result)
    assert png.stat().st_size > 1_000 and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in png.parent.iterdir()] == ["cd.png"]  # written atomically: no temporary file left


def test_rank_models_with_identical_models_and_lower_is_better():
    scores = score_table(np.random.default_rng(15), n_blocks=5)
    scores["copy"] = scores["knn"]
    result = rank_models(scores, higher_is_better=False)
    assert result.wilcoxon_p.loc["knn", "copy"] == 1.0
    ranks = stats.rankdata(scores.to_numpy(), axis=1).mean(axis=0)  # lowest scores rank first
    assert result.average_ranks.to_dict() == pytest.approx(dict(zip(scores.columns, ranks, strict=True)))
    assert result.average_ranks["knn"] == result.average_ranks["copy"]  # ties share the average rank


def test_rank_models_refuses_small_or_incomplete_tables():
    scores = score_table(np.random.default_rng(16))
    with pytest.raises(ValueError, match="at least 3 models and 5 blocks"):
        rank_models(scores.iloc[:4])
    with pytest.raises(ValueError, match="at least 3 models and 5 blocks"):
        rank_models(scores[["knn", "svm"]])
    scores.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="missing"):
        rank_models(scores)


# --- two-class tasks: sensitivity, specificity, ROC AUC --------------------------------------------------------


def binary_set(rng, n_patients=20, beats=60):
    """SYNTHETIC two-class beats with patient effects: each patient's abnormal share and score shift differ."""
    groups = np.repeat(np.arange(n_patients), beats)
    y_true = (rng.random(groups.size) < rng.uniform(0.1, 0.6, n_patients)[groups]).astype(int)
    score = 1 / (
        1 + np.exp(-(2 * y_true - 1 + rng.normal(0, 1, n_patients)[groups] * 0.5 + rng.normal(0, 1.2, groups.size)))
    )
    return y_true, (score > 0.5).astype(int), np.round(score, 2), groups  # rounded: tied scores occur


def test_binary_metrics_agree_with_scikit_learn_ties_and_weights_included():
    from ecgbench.core.statistics import weighted_binary_metrics

    rng = np.random.default_rng(3)
    y_true, y_pred, score, _ = binary_set(rng)
    full = weighted_binary_metrics(y_true, y_pred, score, np.ones(len(y_true)))
    assert full["roc_auc"][0] == pytest.approx(sk.roc_auc_score(y_true, score), abs=1e-12)
    assert full["sensitivity"][0] == pytest.approx(sk.recall_score(y_true, y_pred), abs=1e-12)
    assert full["specificity"][0] == pytest.approx(sk.recall_score(1 - y_true, 1 - y_pred), abs=1e-12)
    # a weight of w is w copies of the beat
    weights = rng.integers(0, 4, len(y_true))
    copies = np.repeat(np.arange(len(y_true)), weights)
    weighted = weighted_binary_metrics(y_true, y_pred, score, weights[None, :])
    assert weighted["roc_auc"][0] == pytest.approx(sk.roc_auc_score(y_true[copies], score[copies]), abs=1e-12)
    assert weighted["sensitivity"][0] == pytest.approx(sk.recall_score(y_true[copies], y_pred[copies]), abs=1e-12)
    # without a positive beat nothing that needs one is defined
    none = weighted_binary_metrics(np.zeros(4, int), np.zeros(4, int), np.arange(4.0), np.ones(4))
    assert np.isnan(none["sensitivity"][0]) and np.isnan(none["roc_auc"][0]) and none["specificity"][0] == 1


def test_binary_bootstrap_resamples_patients_and_averages_seeds():
    from ecgbench.core.statistics import binary_bootstrap

    rng = np.random.default_rng(4)
    y_true, y_pred, score, groups = binary_set(rng)
    result = binary_bootstrap(y_true, y_pred, score, groups, n_resamples=400)
    auc = result["roc_auc"]
    assert auc.unit == "patient" and auc.n_groups == 20 and auc.n_defined == 400
    assert auc.estimate == pytest.approx(sk.roc_auc_score(y_true, score))
    assert auc.low < auc.estimate < auc.high
    # by hand: the same draws, each resample's records weighted by how often they were drawn
    counts = np.random.default_rng(0).multinomial(20, np.full(20, 1 / 20), size=400)
    by_hand = []
    for c in counts[:50]:
        copies = np.concatenate([np.flatnonzero(groups == g) for g in np.repeat(np.arange(20), c)])
        by_hand.append(sk.roc_auc_score(y_true[copies], score[copies]))
    assert np.allclose(result.samples["roc_auc"][:50], by_hand, atol=1e-12)
    # beats as the unit: narrower than patients, which share their effects
    beats = binary_bootstrap(y_true, y_pred, score, None, n_resamples=400)["roc_auc"]
    assert beats.unit == "beat" and beats.high - beats.low < auc.high - auc.low
    # two seeds: the estimate is their mean, the SD beside it
    other = np.clip(score + rng.normal(0, 0.05, len(score)), 0, 1)
    two = binary_bootstrap(
        y_true, np.vstack([y_pred, (other > 0.5).astype(int)]), np.vstack([score, other]), groups, n_resamples=200
    )["roc_auc"]
    assert two.n_seeds == 2 and two.estimate == pytest.approx(
        (sk.roc_auc_score(y_true, score) + sk.roc_auc_score(y_true, other)) / 2
    )
    assert two.seed_sd > 0


def test_binary_paired_bootstrap_shares_the_draws_and_a_cell_against_itself_differs_by_nothing():
    from ecgbench.core.statistics import binary_bootstrap, binary_paired_bootstrap

    rng = np.random.default_rng(5)
    y_true, y_pred, score, groups = binary_set(rng)
    same = binary_paired_bootstrap(y_true, y_pred, score, y_pred, score, groups, n_resamples=300)
    for name in ("sensitivity", "specificity", "roc_auc"):
        d = same[name]
        assert (d.difference, d.low, d.high, d.p_value) == (0, 0, 0, 1)
    worse = np.clip(score + rng.normal(0, 0.3, len(score)), 0, 1)
    diff = binary_paired_bootstrap(y_true, y_pred, score, (worse > 0.5).astype(int), worse, groups, n_resamples=300)
    alone_a = binary_bootstrap(y_true, y_pred, score, groups, n_resamples=300)
    alone_b = binary_bootstrap(y_true, (worse > 0.5).astype(int), worse, groups, n_resamples=300)
    # the same seed draws the same records: each side's resamples are those of its own bootstrap
    assert np.allclose(diff.samples["roc_auc"], alone_b.samples["roc_auc"] - alone_a.samples["roc_auc"], equal_nan=True)
    assert diff["roc_auc"].difference == pytest.approx(alone_b["roc_auc"].estimate - alone_a["roc_auc"].estimate)
