"""Every finished cell keeps its fitted model (``cells/.../seedK/model/``), checksummed in its metrics and verified
on load; nothing is unpickled from a folder unless asked; ``run --no-models`` stores none (docs/using-models.md)."""

import json

import numpy as np
import pytest

from ecgbench.cli import main
from ecgbench.core.errors import EcgbenchError
from ecgbench.models import Model
from ecgbench.models.check import check_data, check_model
from ecgbench.models.saving import load_model
from ecgbench.run.store import CellKey, RunStore, stored_probabilities
from tests import test_model_contract as contract

pytestmark = pytest.mark.slow  # trains and saves every model family

FAST = ["--model", "rocket", "--dataset", "synthetic", "--quick"]


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("results")
    assert main(["run", *FAST, "--run-id", "r", "--results-dir", str(root)]) == 0
    store = RunStore(root / "r")
    key = CellKey.of(store.cells()[0])
    return store, key


def test_a_finished_cell_stores_its_model_and_card_checksummed_in_its_metrics(quick_run):
    store, key = quick_run
    folder = store.model_dir(key)
    metrics = json.loads((store.cell_dir(key) / "metrics.json").read_text())
    assert set(metrics["model_sha256"]) == {"model.json", "weights.npz", "linear.json", "card.json", "card.md"}
    card = json.loads((folder / "card.json").read_text())
    assert card["classes"] == ["N", "S", "V", "F", "Q"] and card["beats"]["length"] == 187
    assert card["beats"]["sampling_rate_hz"] == 125 and card["training"]["synthetic"] is True
    assert card["training"]["fingerprint"] == store.read_manifest().datasets["synthetic"].fingerprint
    assert card["test"]["accuracy"] == metrics["accuracy"]
    low, high = card["test"]["intervals"]["accuracy"]["low"], card["test"]["intervals"]["accuracy"]["high"]
    assert low <= metrics["accuracy"] <= high
    assert {"recall_V", "precision_S"} <= set(card["test"]["intervals"])
    assert card["test"]["intervals"]["recall_V"]["estimate"] == pytest.approx(metrics["per_class"]["V"]["recall"])
    assert "# Model card: `rocket` seed 0" in (folder / "card.md").read_text()


def test_the_stored_model_reproduces_the_stored_predictions(quick_run):
    store, key = quick_run
    metrics = json.loads((store.cell_dir(key) / "metrics.json").read_text())
    model = load_model(store.model_dir(key), checksums=metrics["model_sha256"])
    predictions = store.predictions(key)
    from ecgbench.run.runner import model_input, suite_dataset
    from ecgbench.run.suite import Suite

    # --quick subsamples: the stored index is into the subsample, as the cell saw it
    dataset = suite_dataset(Suite(**store.read_manifest().suite), "synthetic", None)
    X, _ = model_input(dataset, "rocket")
    proba = model.predict_proba(X[predictions["index"].to_numpy()])
    stored = predictions[[c for c in predictions if c.startswith("p_")]].to_numpy()
    assert np.array_equal(stored_probabilities(proba), stored)  # the model's probabilities, rounded as stored


@pytest.mark.parametrize("tamper", ["weights.npz", "model.json", "card.json"])
def test_a_tampered_model_file_is_refused_by_name(quick_run, tmp_path, tamper):
    import shutil

    store, key = quick_run
    metrics = json.loads((store.cell_dir(key) / "metrics.json").read_text())
    copy = tmp_path / "model"
    shutil.copytree(store.model_dir(key), copy)
    with open(copy / tamper, "ab") as fh:
        fh.write(b" ")
    with pytest.raises(EcgbenchError, match=f"{tamper} is not the file saved with the model"):
        load_model(copy, checksums=metrics["model_sha256"])


@pytest.mark.parametrize("tamper", ["weights.npz", "card.json", "added.txt"])
def test_a_cell_whose_model_was_tampered_with_is_not_finished_and_runs_again(quick_run, tmp_path, tamper):
    import shutil

    store, key = quick_run
    copy = RunStore(tmp_path / "r")
    shutil.copytree(store.root, copy.root)
    with open(copy.model_dir(key) / tamper, "ab") as fh:
        fh.write(b" ")
    assert tamper in copy.cell_problem(key) and not copy.cell_finished(key)
    assert key.id not in [CellKey.of(c).id for c in copy.cells()]  # left out of every report
    assert main(["run", *FAST, "--run-id", "r", "--results-dir", str(tmp_path)]) == 0  # the resume recomputes it
    assert copy.cell_problem(key) is None


def test_a_file_added_to_a_model_folder_is_refused(quick_run, tmp_path):
    import shutil

    store, key = quick_run
    metrics = json.loads((store.cell_dir(key) / "metrics.json").read_text())
    copy = tmp_path / "model"
    shutil.copytree(store.model_dir(key), copy)
    (copy / "model.pkl").write_bytes(b"not what was saved")
    with pytest.raises(EcgbenchError, match="model.pkl was not saved with the model"):
        load_model(copy, checksums=metrics["model_sha256"])


def test_no_models_stores_none(tmp_path, capsys):
    assert main(["run", *FAST, "--run-id", "n", "--results-dir", str(tmp_path), "--no-models"]) == 0
    store = RunStore(tmp_path / "n")
    cell = store.cells()[0]
    assert "model_sha256" not in cell and not store.model_dir(CellKey.of(cell)).exists()
    assert store.read_manifest().save_models is False
    assert main(["predict", str(tmp_path / "n" / "rocket"), str(tmp_path / "x.csv"), "--output", str(tmp_path)]) == 2
    assert "stored no model" in capsys.readouterr().err


# -- the contract: save / load, and the models that can only pickle ------------------------------------------
class PickleOnly(contract.Centroid):
    saved_by_pickle = True


class NoSave(contract.Centroid):
    """A plugin written before save/load: neither _save nor saved_by_pickle."""

    _save = Model._save
    _load = Model._load


class ForgetsOnSave(contract.Centroid):
    """Saves its centroids, but its predictions depend on something it does not save."""

    def _fit(self, X, y, X_val, y_val):
        super()._fit(X, y, X_val, y_val)
        self.shift = 0.5

    def _load(self, folder):
        super()._load(folder)
        self.shift = 0.0

    def _predict_proba(self, X):
        return contract.softmax(np.log(super()._predict_proba(X) + 1e-9) + self.shift * np.arange(self.n_classes))


def test_a_pickle_only_model_is_refused_without_allow_pickle_and_passes_its_check(tmp_path):
    with contract.registered(PickleOnly) as name:
        results = {r.name: r for r in check_model(name)}
        assert results["save_load"].passed and "pickling" in results["save_load"].message
        X, y = check_data()
        model = PickleOnly(5).fit(X[:200], y[:200])
        model.save(tmp_path / "m")
        assert (tmp_path / "m" / "model.pkl").is_file()
        with pytest.raises(EcgbenchError, match=r"saved by pickling .*\(--allow-pickle\)"):
            load_model(tmp_path / "m")
        again = load_model(tmp_path / "m", allow_pickle=True)
        assert np.array_equal(again.predict_proba(X[200:]), model.predict_proba(X[200:]))


def test_the_save_load_check_names_what_breaks_it():
    assert set(contract.failures(NoSave)) == {"save_load"}
    assert "implements no _save" in contract.failures(NoSave)["save_load"]
    broken = contract.failures(ForgetsOnSave)
    assert set(broken) == {"save_load"} and "bit for bit" in broken["save_load"]


def test_a_model_that_cannot_save_still_finishes_its_cells(tmp_path, capsys):
    with contract.registered(NoSave) as name:
        assert (
            main(
                [
                    "run",
                    "--model",
                    name,
                    "--dataset",
                    "synthetic",
                    "--quick",
                    "--run-id",
                    "x",
                    "--results-dir",
                    str(tmp_path),
                ]
            )
            == 0
        )
    assert "its model is not stored" in capsys.readouterr().err


def test_loading_what_is_not_a_model_folder_is_one_clear_error(tmp_path):
    with pytest.raises(EcgbenchError, match="no such folder"):
        load_model(tmp_path / "absent")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EcgbenchError, match="model.json is missing"):
        load_model(tmp_path / "empty")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.json").write_text(
        json.dumps({"model": "rocket", "n_classes": 5, "seed": 0, "n_context": 0, "n_columns": 187, "params": {}})
    )
    with pytest.raises(EcgbenchError, match="cannot be loaded"):
        load_model(tmp_path / "bad")


def test_a_model_not_trained_on_wfdb_beats_refuses_a_record_and_takes_a_csv(quick_run, databases, tmp_path, capsys):
    """The synthetic model's card says its beats were not cut from records: predict takes only a CSV of beats."""
    import pandas as pd

    from ecgbench.models.check import check_data

    store, key = quick_run
    root, _ = databases
    model = store.model_dir(key)
    assert main(["predict", str(model), str(root / "alpha" / "100"), "--output", str(tmp_path / "o")]) == 2
    assert "not trained on beats cut from WFDB records" in capsys.readouterr().err
    X, y = check_data()
    csv = tmp_path / "beats.csv"
    pd.DataFrame(np.column_stack([X[:20], y[:20]])).to_csv(csv, header=False, index=False)
    assert main(["predict", str(model), str(csv), "--output", str(tmp_path / "o")]) == 2
    assert "takes 6 context features, which a CSV of beats does not have\n" in capsys.readouterr().err
    with contract.registered(contract.Centroid) as name:  # a model without context, saved without a card
        assert name
        fitted = contract.Centroid(5).fit(X[:200], y[:200])
        fitted.save(tmp_path / "centroid")
        assert main(["predict", str(tmp_path / "centroid"), str(csv), "--output", str(tmp_path / "o")]) == 0
    table = pd.read_parquet(tmp_path / "o" / "beats.predictions.parquet")
    assert len(table) == 20 and list(table["reference"]) == [("NSVFQ")[c] for c in y[:20]]
    proba = fitted.predict_proba(X[:20])
    # the toy's float32 means round by the beats' memory alignment (SIMD pairwise sums): equal to a float32 ulp
    assert np.allclose(table[[f"p_{c}" for c in "NSVFQ"]].to_numpy(), proba, rtol=0, atol=3e-7)


def test_predict_loads_a_pickled_model_only_with_allow_pickle(tmp_path, capsys):
    import pandas as pd

    X, y = check_data()
    csv = tmp_path / "beats.csv"
    pd.DataFrame(np.column_stack([X[:10], y[:10]])).to_csv(csv, header=False, index=False)
    with contract.registered(PickleOnly):
        PickleOnly(5).fit(X[:200], y[:200]).save(tmp_path / "m")
        args = ["predict", str(tmp_path / "m"), str(csv), "--output", str(tmp_path / "o")]
        assert main(args) == 2
        err = capsys.readouterr().err
        assert "saved by pickling" in err and "--allow-pickle" in err and len(err.strip().splitlines()) == 1
        assert not (tmp_path / "o").exists()
        assert main([*args, "--allow-pickle"]) == 0
    assert len(pd.read_csv(tmp_path / "o" / "beats.predictions.csv")) == 10
