"""The generated leaderboard (python -m ecgbench leaderboard): our runs beside the published anchors."""

import json
import shlex
from pathlib import Path

import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.data import dataset_names, dataset_spec
from ecgbench.evaluation import Evaluation
from ecgbench.leaderboard import SECTION_TITLES, load_published
from ecgbench.store import SCHEMA_VERSION

PUBLISHED = Path(__file__).resolve().parent.parent / "benchmarks" / "published.toml"


def fake_run(folder: Path, dataset: str, evaluation: str, rows: list[dict], split: str = "auto") -> None:
    """A finished run folder as the runner writes it (manifest + results.csv), with made-up scores."""
    folder.mkdir(parents=True)
    manifest = {"schema_version": SCHEMA_VERSION, "run_id": folder.name,
                "command": f"python -m ecgbench run --run-id {folder.name}", "commit": "0" * 40, "dirty": False,
                "suite": {"models": sorted({r["model"] for r in rows}), "split": {"protocol": split}},
                "machine": {"cpu_count": 2, "accelerator": "none (CPU)"},
                "datasets": {dataset: {"synthetic": False, "evaluation": evaluation}}}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    table = pd.DataFrame([{"dataset": dataset, "split": "predefined", "seed": 0, "fit_seconds": 10.0,
                           "peak_memory_mb": 900.0, "f1_N": 0.99, "f1_S": 0.8, "f1_V": 0.9, "f1_F": 0.7, "f1_Q": 0.9,
                           "schema_version": SCHEMA_VERSION, **r} for r in rows])
    table.to_csv(folder / "results.csv", index=False)


def test_the_leaderboard_sets_runs_beside_anchors_and_checks_targets(tmp_path, capsys):
    fake_run(tmp_path / "intra", "mitdb-intra", "intra-patient", [
        {"model": "cnn", "accuracy": 0.99, "f1_macro": 0.93, "recall_S": 0.8, "recall_V": 0.95},
        {"model": "lstm", "accuracy": 0.97, "f1_macro": 0.85, "recall_S": 0.7, "recall_V": 0.9},
    ])
    fake_run(tmp_path / "inter", "mitdb-inter", "inter-patient", [
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
    fake_run(tmp_path / "cv", "mitdb-ds1", "record-cv", [
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
    bad.write_text('[[anchor]]\nevaluation = "sideways"\nsource = "x"\n')
    with pytest.raises(Exception, match="anchor #1: evaluation must be one of intra-patient, inter-patient"):
        load_published(bad)


@pytest.mark.parametrize("name", dataset_names())
def test_every_registered_dataset_maps_to_a_leaderboard_section(name):
    assert Evaluation(dataset_spec(name).evaluation) in SECTION_TITLES
    assert Evaluation.RECORD_CV in SECTION_TITLES  # what any dataset becomes under group-kfold


def test_a_cross_database_run_gets_its_own_section(tmp_path):
    fake_run(tmp_path / "cross", "wfdb-cross", "cross-database", [
        {"model": "cnn", "accuracy": 0.81, "f1_macro": 0.4, "recall_S": 0.2, "recall_V": 0.7}])
    out = tmp_path / "README.md"
    assert main(["leaderboard", "cross", "--results-dir", str(tmp_path), "--published", str(PUBLISHED),
                 "--out", str(out)]) == 0
    section = out.read_text().split("## Cross-database")[1]
    assert "### `wfdb-cross` (run `cross`)" in section and "| cnn | 1 | 0.8100 | 0.4000 |" in section


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
