import numpy as np
import pytest
from sklearn import metrics as sk

from ecgbench.core.metrics import classification_metrics, majority_baseline

CLASSES = ("N", "S", "V", "F", "Q")


@pytest.mark.parametrize("seed", range(5))
def test_metrics_agree_with_scikit_learn(seed):
    rng = np.random.default_rng(seed)
    y_true = rng.choice(5, size=300, p=[0.6, 0.1, 0.15, 0.05, 0.1])
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 5, 300))
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y_true, y_pred))
    assert m["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(y_true, y_pred))
    assert m["f1_macro"] == pytest.approx(sk.f1_score(y_true, y_pred, average="macro"))
    assert m["f1_weighted"] == pytest.approx(sk.f1_score(y_true, y_pred, average="weighted"))
    p, r, f, s = sk.precision_recall_fscore_support(y_true, y_pred, labels=range(5), zero_division=0)
    for i, name in enumerate(CLASSES):
        assert m["per_class"][name] == pytest.approx({"precision": p[i], "recall": r[i], "f1": f[i], "support": s[i]})
    assert m["confusion"] == sk.confusion_matrix(y_true, y_pred, labels=range(5)).tolist()
    normalized = sk.confusion_matrix(y_true, y_pred, labels=range(5), normalize="true")
    assert np.allclose(m["confusion_normalized"], normalized)


def test_a_class_absent_from_truth_and_predictions_is_left_out_of_macro_averages():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 2, 0])  # classes 3 and 4 occur nowhere
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert m["f1_macro"] == pytest.approx(sk.f1_score(y_true, y_pred, average="macro"))
    assert m["balanced_accuracy"] == pytest.approx(sk.balanced_accuracy_score(y_true, y_pred))
    assert m["per_class"]["F"]["support"] == 0


def test_a_class_only_predicted_counts_as_zero_f1():
    y_true = np.array([0, 0, 0, 1])
    y_pred = np.array([0, 0, 4, 1])
    m = classification_metrics(y_true, y_pred, CLASSES)
    assert m["f1_macro"] == pytest.approx(sk.f1_score(y_true, y_pred, average="macro", zero_division=0))
    assert m["per_class"]["Q"]["f1"] == 0


def test_majority_baseline_predicts_the_most_frequent_training_class():
    y_train = np.array([2, 2, 2, 0, 1])
    y_test = np.array([2, 0, 2, 1])
    m = majority_baseline(y_train, y_test, CLASSES)
    assert m["accuracy"] == pytest.approx(0.5)
    assert m["per_class"]["V"]["recall"] == 1.0
