"""The vectorised tsfresh calculators (ecgbench.models.fast_features) give tsfresh's own values, column for column,
and the tsfresh-xgboost model uses them wherever they exist.

Each calculator is checked on three sets of beats against tsfresh's ``extract_features`` (through
``features.extract_chunk``, the model's own call): simulated beats, hand-made edge cases and real MIT-BIH beats.
Values are compared as the model stores them, float32, NaN equal to NaN, bit for bit except where noted in
``TOLERANCE``.
"""

import numpy as np
import pytest

from ecgbench.models import fast_features, features
from ecgbench.models.check import check_data
from ecgbench.models.features import balanced_sample, extract_chunk, feature_settings

from_columns = pytest.importorskip("tsfresh.feature_extraction.settings").from_columns

CALCULATORS = sorted(feature_settings())  # the model's candidate set: every one has a vectorised version
COLUMNS = [
    fast_features.column_name(name, param)
    for name, params in feature_settings().items()
    for param in (params if params else [None])
]

# Where tsfresh sums through BLAS (np.dot, np.correlate, np.cov), whose order and fused multiply-adds depend on the
# CPU, the vectorised sums are numpy's pairwise ones: the same values to a few float64 units in the last place,
# which float32 nearly always rounds alike (every beat but one below does). rtol 1e-6 is ~8 float32 units; the
# atol of linear_trend covers a perfect line, whose stderr is sqrt(1 - r^2) of an r that rounds to 1: rounding
# noise in both (2e-11 against 1.7e-11).
TOLERANCE = {
    "abs_energy": {"rtol": 1e-6, "atol": 0.0},
    "cid_ce": {"rtol": 1e-6, "atol": 0.0},
    "agg_autocorrelation": {"rtol": 1e-6, "atol": 0.0},
    "partial_autocorrelation": {"rtol": 1e-6, "atol": 0.0},
    "fft_aggregated": {"rtol": 1e-6, "atol": 0.0},
    "linear_trend": {"rtol": 1e-6, "atol": 1e-9},
}


def reference(X: np.ndarray):
    """The beats and tsfresh's values of every candidate column (float32). ``linear_trend_timewise`` needs a
    datetime index, so tsfresh skips it for the long table: asked for by name, it comes back NaN."""
    values, columns = extract_chunk(X, feature_settings(), COLUMNS)
    assert columns == COLUMNS
    return X, values


def assert_same_as_tsfresh(calculator: str, beats_and_values) -> None:
    X, expected = beats_and_values
    names = [c for c in COLUMNS if c.split("__")[1] == calculator]
    got = fast_features.extract(X, names)
    tolerance = TOLERANCE.get(calculator)
    mismatches = {}
    for i, name in enumerate(names):
        ours, theirs = got[:, i], expected[:, COLUMNS.index(name)]
        if tolerance is None:
            same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))
        else:
            same = np.isclose(ours, theirs, equal_nan=True, **tolerance)
        if not same.all():
            beats = np.flatnonzero(~same)
            mismatches[name] = f"{len(beats)} beats, e.g. beat {beats[0]}: {ours[beats[0]]!r} != {theirs[beats[0]]!r}"
    assert not mismatches, "vectorised values differ from tsfresh's:\n" + "\n".join(
        f"{name}: {what}" for name, what in mismatches.items()
    )


def edge_beats() -> tuple[list[str], np.ndarray]:
    """Beats that reach the calculators' special cases: zero variance or energy or mean, ties for the maximum and
    minimum, repeated values, signed zeros, a perfect line, amplitudes far from a beat's."""
    n = 187
    t = np.arange(n)
    rng = np.random.default_rng(3)
    beats = {
        "all_zero": np.zeros(n),  # zero energy and sum: index_mass_quantile, energy ratios, variation coeff NaN
        "constant": np.full(n, 0.37),  # zero variance: autocorrelations NaN or 0, skewness and kurtosis 0
        "constant_negative": np.full(n, -2.0),
        "repeated_max_and_min": np.tile([0.0, 1.0, 0.5, 1.0, 0.0], 38)[:n],  # first/last location ties
        "step": np.where(t < 90, 0.0, 1.0),
        "ramp": t / (n - 1.0),  # a perfect line: r clipped at 1, p-value 0
        "impulse": np.eye(n)[40],  # fft spectrum flat: fft_aggregated's variance
        "alternating_zero_mean": np.where(t % 2 == 0, 1.0, -1.0) * (t < n - 1),  # mean exactly 0
        "signed_zeros": np.where(t % 3 == 0, -0.0, np.where(t % 3 == 1, 0.0, 0.25)),  # -0.0 and 0.0 one value
        "tiny_noise": 1e-6 * rng.standard_normal(n),  # variance under 1e-10: agg_autocorrelation's zeros
        "small_noise": 3e-5 * rng.standard_normal(n),  # variance between 1e-10 and 1e-8
        "huge": 1e6 * np.sin(t / 7.0),
        "values_minus_one_zero_one": rng.integers(-1, 2, n).astype(float),  # value_count's values, crossings
        "zero_padded": np.concatenate([np.sin(t[:120] / 10.0) ** 2, np.zeros(n - 120)]),  # as MIT-BIH beats end
        "two_levels": np.where(rng.random(n) < 0.5, 0.2, 0.7),
        "quantised": np.round(rng.standard_normal(n) * 20) / 20,  # many reoccurring values
    }
    return list(beats), np.stack(list(beats.values())).astype(np.float32)


@pytest.fixture(scope="module")
def synthetic_reference():
    from ecgbench.data.synthetic import load_synthetic

    data = load_synthetic(None, n_beats=600, n_patients=8, seed=0)
    return reference(data.X[balanced_sample(data.y, 150, np.random.default_rng(0))])


@pytest.fixture(scope="module")
def edge_reference():
    return reference(edge_beats()[1])


@pytest.fixture(scope="module")
def real_reference(mitdb_dir, module_cache):
    from ecgbench.data.wfdb_dataset import load_wfdb_database

    data = load_wfdb_database(mitdb_dir, ["100", "208", "232"])  # N; V and F; S beats
    return reference(data.X[balanced_sample(data.y, 250, np.random.default_rng(0))])


@pytest.mark.parametrize("calculator", CALCULATORS)
def test_vectorised_values_equal_tsfresh_on_synthetic_beats(calculator, synthetic_reference):
    assert_same_as_tsfresh(calculator, synthetic_reference)


@pytest.mark.parametrize("calculator", CALCULATORS)
def test_vectorised_values_equal_tsfresh_on_edge_case_beats(calculator, edge_reference):
    assert_same_as_tsfresh(calculator, edge_reference)


@pytest.mark.parametrize("calculator", CALCULATORS)
def test_vectorised_values_equal_tsfresh_on_real_mitdb_beats(calculator, real_reference):
    assert_same_as_tsfresh(calculator, real_reference)


def test_tolerances_are_only_where_tsfresh_sums_through_blas():
    assert set(TOLERANCE) <= set(CALCULATORS)
    assert len(TOLERANCE) == 6  # the other 55 calculators are compared bit for bit


@pytest.mark.parametrize("length", [3, 20, 1300])
def test_other_beat_lengths_reach_the_same_special_cases_as_tsfresh(length):
    """Short beats (lags and coefficients beyond the beat, empty energy chunks) and long ones (tsfresh's
    autocorrelation through the FFT above 1,250 samples)."""
    rng = np.random.default_rng(length)
    X = np.concatenate([rng.standard_normal((4, length)), np.zeros((1, length)), np.ones((1, length))])
    expected, columns = extract_chunk(X.astype(np.float32), feature_settings(), COLUMNS)
    got = fast_features.extract(X.astype(np.float32), columns)
    tolerance = np.isclose(got, expected, rtol=1e-6, atol=0.0, equal_nan=True)
    exact = (got == expected) | (np.isnan(got) & np.isnan(expected))
    blas = np.array([c.split("__")[1] in TOLERANCE for c in columns])
    assert exact[:, ~blas].all(), [c for c, ok in zip(columns, exact.all(axis=0), strict=True) if not ok]
    assert tolerance[:, blas].all()


# ----------------------------------------------------------------------------- coverage, names and wiring


def test_the_registry_covers_every_calculator_and_column_of_the_candidate_set():
    assert set(CALCULATORS) <= set(fast_features.CALCULATORS)
    assert len(CALCULATORS) == 61 and len(COLUMNS) == 577  # 572 tsfresh gives, 5 linear_trend_timewise
    assert all(fast_features.covers(column) for column in COLUMNS)


def test_columns_are_named_as_tsfresh_names_them():
    _, tsfresh_names = extract_chunk(check_data()[0][:2], feature_settings())
    assert len(tsfresh_names) == 572
    assert set(tsfresh_names) == {c for c in COLUMNS if "linear_trend_timewise" not in c}


def test_a_column_or_parameter_without_a_vectorised_calculator_is_not_covered():
    assert not fast_features.covers('ecg__change_quantiles__f_agg_"mean"__isabs_False__qh_0.4__ql_0.2')  # slow set
    assert not fast_features.covers("ecg__number_peaks__n_0")  # tsfresh returns None (NaN) there
    assert not fast_features.covers("other__mean")  # not the long table's value column
    assert not fast_features.CALCULATORS["query_similarity_count"].accepts({"query": [0.0, 1.0, 0.0], "threshold": 0})


def test_the_candidate_set_is_extracted_without_tsfresh(monkeypatch):
    def no_tsfresh(*args, **kwargs):
        raise AssertionError("tsfresh was called")

    monkeypatch.setattr(features, "extract", no_tsfresh)
    X = check_data()[0][:30]
    values = features.extract_named(X, COLUMNS)
    assert values.dtype == np.float32 and values.shape == (30, len(COLUMNS))


def test_uncovered_columns_go_to_tsfresh_and_come_back_in_the_order_asked(monkeypatch):
    X = check_data()[0][:25]
    columns = [
        'ecg__fft_coefficient__attr_"abs"__coeff_4',
        'ecg__change_quantiles__f_agg_"var"__isabs_True__qh_0.8__ql_0.2',
        "ecg__mean",
        "ecg__number_cwt_peaks__n_1",
        "ecg__skewness",
    ]
    asked, extract = [], features.extract
    monkeypatch.setattr(features, "extract", lambda X, *args: asked.append(args[1]) or extract(X, *args))
    values = features.extract_named(X, columns, chunk_size=10)
    assert asked == [[columns[1], columns[3]]]
    expected, _ = extract_chunk(X, from_columns(columns)["ecg"], columns)
    np.testing.assert_array_equal(values, expected)


def test_values_do_not_depend_on_the_pieces_of_beats():
    X = check_data()[0][:50]
    np.testing.assert_array_equal(fast_features.extract(X, COLUMNS, chunk_size=7), fast_features.extract(X, COLUMNS))


def test_the_feature_cache_keeps_the_two_extractors_apart(monkeypatch, tmp_cache):
    from ecgbench.models.feature_cache import beats_folder

    X = check_data()[0][:5]
    with_vectorised = beats_folder(X)
    monkeypatch.setattr(fast_features, "CALCULATORS", {})
    assert beats_folder(X) != with_vectorised
    monkeypatch.setattr(fast_features, "VERSION", "another")
    assert beats_folder(X) != with_vectorised


@pytest.mark.slow  # trains XGBoost twice
def test_a_model_fitted_with_the_vectorised_calculators_scores_as_with_tsfresh_alone(monkeypatch, tmp_cache):
    from ecgbench.models import build

    X, y = check_data()

    def fitted():
        model = build("tsfresh-xgboost", n_classes=5, seed=0, n_estimators=8, max_features=20, selection_beats=100)
        model.fit(X[::2], y[::2], X[1::2], y[1::2])
        return model, model.predict_proba(X[1::2])

    tsfresh_calls = []
    extract = features.extract
    monkeypatch.setattr(features, "extract", lambda X, *args: tsfresh_calls.append(len(X)) or extract(X, *args))
    fast_model, fast = fitted()
    assert tsfresh_calls == []  # the candidates' names too come from the settings (features.candidate_columns)
    monkeypatch.setattr(fast_features, "CALCULATORS", {})  # tsfresh for every column (and another cache folder)
    slow_model, slow = fitted()
    # the candidates' names from one beat, then the selection sample, the training and the test beats
    assert tsfresh_calls[0] == 1 and len(tsfresh_calls) > 2
    assert slow_model.columns == fast_model.columns
    np.testing.assert_array_equal(fast, slow)
