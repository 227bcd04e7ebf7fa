"""The run store: one owner of the run folder, finished cells proven by their checksums, older runs upgraded."""

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.registry import Registry
from ecgbench.run.records import CellResult
from ecgbench.run.store import (
    PROBABILITY_STEPS,
    SCHEMA_VERSION,
    CellKey,
    RunStore,
    predictions_frame,
    read_predictions,
)
from tests.conftest import committed_run_manifests

REPO = Path(__file__).resolve().parent.parent
FAST = ["--model", "minirocket", "--model", "rocket", "--dataset", "synthetic", "--quick"]


def toy_cell(store: RunStore, key: CellKey, n=40, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    proba = rng.dirichlet(np.ones(5), n)
    frame = predictions_frame(np.arange(n) * 3, rng.integers(0, 5, n), proba, tuple("NSVFQ"), np.repeat([7, 9], n // 2))
    store.write_cell(key, frame, CellResult(**key.__dict__, accuracy=0.5))
    return frame


def test_cell_ids_round_trip_and_bad_ones_are_named():
    key = CellKey("mitdb-inter", "predefined", "cnn-bilstm", 2)
    assert CellKey.from_id(key.id) == key
    with pytest.raises(EcgbenchError, match="cell id 'cnn/seed0' is not of the form DATASET/SPLIT/MODEL/seedK"):
        CellKey.from_id("cnn/seed0")


def test_predictions_are_typed_and_compressed_and_read_back_in_one_line(tmp_path):
    store = RunStore(tmp_path)
    key = CellKey("d", "holdout", "m", 0)
    frame = toy_cell(store, key)
    back = pd.read_parquet(store.cell_dir(key) / "predictions.parquet")  # one line, plain pandas
    assert back["p_N"].dtype == np.uint16 and back["y_true"].dtype == np.int16
    assert np.array_equal(back["index"], frame["index"]) and np.array_equal(back["group"], frame["group"])
    proba = back.filter(like="p_").to_numpy() / PROBABILITY_STEPS  # the documented division
    assert np.abs(proba - frame.filter(like="p_").to_numpy()).max() <= 0.5 / PROBABILITY_STEPS
    assert (back["y_pred"] == proba.argmax(1)).all()
    assert np.array_equal(read_predictions(store.cell_dir(key) / "predictions.parquet").filter(like="p_"), proba)
    metrics = json.loads((store.cell_dir(key) / "metrics.json").read_text())
    assert metrics["schema_version"] == SCHEMA_VERSION and len(metrics["predictions_sha256"]) == 64


def test_a_cell_whose_predictions_changed_after_it_finished_is_not_finished(tmp_path):
    store = RunStore(tmp_path)
    key = CellKey("d", "holdout", "m", 0)
    toy_cell(store, key)
    assert store.cell_finished(key)
    path = store.cell_dir(key) / "predictions.parquet"
    path.write_bytes(path.read_bytes()[:-100])  # truncated
    assert not store.cell_finished(key)
    path.unlink()
    assert not store.cell_finished(key)


def test_damaged_store_files_are_named(tmp_path):
    store = RunStore(tmp_path)
    store.manifest_path.write_text("{not json")
    with pytest.raises(EcgbenchError, match=r"manifest.json is damaged \(not valid JSON"):
        store.read_manifest()
    store.results_path.write_text("dataset,model\nx,y\n")
    with pytest.raises(EcgbenchError, match="results.csv is damaged or from an older ecgbench: it lacks column"):
        store.read_results()


def test_the_registry_refuses_a_duplicate_name_and_names_the_known_ones():
    registry = Registry("widget")
    registry.register("a", 1)
    with pytest.raises(EcgbenchError, match="widget 'a' is registered twice"):
        registry.register("a", 2)
    with pytest.raises(EcgbenchError, match="unknown widget 'b'; known widgets: a"):
        registry.get("b")


@pytest.mark.slow
def test_a_run_of_an_older_schema_is_refused_until_upgraded(tmp_path, capsys):
    assert main(["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]) == 0
    manifest = json.loads((tmp_path / "r" / "manifest.json").read_text())
    (tmp_path / "r" / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 1}))
    capsys.readouterr()
    assert main(["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]) == 2
    assert (
        f"has schema version 1, this ecgbench reads {SCHEMA_VERSION}; convert the run with `python -m ecgbench upgrade"
        in capsys.readouterr().err
    )


COMMITTED_RUNS = [path.parent.name for path in committed_run_manifests()]


@pytest.mark.slow
@pytest.mark.parametrize("run", COMMITTED_RUNS)
def test_committed_runs_are_current_and_their_reports_regenerate_identically(run, tmp_path):
    """Every committed run's report is what the code makes of its cells, byte for byte (the figures aside: PNG
    encoders are not byte-stable across library versions)."""
    copy = tmp_path / run
    shutil.copytree(REPO / "results" / run, copy)
    assert main(["upgrade", str(copy)]) == 0  # already current: only the report is rebuilt
    for name in ("summary.md", "results.csv", "metrics.json"):
        assert (copy / name).read_bytes() == (REPO / "results" / run / name).read_bytes(), name
    cells = RunStore(copy).cells()
    assert cells and all(c["schema_version"] == SCHEMA_VERSION for c in cells)


@pytest.mark.slow
@pytest.mark.parametrize("damage", ["garbage metrics", "truncated predictions", "deleted predictions"])
def test_a_damaged_finished_cell_is_named_and_computed_again_never_reused(damage, tmp_path, capsys):
    args = ["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]
    assert main(args) == 0
    run = tmp_path / "r"
    before = pd.read_csv(run / "results.csv")
    folder = run / "cells" / "synthetic" / "holdout" / "rocket" / "seed0"
    if damage == "garbage metrics":
        (folder / "metrics.json").write_text("{\x00 garbage")
    elif damage == "truncated predictions":
        path = folder / "predictions.parquet"
        path.write_bytes(path.read_bytes()[:200])
    else:
        (folder / "predictions.parquet").unlink()
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "cell synthetic/holdout/rocket/seed0: " in err and "it is computed again" in err
    assert "rocket on synthetic/holdout seed 0: training" in err
    assert "minirocket on synthetic/holdout seed 0: finished earlier, kept" in err
    after = pd.read_csv(run / "results.csv")
    scores = ["model", "accuracy", "f1_macro"]
    pd.testing.assert_frame_equal(before[scores], after[scores])


@pytest.mark.slow
def test_a_cell_that_fails_when_recomputed_leaves_no_old_result_behind(tmp_path, monkeypatch):
    from ecgbench.models.rocket import RocketModel

    args = ["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]
    assert main(args) == 0
    folder = tmp_path / "r" / "cells" / "synthetic" / "holdout" / "rocket" / "seed0"
    (folder / "predictions.parquet").write_bytes(b"damaged")

    def explode(self, *args):
        raise RuntimeError("boom")

    monkeypatch.setattr(RocketModel, "_fit", explode)
    assert main(args) == 1
    assert not (folder / "metrics.json").exists() and "boom" in (folder / "error.txt").read_text()
    assert list(pd.read_csv(tmp_path / "r" / "results.csv")["model"]) == ["minirocket"]
