"""tsfresh's relevance table for classification, vectorised over the features.

tsfresh's ``calculate_relevance_table`` tests each feature against each class (one against the rest) in its own
call: a pandas Series split by the class, one scipy test, one p-value. For the tsfresh-xgboost model's 572
candidate features and five classes that is thousands of calls whose pandas and scipy overhead, not the
arithmetic, is nearly all of the selection's cost (about 9 s on 5,000 beats). Here a class's Mann-Whitney U tests
are one ``scipy.stats.mannwhitneyu`` call on a block of feature columns (scipy tests each row of a 2-D array), and
the rest is numpy.

The tests, their options and the decisions are tsfresh 0.21.2's (``tsfresh.feature_selection.relevance`` and
``significance_tests``), so the table is tsfresh's (tests/test_relevance.py compares them):

* a feature's type from its number of distinct values: one, constant (never tested, never relevant); two, binary
  (Fisher's exact test, two-sided, on the 2x2 table of feature value by class membership); more, real (Mann-Whitney
  U, two-sided, continuity-corrected, scipy's ``method="auto"``, the class's values first);
* every class tested against the others, in the order the classes first appear in ``y``;
* per class, the Benjamini-Yekutieli procedure at ``fdr_level`` over the tested features; with more than two
  classes a feature is relevant when it is for at least ``n_significant`` classes, with two (or with
  ``multiclass=False``) when it is for either, its p-value the smaller of the classes'.

The p-values are scipy's for the same arrays: float32 features give float32 arithmetic and p-values, as in tsfresh
(whose p-values of 0, below float32's range, then tie, which is why the model breaks ties by name).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# Feature values tested in one scipy call, at most: the call holds a few copies of its block (ranks, sort order).
BLOCK_ELEMENTS = 1 << 22
# scipy's method="auto" computes Mann-Whitney's exact distribution when a sample is this small and the feature has no
# ties (scipy.stats._mannwhitneyu._mwu_choose_method); it decides that once per call, over all of the call's features.
EXACT_MAX_SIZE = 8


def relevance_table(
    values: np.ndarray,
    y: np.ndarray,
    features: list[str],
    fdr_level: float = 0.05,
    n_significant: int = 1,
    multiclass: bool = True,
) -> pd.DataFrame:
    """tsfresh's ``calculate_relevance_table(pd.DataFrame(values, columns=features), pd.Series(y),
    ml_task="classification", ...)``, one row per feature in the order given: ``feature``, ``type``, per class
    ``p_value_<class>`` and ``relevant_<class>``, ``n_significant`` and ``relevant``; with two classes (or
    ``multiclass=False``) ``feature``, ``type``, ``p_value`` and ``relevant``. Constant features have NaN p-values."""
    import pandas as pd

    values, y = np.asarray(values), np.asarray(y)
    if np.isnan(values).any():
        raise ValueError("the features contain NaN values")  # as tsfresh refuses them
    classes = pd.unique(y)
    if len(classes) < 2:
        raise ValueError(f"the relevance of features to classes needs two classes or more, not {len(classes)}")
    kinds = feature_types(values)
    table = pd.DataFrame({"feature": list(features), "type": kinds})
    if (kinds == "constant").all():  # tsfresh then returns its table of constant features, without class columns
        return table.assign(p_value=np.nan, relevant=False)
    tests = {label: class_tests(values, kinds, y == label, fdr_level) for label in classes}
    if multiclass and len(classes) > 2:
        for label, (p, relevant) in tests.items():
            table[f"p_value_{label}"], table[f"relevant_{label}"] = p, relevant
        table["n_significant"] = np.sum([relevant for _, relevant in tests.values()], axis=0)
        # tsfresh marks constant features irrelevant whatever n_significant is, 0 included
        table["relevant"] = (table["n_significant"] >= n_significant) & (kinds != "constant")
    else:  # relevant for either class; the smaller p-value (NaN for a constant feature)
        table["p_value"] = np.min([p for p, _ in tests.values()], axis=0)
        table["relevant"] = np.any([relevant for _, relevant in tests.values()], axis=0)
    return table


def class_tests(values: np.ndarray, kinds: np.ndarray, member: np.ndarray, fdr_level: float):
    """Every feature's p-value for the class ``member`` marks against the other beats (NaN where constant) and
    whether the Benjamini-Yekutieli procedure over the tested features finds it relevant."""
    tested = np.flatnonzero(kinds != "constant")
    p, relevant = np.full(len(kinds), np.nan), np.zeros(len(kinds), dtype=bool)
    p[tested] = p_values(values[:, tested], kinds[tested], member)
    relevant[tested] = benjamini_yekutieli(p[tested], fdr_level)
    return p, relevant


def feature_types(values: np.ndarray) -> np.ndarray:
    """Each column's type, by its number of distinct values: one "constant", two "binary", more "real" (counted as
    tsfresh counts them, with Python's ``set``: -0.0 and 0.0 are one value)."""
    ordered = np.sort(values, axis=0)
    distinct = 1 + np.count_nonzero(ordered[1:] != ordered[:-1], axis=0) if len(values) else np.zeros(values.shape[1])
    return np.select([distinct <= 1, distinct == 2], ["constant", "binary"], "real").astype(object)


def p_values(values: np.ndarray, kinds: np.ndarray, member: np.ndarray) -> np.ndarray:
    """The p-value of each column (binary or real) for the class ``member`` marks against the other beats."""
    p = np.empty(values.shape[1])
    binary = np.flatnonzero(kinds == "binary")
    real = np.flatnonzero(kinds == "real")
    p[binary] = [fisher_p_value(values[:, j], member) for j in binary]  # few columns: a loop costs little
    p[real] = mann_whitney_p_values(values[:, real], member)
    return p


def fisher_p_value(column: np.ndarray, member: np.ndarray) -> float:
    """tsfresh's ``target_binary_feature_binary_test``: Fisher's exact test of a two-valued feature, two-sided, on
    the table [[members at the larger value, members at the smaller], [the others at the larger, at the smaller]]."""
    from scipy.stats import fisher_exact

    larger = column == column.max()
    table = [
        [np.count_nonzero(member & larger), np.count_nonzero(member & ~larger)],
        [np.count_nonzero(~member & larger), np.count_nonzero(~member & ~larger)],
    ]
    return fisher_exact(table, alternative="two-sided")[1]


def mann_whitney_p_values(values: np.ndarray, member: np.ndarray) -> np.ndarray:
    """tsfresh's ``target_binary_feature_real_test`` (test "mann") of every column: the two-sided Mann-Whitney U
    test of the class's values (first, in beat order, as tsfresh passes them) against the others', with
    continuity correction, in blocks of columns."""
    p = np.empty(values.shape[1])
    n_members = np.count_nonzero(member)
    small = min(n_members, len(member) - n_members) <= EXACT_MAX_SIZE
    # scipy's "auto" choice, made per feature: only a small sample of a feature without ties is tested exactly.
    exact = no_ties(values) if small else np.zeros(values.shape[1], dtype=bool)
    step = max(1, BLOCK_ELEMENTS // max(len(values), 1))
    for method in ("exact", "asymptotic"):
        columns = np.flatnonzero(exact if method == "exact" else ~exact)
        for begin in range(0, len(columns), step):
            block = columns[begin : begin + step]
            p[block] = _mann_whitney(values[:, block], member, method)
    return p


def _mann_whitney(block: np.ndarray, member: np.ndarray, method: str) -> np.ndarray:
    from scipy.stats import mannwhitneyu

    # A feature's values contiguous, one row each, as a 1-D array is: scipy's sums (rank sums, tie terms) then add
    # in the same order as in tsfresh's one-feature calls, giving the same p-values to the bit.
    ours = np.ascontiguousarray(block[member].T)
    others = np.ascontiguousarray(block[~member].T)
    return mannwhitneyu(ours, others, use_continuity=True, alternative="two-sided", axis=-1, method=method).pvalue


def no_ties(values: np.ndarray) -> np.ndarray:
    """Whether each column's values are all distinct."""
    ordered = np.sort(values, axis=0)
    return ~(ordered[1:] == ordered[:-1]).any(axis=0)


def benjamini_yekutieli(p: np.ndarray, fdr_level: float) -> np.ndarray:
    """Which hypotheses the Benjamini-Yekutieli procedure rejects: statsmodels' ``multipletests(p, fdr_level,
    "fdr_by")[0]``, which tsfresh calls, with its arithmetic (k / m / c(m) * level), without importing statsmodels
    (over a second)."""
    order = np.argsort(p)
    m = len(p)
    thresholds = np.arange(1, m + 1) / float(m) / np.sum(1.0 / np.arange(1, m + 1)) * fdr_level
    below = np.flatnonzero(p[order] <= thresholds)
    reject = np.zeros(m, dtype=bool)
    if len(below):  # a step-up procedure: every p-value up to the largest one under its threshold
        reject[order[: below[-1] + 1]] = True
    return reject
