"""Tests of ecgbench/data/wfdb_dataset.py on small WFDB databases written by the tests (see tests/conftest.py's
``databases``): beats at 125 Hz with their labels and groups, the context columns, the cache, bad parameters."""

from __future__ import annotations

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import BEAT_LENGTH
from ecgbench.data import wfdb_dataset as wd
from ecgbench.data.context import MORPHOLOGY_FEATURES, PRE_R_FEATURES, QRS_FEATURES
from ecgbench.data.rr import RR_FEATURES
from tests.conftest import beat_labels


@pytest.mark.parametrize("database", ["alpha", "beta"])
def test_beats_come_out_at_125_hz_with_their_labels_and_groups(databases, database):
    root, truth = databases
    dataset = wd.load_wfdb_database(root / database)
    records = [r for db, r in truth if db == database]
    expected = [label for r in records for label in beat_labels(truth[database, r])]
    assert dataset.X.shape == (len(expected), BEAT_LENGTH) and dataset.y.tolist() == expected
    # Every beat starts at its R peak, the top of its spike: positions map correctly to 125 Hz, and in beta
    # the ECG is read from lead II, not from the first (noise-only) lead. The annotation is rounded to the
    # source rate, then to 125 Hz, so a peak may lie up to ~0.75 sample after the beat's first sample.
    peak_at = dataset.X[:, :6].argmax(1)
    assert set(peak_at) <= {0, 1} and np.mean(peak_at == 0) > 0.75
    # A beat spans 1.2 x ~0.8 s at 125 Hz, then zeros (last beats are cut at the record end).
    lengths = (dataset.X != 0).sum(1)
    assert np.median(lengths) == pytest.approx(1.2 * 0.8 * 125, abs=8)
    assert not dataset.X[:, 140:].any()
    groups = [100, 101] if database == "alpha" else [0, 1]  # record numbers where the names are numbers
    sizes = [len(truth[database, r]) for r in records]
    assert dataset.groups.tolist() == np.repeat(groups, sizes).tolist()


def test_context_groups_become_columns_computed_per_record(databases):
    root, _ = databases
    default = wd.load_wfdb_database(root / "alpha")
    assert default.context_names == RR_FEATURES
    every = wd.load_wfdb_database(root / "alpha", context=["rr", "morphology", "pre_r", "qrs"])
    assert every.context_names == RR_FEATURES + MORPHOLOGY_FEATURES + PRE_R_FEATURES + QRS_FEATURES
    assert every.context.shape == (len(every.y), 31) and np.isfinite(every.context).all()
    np.testing.assert_array_equal(every.context[:, :6], default.context)
    assert every.provenance["params"]["context"] == ["rr", "morphology", "pre_r", "qrs"]
    # A record's context comes from that record alone: loading it without the other changes nothing.
    alone = wd.load_wfdb_database(root / "alpha", ["101"], context=["rr", "morphology", "pre_r", "qrs"])
    np.testing.assert_array_equal(every.context[every.groups == 101], alone.context)
    assert wd.load_wfdb_database(root / "alpha", context=[]).context is None


def test_an_unknown_context_group_is_refused_by_name(databases):
    root, _ = databases
    with pytest.raises(EcgbenchError, match="dataset option context: unknown group.*'qrs_width'.*known groups"):
        wd.load_wfdb_database(root / "alpha", context=["rr", "qrs_width"])


def test_a_damaged_cache_entry_is_rebuilt(databases, tmp_cache, rebuilds, log_lines):
    root, _ = databases
    first = wd.load_wfdb_database(root / "alpha", ["100"])
    (entry,) = (tmp_cache / "beats").glob("alpha_100_*.npz")
    entry.write_bytes(entry.read_bytes()[:100])  # truncated
    again = wd.load_wfdb_database(root / "alpha", ["100"])
    assert rebuilds == ["100", "100"]
    np.testing.assert_array_equal(again.X, first.X)
    assert any("ignoring unreadable cache file" in line for line in log_lines)


@pytest.mark.parametrize("params", [{"rr_factor": 0}, {"window_s": -1.0}, {"window_s": float("nan")}])
def test_bad_extraction_parameters_are_refused(databases, params):
    root, _ = databases
    with pytest.raises(EcgbenchError, match="must be positive"):
        wd.load_wfdb_database(root / "alpha", **params)
