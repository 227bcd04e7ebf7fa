"""The vectorised relevance table (ecgbench.models.relevance) is tsfresh's ``calculate_relevance_table``, and the
tsfresh-xgboost model's selection keeps the features it kept with tsfresh's table.

Each table is compared with tsfresh's own, called as the model called it before (a DataFrame and a Series,
``ml_task="classification"``, ``n_jobs=0``): the feature types, every p-value bit for bit (NaN equal to NaN), every
relevant flag, the count of significant classes and the feature ranking the model takes from it. On the features of
simulated beats, on hand-made tables that reach each rule (constant, binary and tied features, binary and
multiclass targets, a class of a few beats) and on real MIT-BIH beats.
"""

import warnings

import numpy as np
import pytest

from ecgbench.models import fast_features, relevance
from ecgbench.models.features import balanced_sample, candidate_columns, feature_settings
from ecgbench.models.relevance import relevance_table

calculate_relevance_table = pytest.importorskip("tsfresh.feature_selection.relevance").calculate_relevance_table


def tsfresh_table(values, y, names, fdr_level=0.05, n_significant=1, multiclass=None):
    """tsfresh's table, one row per feature in the order of ``names``."""
    import pandas as pd

    multiclass = len(np.unique(y)) > 2 if multiclass is None else multiclass
    with warnings.catch_warnings():  # constant features, binary features not 0/1, a binary target
        warnings.simplefilter("ignore")
        table = calculate_relevance_table(
            pd.DataFrame(values, columns=names),
            pd.Series(y),
            ml_task="classification",
            multiclass=multiclass,
            n_significant=n_significant,
            n_jobs=0,
            fdr_level=fdr_level,
        )
    return table.reset_index(drop=True).set_index("feature").loc[names]


def ranked(table) -> list[str]:
    """The model's ranking (TsfreshXGBoost.select): relevant first, then the smallest p-value, then the name."""
    table = table.reset_index()
    table["p_min"] = table.filter(like="p_value").astype(float).min(axis=1)
    return list(table.sort_values(["relevant", "p_min", "feature"], ascending=[False, True, True])["feature"])


def assert_same_table(values, y, names=None, fdr_level=0.05, n_significant=1, multiclass=None):
    """Our table equals tsfresh's, column for column and bit for bit; returns ours."""
    names = [f"f{i:03d}" for i in range(values.shape[1])] if names is None else names
    theirs = tsfresh_table(values, y, names, fdr_level, n_significant, multiclass)
    multiclass = len(np.unique(y)) > 2 if multiclass is None else multiclass
    ours = relevance_table(values, y, names, fdr_level, n_significant, multiclass).set_index("feature")
    assert list(ours.columns) == list(theirs.columns)
    for column in theirs.columns:
        expected, got = theirs[column].to_numpy(), ours[column].to_numpy()
        if column.startswith("p_value"):
            expected, got = expected.astype(np.float64), got.astype(np.float64)
            differ = np.flatnonzero(~((expected == got) | (np.isnan(expected) & np.isnan(got))))
            assert not len(differ), f"{column}: {[(names[i], got[i], expected[i]) for i in differ[:5]]}"
        elif column == "type":
            assert list(got) == list(expected)
        else:  # relevant flags (tsfresh's may be objects after joining its constant features) and n_significant
            np.testing.assert_array_equal(got.astype(np.int64), expected.astype(np.int64), err_msg=column)
    assert ranked(ours) == ranked(theirs)
    return ours


def class_labels(rng, counts) -> np.ndarray:
    """Shuffled labels, ``counts[k]`` beats of class k."""
    return rng.permutation(np.repeat(np.arange(len(counts)), counts))


def mixed_features(y: np.ndarray, rng) -> tuple[list[str], np.ndarray]:
    """Features of every type and tie structure, some related to the classes, float32 as the model's."""
    n = len(y)
    signal = y.astype(float)
    columns = {
        "constant": np.full(n, 0.3),
        "signed_zeros": np.where(rng.random(n) < 0.5, -0.0, 0.0),  # one value for tsfresh: constant
        "binary_related": (signal + rng.standard_normal(n) > 1.5).astype(float),
        "binary_not_zero_one": np.where(signal + rng.standard_normal(n) > 1.0, 2.5, -1.0),
        "binary_with_signed_zero": np.where(rng.random(n) < 0.3, 1.0, np.where(rng.random(n) < 0.5, -0.0, 0.0)),
        "binary_rare": (rng.random(n) < 0.02).astype(float),
        "binary_noise": (rng.random(n) < 0.5).astype(float),
        "real_distinct": signal + rng.standard_normal(n),
        "real_distinct_noise": rng.standard_normal(n),
        "real_tied": np.round(signal + rng.standard_normal(n)),  # a few levels: heavy ties
        "real_tied_noise": np.round(2 * rng.standard_normal(n)) / 2,
        "real_three_levels": rng.integers(0, 3, n).astype(float),
        "real_mostly_zero": np.where(rng.random(n) < 0.9, 0.0, signal + rng.random(n)),
        "real_large": 1e6 * (signal + rng.standard_normal(n)),
        "real_tiny": 1e-6 * (signal + rng.standard_normal(n)),
    }
    return list(columns), np.stack(list(columns.values()), axis=1).astype(np.float32)


# -------------------------------------------------------------------------- (a) features of simulated beats


def test_equals_tsfresh_on_the_candidate_features_of_simulated_beats():
    from ecgbench.data.synthetic import load_synthetic

    data = load_synthetic(None, n_beats=600, n_patients=8, seed=0)
    X, y = data.X, data.y
    sample = balanced_sample(y, 300, np.random.default_rng(0))
    names = candidate_columns(X, feature_settings())
    values = np.nan_to_num(fast_features.extract(X[sample], names), nan=0.0, posinf=0.0, neginf=0.0)
    table = assert_same_table(values, y[sample], names)
    assert table["relevant"].any() and not table["relevant"].all()  # the rules had something to decide


# -------------------------------------------------------------------------- (b) one check per rule


@pytest.fixture(scope="module")
def mixed():
    rng = np.random.default_rng(7)
    y = class_labels(rng, [150, 60, 40, 25, 12])
    names, values = mixed_features(y, rng)
    return names, values, y


def test_feature_types_count_distinct_values_as_tsfresh(mixed):
    names, values, y = mixed
    table = assert_same_table(values, y, names)
    assert table.loc["constant", "type"] == table.loc["signed_zeros", "type"] == "constant"
    assert table.loc["binary_with_signed_zero", "type"] == "binary"
    assert table.loc["real_three_levels", "type"] == "real"


def test_constant_features_are_untested_and_never_relevant(mixed):
    names, values, y = mixed
    for n_significant in (0, 1):  # with 0, every tested feature is relevant, constant ones still not
        table = assert_same_table(values, y, names, n_significant=n_significant)
        constant = table[table["type"] == "constant"]
        assert constant.filter(like="p_value").isna().all().all() and not constant["relevant"].any()


@pytest.mark.filterwarnings("ignore:A binary feature should have only values 1 and 0")  # tsfresh's, for 2.5/-1
def test_binary_features_get_fishers_exact_test(mixed):
    from tsfresh.feature_selection.significance_tests import target_binary_feature_binary_test

    names, values, y = mixed
    binary = [i for i, name in enumerate(names) if name.startswith("binary")]
    assert_same_table(values[:, binary], y, [names[i] for i in binary])
    ours = relevance.p_values(values[:, binary], np.full(len(binary), "binary", dtype=object), y == 3)
    theirs = [target_binary_feature_binary_test(x, series(y == 3)) for x in columns(values[:, binary])]
    np.testing.assert_array_equal(ours, theirs)


def series(values):
    import pandas as pd

    return pd.Series(values)


def columns(values):
    """A Series per feature, as tsfresh tests them."""
    return [series(column) for column in values.T]


def test_real_features_get_the_mann_whitney_test_with_its_tie_correction(mixed):
    from tsfresh.feature_selection.significance_tests import target_binary_feature_real_test

    names, values, y = mixed
    real = [i for i, name in enumerate(names) if name.startswith("real")]
    assert_same_table(values[:, real], y, [names[i] for i in real])
    for label in range(5):  # one scipy call per block of columns: tsfresh's one call per column, to the bit
        ours = relevance.mann_whitney_p_values(values[:, real], y == label)
        theirs = [target_binary_feature_real_test(x, series(y == label), "mann") for x in columns(values[:, real])]
        np.testing.assert_array_equal(ours, theirs)


def test_float64_features_are_tested_in_float64_as_tsfresh_does(mixed):
    """scipy computes in the features' precision: float32 features (the model's) give float32 p-values."""
    names, values, y = mixed
    p64 = assert_same_table(values.astype(np.float64), y, names).filter(like="p_value")
    p32 = relevance_table(values, y, names).set_index("feature").filter(like="p_value")
    assert not np.array_equal(p64, p32, equal_nan=True)


def test_a_class_of_a_few_beats_is_tested_exactly_where_scipy_would():
    """scipy's method="auto" takes the exact distribution for a sample of at most 8 without ties: decided per
    feature here, as in tsfresh's one call per feature (a scipy call over many features decides once for all)."""
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(11)
    y = class_labels(rng, [80, 30, 5])
    names, values = mixed_features(y, rng)
    table = assert_same_table(values, y, names)
    few = y == 2
    distinct, tied = (values[:, names.index(name)] for name in ("real_distinct", "real_tied"))
    exact = mannwhitneyu(distinct[few], distinct[~few], method="exact").pvalue
    assert exact != mannwhitneyu(distinct[few], distinct[~few], method="asymptotic").pvalue
    assert table.loc["real_distinct", "p_value_2"] == exact
    assert table.loc["real_tied", "p_value_2"] == mannwhitneyu(tied[few], tied[~few], method="asymptotic").pvalue
    y = class_labels(rng, [90, 30, 1])  # a class of one beat
    assert_same_table(mixed_features(y, rng)[1], y, names)


def test_classes_are_tested_one_against_the_rest_in_order_of_first_appearance():
    rng = np.random.default_rng(5)
    y = np.array(["V", "N", "S", "N", "F", "Q"] + list(rng.choice(list("NSVFQ"), 200)), dtype=object)
    names, values = mixed_features(np.unique(y, return_inverse=True)[1], rng)
    table = assert_same_table(values, y, names)
    assert [c.removeprefix("p_value_") for c in table.columns if c.startswith("p_value")] == list("VNSFQ")


def test_a_binary_target_takes_the_smaller_p_value_and_either_classs_relevance(mixed):
    names, values, y = mixed
    table = assert_same_table(values, (y == 1).astype(int), names)
    assert {"p_value", "relevant"} <= set(table.columns) and "n_significant" not in table.columns
    assert_same_table(values, np.where(y == 1, "S", "N"), names)  # labels that are not 0 and 1


def test_multiclass_false_combines_every_class_as_a_binary_target_does(mixed):
    names, values, y = mixed
    assert_same_table(values, y, names, multiclass=False)


def test_n_significant_is_the_number_of_classes_a_feature_must_be_relevant_for(mixed):
    names, values, y = mixed
    counts = assert_same_table(values, y, names)["n_significant"]
    assert counts.max() >= 2  # some features tell several classes apart
    for n_significant in (2, 3, 5):
        table = assert_same_table(values, y, names, n_significant=n_significant)
        assert list(table["relevant"]) == list(counts >= n_significant)


def test_the_fdr_level_decides_as_in_tsfresh(mixed):
    names, values, y = mixed
    relevant = [assert_same_table(values, y, names, fdr_level=level)["relevant"].sum() for level in (1e-6, 0.05, 0.5)]
    assert relevant == sorted(relevant) and relevant[0] < relevant[-1]


def test_benjamini_yekutieli_decides_as_statsmodels_multipletests():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(2)
    for size in (1, 2, 3, 10, 100, 1000):
        for level in (0.001, 0.05, 0.3):
            p = rng.random(size) ** 8  # many small p-values near the thresholds
            p[rng.random(size) < 0.2] = 0.0  # ties, at 0 (float32 underflow) and elsewhere
            p[: size // 3] = p[size // 3 : 2 * (size // 3)]
            np.testing.assert_array_equal(relevance.benjamini_yekutieli(p, level), multipletests(p, level, "fdr_by")[0])


def test_blocks_of_features_give_the_same_p_values(mixed, monkeypatch):
    names, values, y = mixed
    whole = relevance_table(values, y, names)
    monkeypatch.setattr(relevance, "BLOCK_ELEMENTS", 2 * len(y))  # two features a scipy call
    np.testing.assert_array_equal(
        relevance_table(values, y, names).filter(like="p_value"), whole.filter(like="p_value")
    )


def test_a_table_of_constant_features_only_is_tsfresh_s(mixed):
    names, values, y = mixed
    assert_same_table(values[:, :2], y, names[:2])


def test_nan_features_and_a_single_class_are_refused(mixed):
    names, values, y = mixed
    with pytest.raises(ValueError, match="NaN"):
        relevance_table(np.where(values == values.max(), np.nan, values), y, names)
    with pytest.raises(ValueError, match="two classes"):
        relevance_table(values, np.zeros(len(y)), names)


# -------------------------------------------------------------------------- (c) real MIT-BIH beats


def test_equals_tsfresh_on_the_candidate_features_of_real_mitdb_beats(mitdb_dir, module_cache):
    from ecgbench.data.wfdb_dataset import load_wfdb_database

    data = load_wfdb_database(mitdb_dir, ["100", "208", "232", "217"])  # N; V and F; S; paced (Q)
    sample = balanced_sample(data.y, 600, np.random.default_rng(0))
    names = candidate_columns(data.X, feature_settings())
    values = np.nan_to_num(fast_features.extract(data.X[sample], names), nan=0.0, posinf=0.0, neginf=0.0)
    assert len(np.unique(data.y[sample])) >= 4
    assert_same_table(values, data.y[sample], names)


# -------------------------------------------------------------------------- the model's selection


def test_candidate_columns_are_the_names_tsfresh_extracts_without_extracting(monkeypatch):
    from ecgbench.models import features
    from ecgbench.models.check import check_data

    X = check_data()[0][:3]
    settings = feature_settings()
    expected = features.extract(X[:1], settings)[1]
    monkeypatch.setattr(features, "extract", lambda *args: pytest.fail("tsfresh extracted to name the columns"))
    assert candidate_columns(X, settings) == expected  # the same names, in the same (sorted) order


def test_candidate_columns_of_calculators_without_a_vectorised_twin_come_from_tsfresh(monkeypatch):
    from ecgbench.models import features
    from ecgbench.models.check import check_data

    X = check_data()[0][:3]
    settings = {"mean": None, "change_quantiles": feature_settings(exclude=())["change_quantiles"]}
    extract, calls = features.extract, []
    monkeypatch.setattr(features, "extract", lambda X, *args: calls.append(len(X)) or extract(X, *args))
    names = candidate_columns(X, settings)
    assert calls == [1] and "ecg__mean" in names and names == sorted(names)


def with_tsfresh_table(values, y, features, fdr_level, n_significant, multiclass):
    """The model's selection before ecgbench.models.relevance: constant columns dropped, tsfresh's table."""
    import pandas as pd

    kept = (pd.DataFrame(values, columns=features).nunique() > 1).to_numpy()
    names = [name for name, keep in zip(features, kept, strict=True) if keep]
    return tsfresh_table(values[:, kept], y, names, fdr_level, n_significant, multiclass).reset_index()


@pytest.mark.parametrize("max_features", [20, 600])  # 600: the whole ranking, irrelevant features included
def test_the_model_selects_the_features_it_selected_with_tsfresh_s_table(max_features, monkeypatch, tmp_cache):
    from ecgbench.models import build
    from ecgbench.models.check import check_data

    X, y = check_data()

    def selected():
        model = build("tsfresh-xgboost", n_classes=5, seed=0, max_features=max_features, selection_beats=200)
        model.select(X, y)
        return model.columns

    ours = selected()
    calls = []
    monkeypatch.setattr(
        relevance, "relevance_table", lambda *args, **kw: calls.append(1) or with_tsfresh_table(*args, **kw)
    )
    assert selected() == ours and calls
    assert len(ours) == 20 if max_features == 20 else 400 < len(ours) < 572  # all but the constant columns
