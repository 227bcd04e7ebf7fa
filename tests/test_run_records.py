"""Tests of ecgbench/run/records.py (the typed manifest, cell and failure records) and of the datasets' generic
per-beat columns as the runner and the store handle them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import Dataset
from ecgbench.run.records import (
    SCHEMA_VERSION,
    CellKey,
    CellResult,
    Failure,
    Invocation,
    Manifest,
    SchemaVersionError,
    Stop,
)
from ecgbench.run.runner import subsample
from ecgbench.run.store import RunStore, beats_checksum, predictions_frame
from tests.conftest import committed_run_manifests

RESULTS = Path(__file__).resolve().parent.parent / "results"
MANIFESTS = committed_run_manifests()
CELLS = sorted(cell for m in MANIFESTS for cell in m.parent.glob("cells/*/*/*/seed*/metrics.json"))


def _text(data: dict) -> str:
    return json.dumps(data, indent=2)


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.parent.name)
def test_a_committed_manifest_reads_and_writes_back_unchanged(path):
    data = json.loads(path.read_text())
    manifest = Manifest.from_json(data)
    assert _text(manifest.to_json()) == _text(data)  # same keys, order and values
    assert manifest.datasets and all(info.splits for info in manifest.datasets.values())


@pytest.mark.parametrize("path", CELLS[:: max(1, len(CELLS) // 12)], ids=lambda p: "/".join(p.parts[-6:-1]))
def test_a_committed_cell_reads_and_writes_back_unchanged(path):
    data = json.loads(path.read_text())
    result = CellResult.from_json(data)
    assert _text(result.to_json()) == _text(data)
    assert result.key == CellKey.from_id("/".join(path.parts[-5:-1]))


def test_a_manifest_keeps_the_order_of_its_file_adds_new_keys_after_and_drops_removed_ones():
    data = {"schema_version": SCHEMA_VERSION, "suite": {}, "datasets": {}, "run_id": "r", "later": [1], "status": "x"}
    manifest = Manifest.from_json(data)
    manifest.stopped = Stop("now", reason="disk full")
    assert list(manifest.to_json()) == ["schema_version", "suite", "datasets", "run_id", "later", "status", "stopped"]
    assert manifest.to_json()["later"] == [1]  # a key this ecgbench does not know is kept
    manifest.stopped = None
    assert "stopped" not in manifest.to_json()


def test_a_new_manifest_writes_its_keys_in_the_planning_order_and_round_trips():
    manifest = Manifest(run_id="r", suite={"models": ["rocket"]}, suite_fingerprint="f", started="t0")
    manifest.invocations.append(Invocation("python -m ecgbench run", "t1", "abc", None))
    manifest.status, manifest.dirty = "running", None
    written = manifest.to_json()
    assert list(written)[:6] == ["schema_version", "run_id", "suite", "suite_fingerprint", "started", "datasets"]
    assert written["dirty"] is None and written["invocations"][0]["dirty"] is None  # nullable: written as null
    assert "stopped" not in written["invocations"][0]
    again = Manifest.from_json(json.loads(json.dumps(written)))
    assert again == manifest and _text(again.to_json()) == _text(written)


@pytest.mark.parametrize("record", [Manifest, CellResult])
@pytest.mark.parametrize("version", [None, 1, SCHEMA_VERSION + 1])
def test_a_record_of_another_schema_version_is_refused(record, version):
    data = {"suite": {}, "datasets": {}, "dataset": "d", "split": "s", "model": "m", "seed": 0}
    if version is not None:
        data["schema_version"] = version
    with pytest.raises(SchemaVersionError, match=f"schema version {version or 1}, this ecgbench reads"):
        record.from_json(data)


def test_the_store_names_the_manifest_of_another_schema_and_the_upgrade_command(tmp_path):
    (tmp_path / "manifest.json").write_text(json.dumps({"schema_version": 1, "suite": {}, "datasets": {}}))
    with pytest.raises(EcgbenchError, match=r"manifest.json has schema version 1.*ecgbench upgrade"):
        RunStore(tmp_path).read_manifest()


def test_a_cell_result_without_its_names_is_named_as_damaged():
    with pytest.raises(EcgbenchError, match="lacks model, seed"):
        CellResult.from_json({"schema_version": SCHEMA_VERSION, "dataset": "d", "split": "s", "accuracy": 0.5})


def test_every_failure_has_one_shape(tmp_path):
    key = CellKey("synthetic", "holdout", "rocket", 0)
    written = RunStore(tmp_path).write_failure(key, ValueError("bad input"))
    assert written.to_json() == {"cell": key.id, "error": "ValueError", "message": "bad input"}
    assert "ValueError: bad input" in (RunStore(tmp_path).cell_dir(key) / "error.txt").read_text()
    legacy = Failure.from_json("a schema-1 message")  # upgraded runs: a bare message
    assert legacy.to_json() == {"cell": None, "error": None, "message": "a schema-1 message"}
    for failure in (written, legacy):
        assert Failure.from_json(json.loads(json.dumps(failure.to_json()))) == failure
    with pytest.raises(EcgbenchError, match="lacks message"):
        Failure.from_json({"cell": key.id, "error": "X"})


# ---- per-beat columns ----------------------------------------------------------------------------------------------


def _with_columns(n: int = 400) -> Dataset:
    rng = np.random.default_rng(0)
    return Dataset(
        "d",
        rng.normal(size=(n, 187)),
        rng.integers(0, 3, n),
        ("N", "S", "V"),
        groups=np.repeat(np.arange(n // 40), 40),
        columns={"sample": np.arange(n) * 300, "note": np.array([f"n{i % 7}" for i in range(n)])},
    )


def test_a_subsample_slices_every_per_beat_column_with_the_beats():
    dataset = _with_columns()
    small = subsample(dataset, 100, seed=0)
    kept = small.columns["sample"] // 300  # each beat's original index
    assert 80 < len(small.y) < 120 and set(small.columns) == {"sample", "note"}
    np.testing.assert_array_equal(small.y, dataset.y[kept])
    np.testing.assert_array_equal(small.columns["note"], dataset.columns["note"][kept])
    np.testing.assert_array_equal(small.groups, dataset.groups[kept])


def test_a_column_of_another_length_is_refused():
    with pytest.raises(ValueError, match="column 'note' must hold one value per beat"):
        Dataset("d", np.zeros((3, 187)), [0, 1, 0], ("N", "S"), columns={"note": ["a", "b"]})


def test_the_predictions_keep_each_column_under_its_name_and_text_columns_are_checksummed():
    dataset = _with_columns(40)
    proba = np.full((40, 3), 1 / 3)
    frame = predictions_frame(np.arange(40), dataset.y, proba, dataset.classes, dataset.groups, dataset.columns)
    assert list(frame.columns[:5]) == ["index", "group", "sample", "note", "y_true"]
    np.testing.assert_array_equal(frame["note"], dataset.columns["note"])
    plain = beats_checksum(dataset.groups, {})
    moved = beats_checksum(dataset.groups, {"sample": dataset.columns["sample"] + 1})
    assert moved == plain  # a position is not data the cell is scored by
    noted = beats_checksum(dataset.groups, {"note": dataset.columns["note"]})
    renamed = beats_checksum(dataset.groups, {"note": np.roll(dataset.columns["note"], 1)})
    assert len({plain, noted, renamed}) == 3
    assert beats_checksum(None, {"sample": dataset.columns["sample"]}) is None
