"""The generated leaderboard (python -m ecgbench leaderboard): our runs beside the published anchors."""

import json
from pathlib import Path

import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.leaderboard import load_published

PUBLISHED = Path(__file__).resolve().parent.parent / "benchmarks" / "published.toml"


def fake_run(folder: Path, dataset: str, protocol_text: str, rows: list[dict], split: str = "auto") -> None:
    """A finished run folder as the runner writes it (manifest + results.csv), with made-up scores."""
    folder.mkdir(parents=True)
    manifest = {"run_id": folder.name, "command": f"python -m ecgbench run --run-id {folder.name}",
                "commit": "0" * 40, "dirty": False,
                "suite": {"models": sorted({r["model"] for r in rows}), "split": {"protocol": split}},
                "machine": {"cpu_count": 2, "accelerator": "none (CPU)"},
                "datasets": {dataset: {"synthetic": False, "provenance": {"protocol": protocol_text}}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    table = pd.DataFrame([{"dataset": dataset, "seed": 0, "fit_seconds": 10.0, "peak_memory_mb": 900.0,
                           "f1_N": 0.99, "f1_S": 0.8, "f1_V": 0.9, "f1_F": 0.7, "f1_Q": 0.9, **r} for r in rows])
    table.to_csv(folder / "results.csv", index=False)


def test_the_leaderboard_sets_runs_beside_anchors_and_checks_targets(tmp_path, capsys):
    fake_run(tmp_path / "intra", "mitdb-intra", "intra-patient: random beat split", [
        {"model": "cnn", "accuracy": 0.99, "f1_macro": 0.93, "recall_S": 0.8, "recall_V": 0.95},
        {"model": "lstm", "accuracy": 0.97, "f1_macro": 0.85, "recall_S": 0.7, "recall_V": 0.9},
    ])
    fake_run(tmp_path / "inter", "mitdb-inter", "inter-patient (de Chazal et al. 2004)", [
        {"model": "cnn", "accuracy": 0.95, "f1_macro": 0.6, "recall_S": 0.5, "recall_V": 0.92},
    ])
    out = tmp_path / "README.md"
    code = main(["leaderboard", "intra", "inter", "--results-dir", str(tmp_path), "--published", str(PUBLISHED),
                 "--out", str(out)])
    assert code == 0
    text = out.read_text()
    intra, inter = text.split("## Intra-patient")[1].split("## Inter-patient")
    assert "OPTIMISTIC" in intra.splitlines()[0]
    assert "Kachuee et al. 2018" in intra and "Niu et al. 2020" in inter and "Niu" not in intra
    assert "| cnn | 1 | 0.9900 | 0.9300 |" in intra
    assert "met by cnn" in intra  # the best-model target
    assert "**not met**: lstm (accuracy 0.9700, f1_macro 0.8500)" in intra
    assert "**not met** by any model" in inter  # S sensitivity 0.5 < 0.7
    assert "python -m ecgbench leaderboard intra inter" in text


def test_cross_validation_by_record_gets_its_own_section_without_anchors_or_targets(tmp_path):
    fake_run(tmp_path / "cv", "mitdb-ds1", "the DS1 records alone", [
        {"model": "cnn", "split": f"fold{k}", "accuracy": a, "f1_macro": 0.5, "recall_S": 0.4, "recall_V": 0.9}
        for k, a in enumerate((0.90, 0.94), 1)], split="group-kfold")
    out = tmp_path / "README.md"
    assert main(["leaderboard", "cv", "--results-dir", str(tmp_path), "--published", str(PUBLISHED),
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert "## Inter-patient" not in text and "## Intra-patient" not in text
    section = text.split("## Cross-validation by record")[1]
    assert "| cnn | 1 | 0.9200 ± 0.0283 |" in section  # one seed, two folds
    assert "*published:" not in section and "Targets" not in section


def test_a_missing_run_or_a_bad_anchor_file_is_a_clear_error(tmp_path, capsys):
    assert main(["leaderboard", "nothing-here", "--results-dir", str(tmp_path), "--out", str(tmp_path / "x")]) == 2
    assert "nothing-here" in capsys.readouterr().err
    bad = tmp_path / "published.toml"
    bad.write_text('[[anchor]]\nprotocol = "sideways"\nsource = "x"\n')
    with pytest.raises(Exception, match="anchor #1: protocol"):
        load_published(bad)
