"""The generated leaderboard (python -m ecgbench leaderboard): our runs beside the published anchors."""

import json
import shlex
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.core.evaluation import Evaluation
from ecgbench.data import dataset_names, dataset_spec
from ecgbench.reports.leaderboard import SECTION_TITLES, load_published
from ecgbench.run.records import CellResult, Manifest
from ecgbench.run.store import CellKey, RunStore, predictions_frame

CLASSES = ["N", "S", "V", "F", "Q"]
PUBLISHED = Path(__file__).resolve().parent.parent / "benchmarks" / "published.toml"


def fake_predictions(accuracy: float, patients: int = 10, beats: int = 100) -> pd.DataFrame:
    """Beats of ``patients`` records (60 % N, 10 % each of S, V, F, Q), each record with exactly ``accuracy`` of its
    beats right (N beats called S): every resample has the same accuracy, so its interval is [accuracy, accuracy]."""
    per_class = [int(beats * 0.6)] + [beats // 10] * 4
    y_true = np.concatenate([np.repeat(np.arange(5), per_class)] * patients)
    groups = np.repeat([f"r{i}" for i in range(patients)], beats)
    y_pred = y_true.copy()
    wrong = beats - round(accuracy * beats)
    for i in range(patients):
        y_pred[i * beats : i * beats + wrong] = 1
    proba = np.eye(5)[y_pred]
    return predictions_frame(np.arange(len(y_true)), y_true, proba, CLASSES, groups)


def fake_run(
    folder: Path, dataset: str, evaluation: str, rows: list[dict], split: str = "auto", synthetic: bool = False
) -> None:
    """A finished run folder as the runner writes it (manifest, splits, cells with predictions, results.csv), whose
    cells' predictions have the row's accuracy in every record. Every number the leaderboard shows is proven by
    the predictions (RunStore.cells), so the rows give only the model, split and accuracy."""
    from ecgbench.core.metrics import classification_metrics
    from ecgbench.reports.summary import results_table
    from ecgbench.run.store import labels_checksum, split_checksum
    from ecgbench.run.suite import SPLIT_DEFAULTS, Suite

    folder.mkdir(parents=True)
    suite = Suite(
        datasets=[dataset], models=sorted({r["model"] for r in rows}), split={**SPLIT_DEFAULTS, "protocol": split}
    )
    protocol = "predefined" if split == "auto" else split
    first = fake_predictions(rows[0]["accuracy"])
    n = len(first)
    parts = {"train": np.arange(n, n + 10), "val": np.arange(n + 10, n + 15), "test": np.arange(n)}
    names = list(dict.fromkeys(r.get("split", "predefined") for r in rows))
    store = RunStore(folder)
    store.save_splits(dataset, [type("S", (), {"name": name, **parts}) for name in names])
    manifest = {
        "run_id": folder.name,
        "command": f"python -m ecgbench run --run-id {folder.name}",
        "commit": "0" * 40,
        "dirty": False,
        "suite": suite.to_dict(),
        "suite_fingerprint": suite.fingerprint(),
        "machine": {"cpu_count": 2, "accelerator": "none (CPU)"},
        "datasets": {
            dataset: {
                "synthetic": synthetic,
                "evaluation": evaluation,
                "classes": CLASSES,
                "n_beats": n + 15,
                "fingerprint": "f" * 64,
                "cells_carry_checksums": True,
                "splits": {
                    name: {
                        "protocol": protocol,
                        "train": 10,
                        "val": 5,
                        "test": n,
                        "sha256": split_checksum(parts),
                        "test_labels_sha256": labels_checksum(first["y_true"]),
                    }
                    for name in names
                },
            }
        },
    }
    store.write_manifest(Manifest.from_dict(manifest))
    for r in rows:
        key = CellKey(dataset, r.get("split", "predefined"), r["model"], 0)
        predictions = fake_predictions(r["accuracy"])
        metrics = classification_metrics(predictions["y_true"].to_numpy(), predictions["y_pred"].to_numpy(), CLASSES)
        store.write_cell(
            key,
            predictions,
            CellResult.from_dict(
                {
                    **metrics,
                    "dataset": dataset,
                    "split": key.split,
                    "model": r["model"],
                    "seed": 0,
                    "classes": CLASSES,
                    "protocol": protocol,
                    "synthetic": synthetic,
                    "n_train": 10,
                    "n_val": 5,
                    "n_test": n,
                    "fit_seconds": 10.0,
                    "predict_seconds": 1.0,
                    "beats_per_second": float(n),
                    "peak_memory_mb": 900.0,
                    "baseline_f1_macro": None,
                    "commit": "0" * 40,
                    "split_sha256": split_checksum(parts),
                    "data_fingerprint": "f" * 64,
                    "test_labels_sha256": labels_checksum(predictions["y_true"]),
                }
            ),
        )
    cells = store.cells()
    assert len(cells) == len(rows)
    store.write_results(results_table(cells, folder.name), cells)


def test_the_leaderboard_sets_runs_beside_anchors_and_checks_targets(tmp_path, capsys):
    fake_run(
        tmp_path / "intra",
        "mitdb-intra",
        "intra-patient",
        [
            {"model": "cnn", "accuracy": 0.99, "f1_macro": 0.93, "recall_S": 0.8, "recall_V": 0.95},
            {"model": "lstm", "accuracy": 0.97, "f1_macro": 0.85, "recall_S": 0.7, "recall_V": 0.9},
        ],
    )
    fake_run(
        tmp_path / "inter",
        "mitdb-inter",
        "inter-patient",
        [
            {"model": "cnn", "accuracy": 0.95, "f1_macro": 0.6, "recall_S": 0.5, "recall_V": 0.92},
        ],
    )
    out = tmp_path / "README.md"
    code = main(
        [
            "leaderboard",
            "intra",
            "inter",
            "--results-dir",
            str(tmp_path),
            "--published",
            str(PUBLISHED),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    intra, inter = text.split("## Intra-patient")[1].split("## Inter-patient")
    assert "OPTIMISTIC" in intra.splitlines()[0]
    assert "Kachuee et al. 2018" in intra and "Niu et al. 2020" in inter and "Niu" not in intra
    assert "| cnn | 1 | 0.9900 | " in intra  # the accuracy of cnn's predictions
    # intervals from the predictions: cnn's accuracy [0.99, 0.99] lies above 0.988, lstm's [0.97, 0.97] below 0.98
    assert (
        "- the best model at accuracy >= 0.988, f1_macro >= 0.92: **met** (cnn: accuracy 0.990 [0.990, 0.990] "
        "met" in intra
    )
    assert "- every one of cnn, lstm, cnn-bilstm at accuracy >= 0.98, f1_macro >= 0.88: **missed**" in intra
    assert "lstm: accuracy 0.970 [0.970, 0.970] missed" in intra
    assert "- the best model at accuracy >= 0.94, recall_V >= 0.9, recall_S >= 0.7: **met**" in inter
    assert "Niu et al. 2020: accuracy 0.964 vs cnn 0.950 [0.950, 0.950]: **below**" in inter
    assert "python -m ecgbench leaderboard intra inter" in text


def test_cross_validation_by_record_gets_its_own_section_without_anchors_or_targets(tmp_path):
    fake_run(
        tmp_path / "cv",
        "mitdb-ds1",
        "record-cv",
        [
            {"model": "cnn", "split": f"fold{k}", "accuracy": a, "f1_macro": 0.5, "recall_S": 0.4, "recall_V": 0.9}
            for k, a in enumerate((0.90, 0.94), 1)
        ],
        split="group-kfold",
    )
    out = tmp_path / "README.md"
    assert (
        main(["leaderboard", "cv", "--results-dir", str(tmp_path), "--published", str(PUBLISHED), "--out", str(out)])
        == 0
    )
    text = out.read_text()
    assert "## Inter-patient" not in text and "## Intra-patient" not in text
    section = text.split("## Cross-validation by record")[1]
    assert "| cnn | 1 | 0.9200 ± 0.0283 |" in section  # one seed, two folds
    assert "*published:" not in section and "Targets" not in section


def test_a_missing_run_or_a_bad_anchor_file_is_a_clear_error(tmp_path, capsys):
    assert main(["leaderboard", "nothing-here", "--results-dir", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "nothing-here" in capsys.readouterr().err
    bad = tmp_path / "published.toml"
    bad.write_text('[[anchor]]\nevaluation = "sideways"\nsource = "x"\n')
    with pytest.raises(Exception, match="anchor #1: evaluation must be one of intra-patient, inter-patient"):
        load_published(bad)


@pytest.mark.parametrize("name", dataset_names())
def test_every_registered_dataset_maps_to_a_leaderboard_section(name):
    assert Evaluation(dataset_spec(name).evaluation) in SECTION_TITLES
    assert Evaluation.RECORD_CV in SECTION_TITLES  # what any dataset becomes under group-kfold


def test_a_cross_database_run_gets_its_own_section(tmp_path):
    fake_run(
        tmp_path / "cross",
        "wfdb-cross",
        "cross-database",
        [{"model": "cnn", "accuracy": 0.81, "f1_macro": 0.4, "recall_S": 0.2, "recall_V": 0.7}],
    )
    out = tmp_path / "README.md"
    assert (
        main(["leaderboard", "cross", "--results-dir", str(tmp_path), "--published", str(PUBLISHED), "--out", str(out)])
        == 0
    )
    section = out.read_text().split("## Cross-database")[1]
    assert "### `wfdb-cross` (run `cross`)" in section and "| cnn | 1 | 0.8100 | " in section


def test_the_committed_leaderboard_is_what_its_command_makes_of_the_committed_runs(tmp_path, monkeypatch):
    # Catches a hand edit of results/README.md, and a run it names that a fresh clone lacks.
    repo = PUBLISHED.parent.parent
    committed = (repo / "results" / "README.md").read_text(encoding="utf-8")
    command = committed.split("Generated by `", 1)[1].split("`", 1)[0]
    words = shlex.split(command)
    assert words[:4] == ["python", "-m", "ecgbench", "leaderboard"] and words[-2] == "--out"
    for run in words[4:-2]:
        assert (repo / "results" / run / "manifest.json").is_file(), f"results/{run} is not committed"
    monkeypatch.chdir(repo)  # the command names its runs and published.toml relative to the repository
    assert main([*words[3:-1], str(tmp_path / "README.md")]) == 0
    regenerated = (tmp_path / "README.md").read_text(encoding="utf-8")
    assert regenerated.replace(str(tmp_path / "README.md"), "results/README.md") == committed


def test_verdict_words_at_their_edges(tmp_path):
    # cnn: accuracy 0.9 in every record, interval [0.9, 0.9]; lstm 0.8 in every record
    fake_run(
        tmp_path / "inter",
        "mitdb-inter",
        "inter-patient",
        [
            {"model": "cnn", "accuracy": 0.9, "f1_macro": 0.6, "recall_S": 1.0, "recall_V": 1.0},
            {"model": "lstm", "accuracy": 0.8, "f1_macro": 0.5, "recall_S": 1.0, "recall_V": 1.0},
        ],
    )
    published = tmp_path / "published.toml"
    anchors = {
        "below us": "0.89",
        "equal": "0.9",
        "above us": "0.91",
        "range to us": "0.85-0.9",
        "range beyond": "0.905-0.95",
    }
    targets = {"0.89": "met", "0.9": "not resolved", "0.91": "missed"}
    published.write_text(
        "".join(
            f'[[anchor]]\nevaluation = "inter-patient"\nsource = "{s}"\naccuracy = "{v}"\n' for s, v in anchors.items()
        )
        + "".join(
            f'[[target]]\nevaluation = "inter-patient"\nrule = "any"\nmodels = ["cnn"]\naccuracy = {t}\n'
            for t in targets
        )
    )
    out = tmp_path / "README.md"
    assert (
        main(["leaderboard", "inter", "--results-dir", str(tmp_path), "--published", str(published), "--out", str(out)])
        == 0
    )
    text = out.read_text()
    for source, verdict in zip(
        anchors, ["above", "indistinguishable", "below", "indistinguishable", "below"], strict=True
    ):
        assert f"- {source}: accuracy {anchors[source]} vs cnn 0.900 [0.900, 0.900]: **{verdict}**" in text
    for threshold, verdict in targets.items():
        assert (
            f"- the best model at accuracy >= {threshold}: **{verdict}** (cnn: accuracy 0.900 [0.900, 0.900] "
            f"{verdict})" in text
        )
    # lstm is 0.1 below cnn in every record: told apart from the best model on macro-F1
    assert "Best macro-F1: **cnn**" in text and "Holm over 1 comparisons, alpha 0.05): none." in text


def test_the_leaderboard_says_which_runs_it_left_out_and_why(tmp_path, capsys):
    fake_run(
        tmp_path / "sim",
        "synthetic",
        "intra-patient",
        [{"model": "cnn", "accuracy": 0.99, "f1_macro": 0.93, "recall_S": 0.8, "recall_V": 0.95}],
        synthetic=True,
    )
    fake_run(
        tmp_path / "inter",
        "mitdb-inter",
        "inter-patient",
        [{"model": "cnn", "accuracy": 0.95, "f1_macro": 0.6, "recall_S": 0.5, "recall_V": 0.92}],
    )
    # a planned run whose cells never finished: its manifest names a dataset its results.csv does not hold
    fake_run(
        tmp_path / "unfinished",
        "mitdb-intra",
        "intra-patient",
        [{"model": "cnn", "accuracy": 0.97, "f1_macro": 0.9, "recall_S": 0.8, "recall_V": 0.9}],
    )
    manifest = json.loads((tmp_path / "unfinished" / "manifest.json").read_text())
    manifest["datasets"]["mitdb-ds1"] = {"synthetic": False, "evaluation": "record-cv"}
    (tmp_path / "unfinished" / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "README.md"
    assert (
        main(
            [
                "leaderboard",
                "sim",
                "inter",
                "unfinished",
                "--results-dir",
                str(tmp_path),
                "--published",
                str(PUBLISHED),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out.splitlines()
    assert printed[1:] == [
        "left out of the tables: run sim dataset synthetic: SYNTHETIC data (simulated beats: its numbers say "
        "nothing about real ECGs)",
        "left out of the tables: run unfinished dataset mitdb-ds1: no finished cell in its results.csv",
    ]
    text = out.read_text()
    head, tables = text.split("## Intra-patient")
    assert "Left out of the tables below:" in head
    assert "- run [`sim`](sim/summary.md), dataset `synthetic`: SYNTHETIC data" in head
    assert "- run [`unfinished`](unfinished/summary.md), dataset `mitdb-ds1`: no finished cell" in head
    assert "### `synthetic`" not in tables and "### `mitdb-ds1`" not in tables
    assert "### `mitdb-inter` (run `inter`)" in tables and "### `mitdb-intra` (run `unfinished`)" in tables


def test_nothing_left_out_says_nothing(tmp_path, capsys):
    fake_run(
        tmp_path / "inter",
        "mitdb-inter",
        "inter-patient",
        [{"model": "cnn", "accuracy": 0.95, "f1_macro": 0.6, "recall_S": 0.5, "recall_V": 0.92}],
    )
    out = tmp_path / "README.md"
    assert main(["leaderboard", "inter", "--results-dir", str(tmp_path), "--out", str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [f"written: {out}"]
    assert "Left out" not in out.read_text()


def test_a_cell_scored_on_other_beats_than_its_split_is_left_out_not_compared(tmp_path, capsys):
    # Every cell of one split is scored on the split's test beats (RunStore proves it), so a cell whose predictions
    # hold other beats is damaged: left out of the leaderboard by name, never set beside the best model.
    fake_run(
        tmp_path / "inter",
        "mitdb-inter",
        "inter-patient",
        [
            {"model": "cnn", "accuracy": 0.9, "f1_macro": 0.6, "recall_S": 1.0, "recall_V": 1.0},
            {"model": "lstm", "accuracy": 0.8, "f1_macro": 0.5, "recall_S": 1.0, "recall_V": 1.0},
        ],
    )
    store = RunStore(tmp_path / "inter")
    key = CellKey("mitdb-inter", "predefined", "lstm", 0)
    store.write_cell(
        key,
        fake_predictions(0.8, patients=8),
        CellResult(dataset="mitdb-inter", split="predefined", model="lstm", seed=0, classes=CLASSES),
    )
    out = tmp_path / "README.md"
    assert main(["leaderboard", "inter", "--results-dir", str(tmp_path), "--out", str(out)]) == 0
    text = out.read_text()
    assert "| cnn | 1 |" in text and "| lstm |" not in text
    assert "mitdb-inter/predefined/lstm/seed0" in capsys.readouterr().err
