"""tsfresh's feature calculators, vectorised: each computed on the whole beat matrix at once with numpy/scipy.

tsfresh computes a feature beat by beat and calculator by calculator, through a long pandas table and its own
grouping; for 187-sample beats that Python overhead, not the arithmetic, is nearly all of the extraction's cost
(docs/decisions.md#tsfresh-calculator-costs). Here each calculator of the model's candidate set
(:func:`ecgbench.models.features.feature_settings`) is a function of the matrix ``X`` (float64, one beat a row) and
of the parameter dicts tsfresh would pass it, returning one array (a value per beat) per column, named as tsfresh
names it (``ecg__fft_coefficient__attr_"real"__coeff_3``). :func:`extract` gives named columns of beats in pieces;
:func:`covers` says which columns it can give (the model extracts the others with tsfresh).

Each function repeats tsfresh 0.21.2's arithmetic, operation for operation (the edge cases too: constant beats,
ties, the NaNs a calculator returns), reducing along a beat's samples, where numpy sums a row as it sums a 1-D
array. So the values are tsfresh's, bit for bit, wherever tsfresh does not call BLAS; where it does (``np.dot``,
``np.correlate``, ``np.cov``: ``abs_energy``, ``cid_ce``, ``agg_autocorrelation``, ``partial_autocorrelation``,
``fft_aggregated``, ``linear_trend``) the sums here are numpy's pairwise ones, equal to a few units in the last
place of float64 (BLAS's own order and fused multiply-adds depend on the CPU; tsfresh's values differ between
machines as much), which the float32 the model stores nearly always rounds alike. ``tests/test_fast_features.py``
compares every column with tsfresh's. tsfresh's slowest calculators (``features.SLOW_CALCULATORS``, outside the
candidate set) have no version here: the model leaves them to tsfresh (``full_efficient_set``).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ecgbench.core.progress import BeatProgress

# Bumped whenever a calculator's values may change: the feature cache keys its folders by identity().
VERSION = "1"
KIND = "ecg"  # the value column of the long table tsfresh gets (features.extract_chunk): its names start with it
CHUNK_SIZE = 10_000  # beats computed at a time: a few float64 copies of the piece and its columns, tens of MB

Calculator = Callable[[np.ndarray, list | None], dict[str, np.ndarray]]
CALCULATORS: dict[str, Calculator] = {}  # tsfresh calculator name -> its vectorised version


def identity() -> str:
    """Which calculators this extractor computes, and at which version: part of the feature cache's key, so that
    values from tsfresh and from here are never mixed."""
    return f"fast_features {VERSION}: {','.join(sorted(CALCULATORS))}"


def column_name(calculator: str, param: dict | None) -> str:
    """tsfresh's name of a calculator's column for one parameter dict (None: a calculator without parameters)."""
    from tsfresh.utilities.string_manipulation import convert_to_output_format

    return f"{KIND}__{calculator}" + (f"__{convert_to_output_format(param)}" if param else "")


def covers(column: str) -> bool:
    """Whether :func:`extract` computes this tsfresh column."""
    from tsfresh.feature_extraction.settings import from_columns

    kind, _, rest = column.partition("__")
    function = CALCULATORS.get(rest.split("__")[0]) if kind == KIND else None
    if function is None:
        return False
    if function.accepts is None:
        return True
    return all(function.accepts(param) for param in next(iter(from_columns([column])[KIND].values())))


def extract(X: np.ndarray, columns: list[str], chunk_size: int = CHUNK_SIZE) -> np.ndarray:
    """The named columns (all covered) of every beat, float32 in that order, computed on pieces of beats."""
    from tsfresh.feature_extraction.settings import from_columns

    settings = from_columns(columns)[KIND] if columns else {}
    out = np.empty((len(X), len(columns)), dtype=np.float32)
    progress = BeatProgress("tsfresh features, vectorised", len(X))
    for begin in range(0, len(X), chunk_size):
        beats = np.asarray(X[begin : begin + chunk_size], dtype=np.float64)  # tsfresh computes on float64 too
        values: dict[str, np.ndarray] = {}
        with np.errstate(all="ignore"):  # tsfresh's calculators return NaN and inf silently (show_warnings=False)
            for name, params in settings.items():
                values.update(CALCULATORS[name](beats, params))
        for i, column in enumerate(columns):
            out[begin : begin + len(beats), i] = values[column]  # booleans and counts become floats, as in tsfresh
        progress.add(len(beats))
    return out


# -- registration --------------------------------------------------------------------------------------------------


def combiner(name: str, accepts: Callable[[dict], bool] | None = None):
    """Registers ``f(X, params) -> {column: values}``, for a calculator whose columns share their work.
    ``accepts(param)``, where given, says which parameters it computes (the others are left to tsfresh)."""

    def add(function):
        function.accepts = accepts
        CALCULATORS[name] = function
        return function

    return add


def simple(name: str, accepts: Callable[[dict], bool] | None = None):
    """Registers ``f(X, **param) -> values``, one column per parameter dict (``f(X)`` without parameters)."""

    def add(function):
        def columns(X, params):
            if not params:
                return {column_name(name, None): function(X)}
            return {column_name(name, param): function(X, **param) for param in params}

        combiner(name, accepts)(columns)
        return function

    return add


def _rows(values) -> np.ndarray:
    """A per-beat statistic as a column, to broadcast against the beats."""
    return np.asarray(values)[:, None]


def _nan(X: np.ndarray) -> np.ndarray:
    return np.full(len(X), np.nan)


# -- moments and order statistics ---------------------------------------------------------------------------------


@simple("mean")
def mean(X):
    return X.mean(axis=1)


@simple("median")
def median(X):
    return np.median(X, axis=1)


@simple("variance")
def variance(X):
    return X.var(axis=1)


@simple("standard_deviation")
def standard_deviation(X):
    return X.std(axis=1)


@simple("variance_larger_than_standard_deviation")
def variance_larger_than_standard_deviation(X):
    y = X.var(axis=1)
    return y > np.sqrt(y)


@simple("variation_coefficient")
def variation_coefficient(X):
    avg = X.mean(axis=1)
    return np.where(avg == 0, np.nan, X.std(axis=1) / avg)


@simple("sum_values")
def sum_values(X):
    return X.sum(axis=1)


@simple("abs_energy")
def abs_energy(X):
    return (X * X).sum(axis=1)  # tsfresh: np.dot (BLAS)


@simple("root_mean_square")
def root_mean_square(X):
    return np.sqrt(np.mean(np.square(X), axis=1))


@simple("length")
def length(X):
    return np.full(len(X), float(X.shape[1]))


@simple("maximum")
def maximum(X):
    return X.max(axis=1)


@simple("minimum")
def minimum(X):
    return X.min(axis=1)


@simple("absolute_maximum")
def absolute_maximum(X):
    return np.abs(X).max(axis=1)


@combiner("quantile")
def quantile(X, params):
    values = np.quantile(X, [p["q"] for p in params], axis=1)  # one partition for every q
    return {column_name("quantile", p): values[i] for i, p in enumerate(params)}


@simple("mean_n_absolute_max")
def mean_n_absolute_max(X, number_of_maxima):
    if X.shape[1] <= number_of_maxima:
        return _nan(X)
    return np.sort(np.abs(X), axis=1)[:, -number_of_maxima:].mean(axis=1)


def _central_moments(X, power: int):
    """pandas' nanskew / nankurt up to their formula: the beat's count, and its second and ``power``-th central
    moment sums with pandas' zeroing of floating-point noise (on one beat, as Series.skew computes it)."""
    count = np.float64(X.shape[1])
    adjusted = X - _rows(X.sum(axis=1) / count)
    adjusted2 = adjusted**2
    higher = adjusted2 * adjusted if power == 3 else adjusted2**2
    m2, mp = adjusted2.sum(axis=1), higher.sum(axis=1)
    max_abs = np.abs(X).max(axis=1, initial=0.0)
    eps = np.finfo(np.float64).eps
    m2 = np.where(np.abs(m2) < ((eps * max_abs) ** 2) * count, 0, m2)
    mp = np.where(np.abs(mp) < ((eps * max_abs) ** power) * count, 0, mp)
    return count, m2, mp


@simple("skewness")
def skewness(X):
    count, m2, m3 = _central_moments(X, 3)
    if count < 3:
        return _nan(X)
    result = (count * (count - 1) ** 0.5 / (count - 2)) * (m3 / m2**1.5)
    return np.where(m2 == 0, 0.0, result)


@simple("kurtosis")
def kurtosis(X):
    count, m2, m4 = _central_moments(X, 4)
    if count < 4:
        return _nan(X)
    adj = 3 * (count - 1) ** 2 / ((count - 2) * (count - 3))
    numerator = count * (count + 1) * (count - 1) * m4
    denominator = (count - 2) * (count - 3) * m2**2
    return np.where(denominator == 0, 0.0, numerator / denominator - adj)


@combiner("symmetry_looking")
def symmetry_looking(X, params):
    mean_median_difference = np.abs(X.mean(axis=1) - np.median(X, axis=1))
    max_min_difference = X.max(axis=1) - X.min(axis=1)
    return {column_name("symmetry_looking", p): mean_median_difference < p["r"] * max_min_difference for p in params}


@combiner("large_standard_deviation")
def large_standard_deviation(X, params):
    std, spread = X.std(axis=1), X.max(axis=1) - X.min(axis=1)
    return {column_name("large_standard_deviation", p): std > p["r"] * spread for p in params}


@combiner("ratio_beyond_r_sigma")
def ratio_beyond_r_sigma(X, params):
    distance, std = np.abs(X - _rows(X.mean(axis=1))), _rows(X.std(axis=1))
    return {
        column_name("ratio_beyond_r_sigma", p): np.sum(distance > p["r"] * std, axis=1) / X.shape[1] for p in params
    }


# -- changes along the beat ---------------------------------------------------------------------------------------


@simple("mean_abs_change")
def mean_abs_change(X):
    return np.mean(np.abs(np.diff(X, axis=1)), axis=1)


@simple("absolute_sum_of_changes")
def absolute_sum_of_changes(X):
    return np.sum(np.abs(np.diff(X, axis=1)), axis=1)


@simple("mean_change")
def mean_change(X):
    n = X.shape[1]
    return (X[:, -1] - X[:, 0]) / (n - 1) if n > 1 else _nan(X)


@simple("mean_second_derivative_central")
def mean_second_derivative_central(X):
    n = X.shape[1]
    return (X[:, -1] - X[:, -2] - X[:, 1] + X[:, 0]) / (2 * (n - 2)) if n > 2 else _nan(X)


@simple("cid_ce")
def cid_ce(X, normalize):
    if normalize:
        s = _rows(X.std(axis=1))
        X = np.where(s != 0, (X - _rows(X.mean(axis=1))) / s, 0.0)  # tsfresh returns 0.0 for s == 0: diffs of 0
    d = np.diff(X, axis=1)
    return np.sqrt((d * d).sum(axis=1))  # tsfresh: np.dot (BLAS)


@simple("time_reversal_asymmetry_statistic")
def time_reversal_asymmetry_statistic(X, lag):
    n = X.shape[1]
    if 2 * lag >= n:
        return np.zeros(len(X))
    x, one_lag, two_lag = X[:, : n - 2 * lag], X[:, lag : n - lag], X[:, 2 * lag :]  # tsfresh's rolls, cut
    return np.mean(two_lag * two_lag * one_lag - one_lag * x * x, axis=1)


@simple("c3")
def c3(X, lag):
    n = X.shape[1]
    if 2 * lag >= n:
        return np.zeros(len(X))
    return np.mean(X[:, 2 * lag :] * X[:, lag : n - lag] * X[:, : n - 2 * lag], axis=1)


@simple("number_peaks", accepts=lambda param: param["n"] >= 1)
def number_peaks(X, n):
    """A value greater than its ``n`` neighbours on each side (tsfresh's rolls never wrap inside ``x[n:-n]``)."""
    length = X.shape[1]
    if length <= 2 * n:
        return np.zeros(len(X), dtype=np.int64)
    middle = X[:, n : length - n]
    peak = np.ones(middle.shape, dtype=bool)
    for i in range(1, n + 1):
        peak &= (middle > X[:, n - i : length - n - i]) & (middle > X[:, n + i : length - n + i])
    return peak.sum(axis=1)


@simple("number_crossing_m")
def number_crossing_m(X, m):
    positive = X > m
    return (positive[:, 1:] != positive[:, :-1]).sum(axis=1)


# -- counts, runs and locations -----------------------------------------------------------------------------------


@simple("count_above_mean")
def count_above_mean(X):
    return (X > _rows(X.mean(axis=1))).sum(axis=1)


@simple("count_below_mean")
def count_below_mean(X):
    return (X < _rows(X.mean(axis=1))).sum(axis=1)


@simple("count_above")
def count_above(X, t):
    return np.sum(X >= t, axis=1) / X.shape[1]


@simple("count_below")
def count_below(X, t):
    return np.sum(X <= t, axis=1) / X.shape[1]


@simple("value_count")
def value_count(X, value):
    return np.isnan(X).sum(axis=1) if np.isnan(value) else (X == value).sum(axis=1)


@simple("range_count")
def range_count(X, min, max):  # tsfresh's parameter names, shadowing the builtins
    return np.sum((X >= min) & (X < max), axis=1)


def _longest_run(mask: np.ndarray) -> np.ndarray:
    """The length of each row's longest run of True (0 without one), as tsfresh's _get_length_sequences_where."""
    edges = np.diff(np.pad(mask.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)  # in the same row-major order: the i-th end closes the i-th start
    longest = np.zeros(len(mask), dtype=np.int64)
    np.maximum.at(longest, rows, ends - starts)
    return longest


@simple("longest_strike_below_mean")
def longest_strike_below_mean(X):
    return _longest_run(X < _rows(X.mean(axis=1)))


@simple("longest_strike_above_mean")
def longest_strike_above_mean(X):
    return _longest_run(X > _rows(X.mean(axis=1)))


@simple("first_location_of_maximum")
def first_location_of_maximum(X):
    return np.argmax(X, axis=1) / X.shape[1]


@simple("last_location_of_maximum")
def last_location_of_maximum(X):
    return 1.0 - np.argmax(X[:, ::-1], axis=1) / X.shape[1]


@simple("first_location_of_minimum")
def first_location_of_minimum(X):
    return np.argmin(X, axis=1) / X.shape[1]


@simple("last_location_of_minimum")
def last_location_of_minimum(X):
    return 1.0 - np.argmin(X[:, ::-1], axis=1) / X.shape[1]


@simple("has_duplicate_max")
def has_duplicate_max(X):
    return np.sum(X == _rows(X.max(axis=1)), axis=1) >= 2


@simple("has_duplicate_min")
def has_duplicate_min(X):
    return np.sum(X == _rows(X.min(axis=1)), axis=1) >= 2


@combiner("index_mass_quantile")
def index_mass_quantile(X, params):
    abs_x = np.abs(X)
    s = abs_x.sum(axis=1)
    mass = np.cumsum(abs_x, axis=1) / _rows(s)
    return {
        column_name("index_mass_quantile", p): np.where(
            s == 0, np.nan, (np.argmax(mass >= p["q"], axis=1) + 1) / X.shape[1]
        )
        for p in params
    }


@combiner("energy_ratio_by_chunks")
def energy_ratio_by_chunks(X, params):
    full = np.sum(X**2, axis=1)
    columns = {}
    for p in params:
        chunk = np.array_split(np.arange(X.shape[1]), p["num_segments"])[p["segment_focus"]]
        begin, end = (chunk[0], chunk[-1] + 1) if len(chunk) else (0, 0)
        columns[column_name("energy_ratio_by_chunks", p)] = np.where(
            full == 0, np.nan, np.sum(X[:, begin:end] ** 2.0, axis=1) / full
        )
    return columns


# -- distinct values ----------------------------------------------------------------------------------------------


class _Distinct:
    """Each beat's distinct values, as np.unique finds them: the beat sorted, and where each value's run of equal
    samples starts and how long it is."""

    def __init__(self, X):
        self.n, self.length = X.shape
        ordered = np.sort(X, axis=1)
        same = ordered[:, 1:] == ordered[:, :-1]
        first = np.ones(ordered.shape, dtype=bool)
        first[:, 1:] = ~same
        starts = np.flatnonzero(first)  # row-major: every row begins with a start, so a run ends at the next one
        self.row = starts // self.length
        self.values = ordered.ravel()[starts]
        self.counts = np.diff(np.append(starts, ordered.size))
        self.unique = first.sum(axis=1)  # distinct values per beat

    def per_beat_sum(self, terms: np.ndarray) -> np.ndarray:
        """``np.sum`` of each beat's terms (one per distinct value, in sorted order), exactly as numpy sums an
        array of that length: its pairwise summation splits by length, so beats are summed in groups of equal
        count of distinct values, each group one row-wise sum."""
        rank = np.arange(len(terms)) - np.repeat(np.cumsum(self.unique) - self.unique, self.unique)
        padded = np.zeros((self.n, self.length))
        padded[self.row, rank] = terms
        sums = np.empty(self.n)
        for size in np.unique(self.unique):
            beats = np.flatnonzero(self.unique == size)
            sums[beats] = padded[beats, :size].sum(axis=1)
        return sums

    def beats_with(self, flags: np.ndarray) -> np.ndarray:
        """How many distinct values of each beat have the flag."""
        return np.bincount(self.row[flags], minlength=self.n)


@simple("has_duplicate")
def has_duplicate(X):
    return _Distinct(X).unique != X.shape[1]


@simple("ratio_value_number_to_time_series_length")
def ratio_value_number_to_time_series_length(X):
    return _Distinct(X).unique / X.shape[1]


@simple("percentage_of_reoccurring_values_to_all_values")
def percentage_of_reoccurring_values_to_all_values(X):
    distinct = _Distinct(X)
    return distinct.beats_with(distinct.counts > 1) / distinct.unique.astype(float)


@simple("percentage_of_reoccurring_datapoints_to_all_datapoints")
def percentage_of_reoccurring_datapoints_to_all_datapoints(X):
    distinct = _Distinct(X)
    repeated = np.bincount(distinct.row, weights=np.where(distinct.counts > 1, distinct.counts, 0), minlength=len(X))
    return repeated.astype(np.int64) / X.shape[1]


@simple("sum_of_reoccurring_values")
def sum_of_reoccurring_values(X):
    distinct = _Distinct(X)
    return distinct.per_beat_sum((distinct.counts > 1).astype(np.int64) * distinct.values)


@simple("sum_of_reoccurring_data_points")
def sum_of_reoccurring_data_points(X):
    distinct = _Distinct(X)
    return distinct.per_beat_sum(np.where(distinct.counts < 2, 0, distinct.counts) * distinct.values)


def _linspace(start: np.ndarray, stop: np.ndarray, num: int) -> np.ndarray:
    """np.linspace(start[i], stop[i], num) for each row, as numpy computes it for scalar ends."""
    div = num - 1
    delta = stop - start
    step = delta / div
    y = np.arange(num, dtype=np.float64) * _rows(step) + _rows(start)
    tiny = step == 0  # numpy's branch for a step that underflows to 0
    if tiny.any():
        y[tiny] = np.arange(num, dtype=np.float64) / div * _rows(delta[tiny]) + _rows(start[tiny])
    y[:, -1] = stop
    return y


@simple("binned_entropy")
def binned_entropy(X, max_bins):
    """np.histogram's equal bins (its index arithmetic and edge corrections), then the entropy of their shares."""
    n, length = X.shape
    first, last = X.min(axis=1), X.max(axis=1)
    flat = first == last
    first, last = np.where(flat, first - 0.5, first), np.where(flat, last + 0.5, last)
    edges = _linspace(first, last, max_bins + 1)
    index = (((X - _rows(first)) / _rows(last - first)) * max_bins).astype(np.intp)
    index[index == max_bins] -= 1
    rows = np.arange(n)[:, None]
    index -= X < edges[rows, index]
    index += (X >= edges[rows, index + 1]) & (index != max_bins - 1)
    hist = np.bincount((rows * max_bins + index).ravel(), minlength=n * max_bins).reshape(n, max_bins)
    probs = hist / length
    probs[probs == 0] = 1.0
    return -np.sum(probs * np.log(probs), axis=1)


# -- autocorrelation ----------------------------------------------------------------------------------------------


@combiner("autocorrelation")
def autocorrelation(X, params):
    n = X.shape[1]
    centred, v = X - _rows(X.mean(axis=1)), X.var(axis=1)
    flat = np.isclose(v, 0)

    def at(lag):
        if n < lag:
            return _nan(X)
        sum_product = np.sum(centred[:, : n - lag] * centred[:, lag:], axis=1)
        return np.where(flat, np.nan, sum_product / ((n - lag) * v))

    return {column_name("autocorrelation", p): at(p["lag"]) for p in params}


def _acovf_adjusted(X: np.ndarray, nlags: int, fft: bool = False) -> np.ndarray:
    """statsmodels' acovf(x, adjusted=True, fft=fft) up to lag ``nlags``. Without fft its np.correlate is BLAS
    dots: the sums here are pairwise; with fft, its transforms on every row at once."""
    n = X.shape[1]
    xo = X - _rows(X.mean(axis=1))
    divisor = n - np.arange(nlags + 1)
    if fft:
        from scipy.fftpack import next_fast_len  # the 5-smooth length, statsmodels' _next_regular

        spectrum = np.fft.fft(xo, n=next_fast_len(2 * n + 1), axis=1)
        return np.fft.ifft(spectrum * np.conjugate(spectrum), axis=1)[:, : nlags + 1].real / divisor
    acov = np.empty((len(X), nlags + 1))
    for k in range(nlags + 1):
        acov[:, k] = (xo[:, k:] * xo[:, : n - k]).sum(axis=1) / divisor[k]
    return acov


@combiner("agg_autocorrelation")
def agg_autocorrelation(X, params):
    n = X.shape[1]
    nlags = min(max(p["maxlag"] for p in params), n - 1)
    acov = _acovf_adjusted(X, nlags, fft=n > 1250)  # tsfresh's THRESHOLD_TO_USE_FFT
    acf = (acov / acov[:, :1])[:, 1:]
    flat = (np.abs(X.var(axis=1)) < 10**-10) | (n == 1)  # tsfresh aggregates zeros there, not the acf
    acf[flat] = 0.0
    return {
        column_name("agg_autocorrelation", p): getattr(np, p["f_agg"])(acf[:, : int(p["maxlag"])], axis=1)
        for p in params
    }


def _levinson_durbin_pacf(acov: np.ndarray, order: int) -> np.ndarray:
    """statsmodels' levinson_durbin(acov, nlags=order, isacov=True).pacf for every row at once, step for step
    (its np.dot is BLAS: the sums here are numpy's)."""
    n = len(acov)
    phi = np.zeros((n, order + 1, order + 1))
    sig = np.zeros((n, order + 1))
    phi[:, 1, 1] = acov[:, 1] / acov[:, 0]
    sig[:, 1] = acov[:, 0] - phi[:, 1, 1] * acov[:, 1]
    for k in range(2, order + 1):
        dot = (phi[:, 1:k, k - 1] * acov[:, k - 1 : 0 : -1]).sum(axis=1)
        phi[:, k, k] = (acov[:, k] - dot) / sig[:, k - 1]
        for j in range(1, k):
            phi[:, j, k] = phi[:, j, k - 1] - phi[:, k, k] * phi[:, k - j, k - 1]
        sig[:, k] = sig[:, k - 1] * (1 - phi[:, k, k] ** 2)
    pacf = np.diagonal(phi, axis1=1, axis2=2).copy()
    pacf[:, 0] = 1.0
    return pacf


@combiner("partial_autocorrelation")
def partial_autocorrelation(X, params):
    """statsmodels' pacf(x, method="ld") at the lags asked, NaN beyond the half of the beat it allows."""
    n = X.shape[1]
    demanded = max(p["lag"] for p in params)
    max_lag = n // 2 - 1 if demanded >= n // 2 else demanded
    coeffs = np.full((len(X), demanded + 1), np.nan)
    if n > 1 and max_lag > 0:
        coeffs[:, : max_lag + 1] = _levinson_durbin_pacf(_acovf_adjusted(X, max_lag), max_lag)
    return {column_name("partial_autocorrelation", p): coeffs[:, p["lag"]] for p in params}


# -- spectrum -----------------------------------------------------------------------------------------------------


@combiner("fft_coefficient")
def fft_coefficient(X, params):
    fft = np.fft.rfft(X, axis=1)
    parts = {
        "real": lambda: fft.real,
        "imag": lambda: fft.imag,
        "abs": lambda: np.abs(fft),
        "angle": lambda: np.angle(fft, deg=True),
    }
    computed = {attr: parts[attr]() for attr in {p["attr"] for p in params}}
    return {
        column_name("fft_coefficient", p): computed[p["attr"]][:, p["coeff"]] if p["coeff"] < fft.shape[1] else _nan(X)
        for p in params
    }


@combiner("fft_aggregated")
def fft_aggregated(X, params):
    """The moments of the magnitude spectrum, with tsfresh's formulas (its kurtosis's "- 3 * centroid" included)."""
    y = np.abs(np.fft.rfft(X, axis=1))
    total = y.sum(axis=1)

    def moment(power):
        return (y * np.arange(y.shape[1], dtype=float) ** power).sum(axis=1) / total  # tsfresh: y.dot (BLAS)

    m1, m2, m3, m4 = (moment(power) for power in (1, 2, 3, 4))
    variance = m2 - m1**2
    results = {
        "centroid": m1,
        "variance": variance,
        "skew": np.where(variance < 0.5, np.nan, (m3 - 3 * m1 * variance - m1**3) / variance**1.5),
        "kurtosis": np.where(variance < 0.5, np.nan, (m4 - 4 * m1 * m3 + 6 * m2 * m1**2 - 3 * m1) / variance**2),
    }
    return {column_name("fft_aggregated", p): results[p["aggtype"]] for p in params}


@combiner("spkt_welch_density")
def spkt_welch_density(X, params):
    from scipy.signal import welch

    _, pxx = welch(X, nperseg=min(X.shape[1], 256), axis=1)
    return {
        column_name("spkt_welch_density", p): pxx[:, p["coeff"]] if p["coeff"] < pxx.shape[1] else _nan(X)
        for p in params
    }


# -- regression on the sample index -------------------------------------------------------------------------------


def _linregress(X: np.ndarray) -> dict[str, np.ndarray]:
    """scipy's linregress(range(n), x) for every row: its formulas and special cases (np.cov's dot is BLAS: the
    sums here are numpy's)."""
    from scipy.special import stdtr

    n = X.shape[1]
    t = np.arange(n)
    xmean = np.mean(t)
    ymean = X.mean(axis=1)
    xc, yc = t - xmean, X - _rows(ymean)
    scale = np.true_divide(1, n)  # np.cov(bias=1) multiplies by 1/n
    ssxm, ssxym, ssym = np.dot(xc, xc) * scale, (yc * xc).sum(axis=1) * scale, (yc * yc).sum(axis=1) * scale
    r = np.where((ssxm == 0) | (ssym == 0), np.where(ssxym == 0, np.nan, 0.0), ssxym / np.sqrt(ssxm * ssym))
    r = np.clip(r, -1.0, 1.0)
    slope = ssxym / ssxm
    result = {"rvalue": r, "slope": slope, "intercept": ymean - slope * xmean}
    if n == 2:
        result.update(pvalue=np.where(X[:, 0] == X[:, 1], 1.0, 0.0), stderr=np.zeros(len(X)))
        result["intercept_stderr"] = np.zeros(len(X))
        return result
    df = n - 2
    tiny = 1.0e-20
    statistic = r * np.sqrt(df / ((1.0 - r + tiny) * (1.0 + r + tiny)))
    result["pvalue"] = 2 * stdtr(df, -np.abs(statistic))
    result["stderr"] = np.sqrt((1 - r**2) * ssym / ssxm / df)
    result["intercept_stderr"] = result["stderr"] * np.sqrt(ssxm + xmean**2)
    return result


@combiner("linear_trend")
def linear_trend(X, params):
    regression = _linregress(X)
    return {column_name("linear_trend", p): regression[p["attr"]] for p in params}


@combiner("linear_trend_timewise")
def linear_trend_timewise(X, params):
    """Always NaN: tsfresh computes it only on a datetime index and skips it for the long table's integer sample
    index, so its columns come back missing (NaN) from features.extract_chunk."""
    return {column_name("linear_trend_timewise", p): _nan(X) for p in params}


@combiner("query_similarity_count", accepts=lambda param: np.asarray(param.get("query")).size < 3)
def query_similarity_count(X, params):
    """NaN without a query (tsfresh's default, the only one a column name can carry); tsfresh computes the rest."""
    return {column_name("query_similarity_count", p): _nan(X) for p in params}
