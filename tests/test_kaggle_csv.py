"""The Kaggle heartbeat CSV reader (every bad file gets one message naming file, line and problem) and the
``mitbih`` / ``ptbdb`` datasets built on it, tested on small generated files."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import sha256_file
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH, kaggle, load_dataset
from ecgbench.data.kaggle import KaggleFile, read_beats_csv

N_COLUMNS = BEAT_LENGTH + 1
REAL_FILES = {
    "mitbih": ("mitbih_train.csv", "mitbih_test.csv"),
    "ptbdb": ("ptbdb_normal.csv", "ptbdb_abnormal.csv"),
}


# ------------------------------------------------------------------------------------------- helpers


def make_beats(labels, seed=0) -> np.ndarray:
    """Beats with float32-exact values in [0, 1] and the zero padding of the Kaggle files."""
    rng = np.random.default_rng(seed)
    X = rng.random((len(labels), BEAT_LENGTH)).astype(np.float32)
    X[:, 150:] = 0.0
    return X


def write_beats(path: Path, X: np.ndarray, y) -> Path:
    # "%.18e" is the format of the Kaggle files, labels included ("0.000000000000000000e+00").
    table = np.column_stack([X.astype(np.float64), np.asarray(y, dtype=np.float64)])
    np.savetxt(path, table, delimiter=",", fmt="%.18e")
    return path


def write_valid_file(tmp_path: Path, name="mitbih_train.csv", labels=(0, 1, 2, 3, 4)) -> Path:
    return write_beats(tmp_path / name, make_beats(labels), labels)


def set_cell(path: Path, line: int, column: int, text: str) -> None:
    """Replace the cell at 1-based ``line`` and ``column`` with ``text``."""
    lines = path.read_text().splitlines()
    cells = lines[line - 1].split(",")
    cells[column - 1] = text
    lines[line - 1] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")


def edit_line(path: Path, line: int, edit) -> None:
    lines = path.read_text().splitlines()
    lines[line - 1] = edit(lines[line - 1])
    path.write_text("\n".join(lines) + "\n")


def read_error(path: Path, n_classes=5) -> str:
    with pytest.raises(EcgbenchError) as info:
        read_beats_csv(path, n_classes)
    return str(info.value)


@pytest.fixture
def ecgbench_log(caplog):
    caplog.set_level(logging.WARNING, logger="ecgbench")
    return caplog


def warnings_logged(caplog) -> list[str]:
    return [
        r.getMessage() for r in caplog.records if r.name.split(".")[0] == "ecgbench" and r.levelno == logging.WARNING
    ]


# --------------------------------------------------------------------------------------- valid files


def test_valid_file_comes_back_exactly_including_the_first_row(tmp_path):
    labels = np.array([0, 1, 2, 3, 4, 0, 2])
    X = make_beats(labels)
    path = write_beats(tmp_path / "mitbih_train.csv", X, labels)

    X_read, y_read = read_beats_csv(path, n_classes=5)

    assert X_read.dtype == np.float32 and y_read.dtype == np.int64
    assert X_read.shape == (len(labels), BEAT_LENGTH)
    np.testing.assert_array_equal(X_read, X)
    np.testing.assert_array_equal(y_read, labels)
    # Regression: reading with a header row turned the first beat into column names.
    np.testing.assert_array_equal(X_read[0], X[0])


def test_blank_lines_are_skipped_and_later_errors_still_name_the_physical_line(tmp_path):
    path = write_valid_file(tmp_path)
    edit_line(path, 2, lambda line: line + "\n\n")  # lines 3 and 4 blank; old line 3 is now line 5
    X, y = read_beats_csv(path, 5)
    assert len(y) == 5

    set_cell(path, 5, 4, "oops")
    message = read_error(path)
    assert "line 5:" in message and "column 4" in message


# -------------------------------------------------------------------------------------- broken files


def drop_last_cell(line: str) -> str:
    return line.rsplit(",", 1)[0]


BROKEN_CELLS = [
    # (line, column, text, words the message must contain)
    (2, 5, "abc", ["line 2:", "column 5", "'abc'", "not a number"]),
    (3, 10, "nan", ["line 3:", "column 10", "missing"]),
    (3, 10, "NA", ["line 3:", "column 10", "missing"]),
    (2, 7, "", ["line 2:", "column 7", "empty"]),
    (5, 1, "inf", ["line 5:", "column 1", "infinite"]),
    (4, 20, "-Infinity", ["line 4:", "column 20", "infinite"]),
    (4, N_COLUMNS, "5.000000000000000000e+00", ["line 4:", f"column {N_COLUMNS}", "5", "outside 0..4"]),
    (2, N_COLUMNS, "-1", ["line 2:", f"column {N_COLUMNS}", "-1", "outside 0..4"]),
    (3, N_COLUMNS, "1.5", ["line 3:", f"column {N_COLUMNS}", "'1.5'", "not a whole number"]),
    (3, N_COLUMNS, "nan", ["line 3:", f"column {N_COLUMNS}", "missing"]),
]


@pytest.mark.parametrize(("line", "column", "text", "expected"), BROKEN_CELLS)
def test_bad_cell_is_reported_with_file_line_and_column(tmp_path, line, column, text, expected):
    path = write_valid_file(tmp_path)
    set_cell(path, line, column, text)
    message = read_error(path)
    assert message.startswith("mitbih_train.csv line ")
    for word in expected:
        assert word in message, f"{word!r} missing from {message!r}"


@pytest.mark.parametrize(
    ("line", "edit", "found"),
    [
        (3, drop_last_cell, 187),  # pandas pads a short row with NaN
        (4, lambda line: line + ",0.5", 189),  # pandas raises "Expected 188 fields"
        (1, drop_last_cell, 187),  # the first line sets the width pandas expects
        (5, lambda line: line + ",", 189),  # trailing comma
    ],
)
def test_wrong_column_count_names_the_line_and_the_counts(tmp_path, line, edit, found):
    path = write_valid_file(tmp_path)
    edit_line(path, line, edit)
    message = read_error(path)
    assert f"mitbih_train.csv line {line}:" in message
    assert f"{found} columns" in message and "expected 188" in message


def test_header_row_is_reported_as_such(tmp_path):
    path = write_valid_file(tmp_path)
    header = ",".join([f"c{i}" for i in range(BEAT_LENGTH)] + ["label"])
    path.write_text(header + "\n" + path.read_text())
    message = read_error(path)
    assert message.startswith("mitbih_train.csv line 1: column 1 is 'c0', not a number")
    assert "no header row" in message


def test_empty_file(tmp_path):
    path = tmp_path / "mitbih_test.csv"
    path.write_bytes(b"")
    message = read_error(path)
    assert "mitbih_test.csv" in message and "empty" in message


def test_file_of_blank_lines_is_empty(tmp_path):
    path = tmp_path / "mitbih_test.csv"
    path.write_text("\n\n  \n")
    message = read_error(path)
    assert "mitbih_test.csv" in message and "empty" in message


def test_missing_file(tmp_path):
    message = read_error(tmp_path / "mitbih_test.csv")
    assert "mitbih_test.csv not found" in message and str(tmp_path) in message


def test_non_utf8_byte_is_reported_on_its_line(tmp_path):
    path = write_valid_file(tmp_path)
    lines = path.read_bytes().split(b"\n")
    lines[2] = b"\xff" + lines[2]
    path.write_bytes(b"\n".join(lines))
    message = read_error(path)
    assert "mitbih_train.csv line 3: column 1" in message and "not a number" in message


# ------------------------------------------------------------------------------------------- datasets


def write_dataset_file(data_dir: Path, name: str, class_counts, seed=0) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.arange(len(class_counts)), class_counts)
    labels = np.random.default_rng(seed).permutation(labels)
    X = make_beats(labels, seed)
    write_beats(data_dir / name, X, labels)
    return X, labels


TRAIN_COUNTS = (6, 2, 3, 1, 2)
TEST_COUNTS = (3, 1, 1, 1, 1)


@pytest.fixture
def mitbih_dir(tmp_path):
    train = write_dataset_file(tmp_path, "mitbih_train.csv", TRAIN_COUNTS, seed=1)
    test = write_dataset_file(tmp_path, "mitbih_test.csv", TEST_COUNTS, seed=2)
    return tmp_path, train, test


def test_mitbih_concatenates_train_then_test_with_the_predefined_split(mitbih_dir):
    data_dir, (X_train, y_train), (X_test, y_test) = mitbih_dir
    dataset = load_dataset("mitbih", data_dir=data_dir)

    n_train, n_test = len(y_train), len(y_test)
    train_idx, test_idx = dataset.predefined_split
    np.testing.assert_array_equal(train_idx, np.arange(n_train))
    np.testing.assert_array_equal(test_idx, np.arange(n_train, n_train + n_test))
    np.testing.assert_array_equal(dataset.X[train_idx], X_train)
    np.testing.assert_array_equal(dataset.X[test_idx], X_test)
    np.testing.assert_array_equal(dataset.y[test_idx], y_test)

    assert dataset.classes == AAMI_CLASSES
    totals = np.add(TRAIN_COUNTS, TEST_COUNTS).tolist()
    assert dataset.class_counts() == dict(zip(AAMI_CLASSES, totals, strict=True))
    assert dataset.groups is None


def test_mitbih_provenance_names_the_source_and_file_checksums(mitbih_dir):
    data_dir = mitbih_dir[0]
    provenance = load_dataset("mitbih", data_dir=data_dir).provenance
    assert provenance["synthetic"] is False
    assert "Kachuee" in provenance["source"] and "mitdb" in provenance["source"]
    assert provenance["files"] == {
        name: sha256_file(data_dir / name) for name in ("mitbih_train.csv", "mitbih_test.csv")
    }


def test_count_mismatch_is_a_warning_naming_file_expected_and_found(mitbih_dir, ecgbench_log):
    load_dataset("mitbih", data_dir=mitbih_dir[0])
    messages = warnings_logged(ecgbench_log)
    train_warning = next(m for m in messages if "mitbih_train.csv" in m)
    assert "87,554" in train_warning and "found 14" in train_warning and "N 72,471" in train_warning
    assert any("mitbih_test.csv" in m and "21,892" in m for m in messages)


def test_published_counts_give_no_warning(mitbih_dir, ecgbench_log, monkeypatch):
    monkeypatch.setattr(kaggle, "MITBIH_TRAIN", KaggleFile("mitbih_train.csv", TRAIN_COUNTS))
    monkeypatch.setattr(kaggle, "MITBIH_TEST", KaggleFile("mitbih_test.csv", TEST_COUNTS))
    load_dataset("mitbih", data_dir=mitbih_dir[0])
    assert warnings_logged(ecgbench_log) == []


def test_mitbih_rejects_parameters_by_name(mitbih_dir):
    with pytest.raises(EcgbenchError, match="takes no parameters.*window"):
        load_dataset("mitbih", data_dir=mitbih_dir[0], window=3)


def test_mitbih_missing_files_say_where_to_get_them(tmp_path):
    write_dataset_file(tmp_path, "mitbih_train.csv", TRAIN_COUNTS)  # the test file is missing
    with pytest.raises(EcgbenchError) as info:
        load_dataset("mitbih", data_dir=tmp_path)
    message = str(info.value)
    assert "shayanfazeli/heartbeat" in message and "mitbih_test.csv" in message and "--data-dir" in message


def test_mitbih_error_in_a_file_names_that_file(mitbih_dir):
    data_dir = mitbih_dir[0]
    set_cell(data_dir / "mitbih_test.csv", 2, 3, "x")
    with pytest.raises(EcgbenchError, match=r"^mitbih_test\.csv line 2: column 3 is 'x', not a number"):
        load_dataset("mitbih", data_dir=data_dir)


@pytest.fixture
def ptbdb_dir(tmp_path):
    normal = write_dataset_file(tmp_path, "ptbdb_normal.csv", (4, 0), seed=3)
    abnormal = write_dataset_file(tmp_path, "ptbdb_abnormal.csv", (0, 6), seed=4)
    return tmp_path, normal, abnormal


def test_ptbdb_has_two_classes_and_no_predefined_split(ptbdb_dir, ecgbench_log):
    data_dir, (X_normal, _), (X_abnormal, _) = ptbdb_dir
    dataset = load_dataset("ptbdb", data_dir=data_dir)
    assert dataset.classes == ("normal", "MI")
    assert dataset.class_counts() == {"normal": 4, "MI": 6}
    assert dataset.predefined_split is None and dataset.groups is None
    np.testing.assert_array_equal(dataset.X, np.concatenate([X_normal, X_abnormal]))
    assert set(dataset.provenance["files"]) == {"ptbdb_normal.csv", "ptbdb_abnormal.csv"}
    assert "ptbdb" in dataset.provenance["source"]
    assert any("ptbdb_abnormal.csv" in m and "10,506" in m for m in warnings_logged(ecgbench_log))


@pytest.mark.parametrize(("name", "line", "wrong_label"), [("ptbdb_normal.csv", 3, 1), ("ptbdb_abnormal.csv", 5, 0)])
def test_ptbdb_file_with_the_other_label_names_file_and_line(ptbdb_dir, name, line, wrong_label):
    data_dir = ptbdb_dir[0]
    path = data_dir / name
    edit_line(path, 1, lambda text: text + "\n")  # a blank line 2: the message must count physical lines
    set_cell(path, line, N_COLUMNS, f"{wrong_label}.000000000000000000e+00")
    with pytest.raises(EcgbenchError) as info:
        load_dataset("ptbdb", data_dir=data_dir)
    message = str(info.value)
    assert message.startswith(f"{name} line {line}:") and f"is {wrong_label}" in message


def test_ptbdb_label_outside_two_classes(ptbdb_dir):
    data_dir = ptbdb_dir[0]
    set_cell(data_dir / "ptbdb_normal.csv", 2, N_COLUMNS, "2")
    with pytest.raises(EcgbenchError, match=r"^ptbdb_normal\.csv line 2: .*outside 0\.\.1"):
        load_dataset("ptbdb", data_dir=data_dir)


# ------------------------------------------------------------------------------ the real Kaggle files


def real_data_dir_or_skip(dataset: str) -> Path:
    value = os.environ.get("ECGBENCH_DATA")
    if not value:
        pytest.skip("real Kaggle CSVs not found in $ECGBENCH_DATA (the variable is not set)")
    data_dir = Path(value).expanduser()
    missing = [name for name in REAL_FILES[dataset] if not (data_dir / name).is_file()]
    if missing:
        pytest.skip(f"real Kaggle CSVs not found in $ECGBENCH_DATA ({data_dir} lacks {', '.join(missing)})")
    return data_dir


def test_real_mitbih_has_the_published_counts(ecgbench_log):
    dataset = load_dataset("mitbih", data_dir=real_data_dir_or_skip("mitbih"))
    train_idx, test_idx = dataset.predefined_split
    assert (len(train_idx), len(test_idx)) == (87_554, 21_892)
    assert np.bincount(dataset.y[train_idx]).tolist() == [72_471, 2_223, 5_788, 641, 6_431]
    assert np.bincount(dataset.y[test_idx]).tolist() == [18_118, 556, 1_448, 162, 1_608]
    assert dataset.X.shape == (109_446, BEAT_LENGTH)
    assert warnings_logged(ecgbench_log) == []


def test_real_ptbdb_has_the_published_counts(ecgbench_log):
    dataset = load_dataset("ptbdb", data_dir=real_data_dir_or_skip("ptbdb"))
    assert dataset.class_counts() == {"normal": 4_046, "MI": 10_506}
    assert warnings_logged(ecgbench_log) == []


# ------------------------------------------------------------------ kaggle-normal-abnormal: the four files as one


@pytest.fixture
def four_files_dir(tmp_path):
    """SYNTHETIC test files in the Kaggle layout (random beats; the real CSVs are not used here)."""
    files = {
        "mitbih_train.csv": (TRAIN_COUNTS, 1),
        "mitbih_test.csv": (TEST_COUNTS, 2),
        "ptbdb_normal.csv": ((4, 0), 3),
        "ptbdb_abnormal.csv": ((0, 6), 4),
    }
    return tmp_path, {name: write_dataset_file(tmp_path, name, counts, seed) for name, (counts, seed) in files.items()}


def test_normal_abnormal_pools_the_four_files_with_every_non_n_beat_abnormal(four_files_dir):
    data_dir, written = four_files_dir
    dataset = load_dataset("kaggle-normal-abnormal", data_dir=data_dir)
    order = ("mitbih_train.csv", "mitbih_test.csv", "ptbdb_normal.csv", "ptbdb_abnormal.csv")
    np.testing.assert_array_equal(dataset.X, np.concatenate([written[name][0] for name in order]))
    expected = np.concatenate([written[name][1] != 0 for name in order[:2]] + [written[name][1] for name in order[2:]])
    np.testing.assert_array_equal(dataset.y, expected.astype(int))
    assert dataset.classes == ("normal", "abnormal")
    assert dataset.class_counts() == {
        "normal": TRAIN_COUNTS[0] + TEST_COUNTS[0] + 4,
        "abnormal": sum(TRAIN_COUNTS[1:]) + sum(TEST_COUNTS[1:]) + 6,
    }
    assert dataset.predefined_split is None and dataset.groups is None
    assert dataset.provenance["files"] == {name: sha256_file(data_dir / name) for name in order}
    assert dataset.provenance["protocol"].startswith("intra-patient")
    from ecgbench.core.evaluation import Evaluation
    from ecgbench.data import dataset_spec

    assert dataset_spec("kaggle-normal-abnormal").evaluation is Evaluation.INTRA_PATIENT


@pytest.mark.parametrize("missing", ["mitbih_test.csv", "ptbdb_abnormal.csv"])
def test_normal_abnormal_names_a_missing_file(four_files_dir, missing):
    data_dir = four_files_dir[0]
    (data_dir / missing).unlink()
    with pytest.raises(EcgbenchError, match=f"{missing} not found.*shayanfazeli/heartbeat"):
        load_dataset("kaggle-normal-abnormal", data_dir=data_dir)


def test_normal_abnormal_checks_each_file_as_its_own_dataset_does(four_files_dir):
    data_dir = four_files_dir[0]
    set_cell(data_dir / "ptbdb_normal.csv", 3, N_COLUMNS, "1")
    with pytest.raises(EcgbenchError, match=r"^ptbdb_normal\.csv line 3: .* every beat in this file must be 0"):
        load_dataset("kaggle-normal-abnormal", data_dir=data_dir)


def separable_two_class_files(data_dir: Path, n_normal=150, n_abnormal=150) -> None:
    """SYNTHETIC PTB-layout files (not PTB data): normal beats have a bump early, abnormal ones late, with noise;
    every number a test reads from a run on them is about these made-up beats only."""
    rng = np.random.default_rng(7)
    t = np.linspace(0, 1, BEAT_LENGTH)
    for name, n, centre, label in (("ptbdb_normal.csv", n_normal, 0.3, 0), ("ptbdb_abnormal.csv", n_abnormal, 0.45, 1)):
        X = np.clip(0.5 * np.exp(-((t - centre) ** 2) / 0.004) + 0.5 * rng.standard_normal((n, BEAT_LENGTH)), 0, 1)
        write_beats(data_dir / name, X.astype(np.float32), np.full(n, label))


@pytest.mark.slow
def test_a_two_class_run_reports_sensitivity_specificity_and_roc_auc_with_intervals(tmp_path, capsys):
    """On SYNTHETIC Kaggle-layout PTB files: the cells, results.csv and the summary carry the two-class metrics,
    the summary with beat-level intervals (the CSVs have no record ids)."""
    import json

    import pandas as pd

    from ecgbench.cli import main

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    separable_two_class_files(data_dir)
    assert (
        main(
            [
                "run",
                "--model",
                "rocket",
                "--dataset",
                "ptbdb",
                "--quick",
                "--data-dir",
                str(data_dir),
                "--run-id",
                "binary",
                "--results-dir",
                str(tmp_path / "results"),
            ]
        )
        == 0
    )
    run = tmp_path / "results" / "binary"
    metrics = json.loads(next(run.glob("cells/ptbdb/*/rocket/seed0/metrics.json")).read_text())
    per_class = metrics["per_class"]
    assert metrics["sensitivity"] == pytest.approx(per_class["MI"]["recall"])
    assert metrics["specificity"] == pytest.approx(per_class["normal"]["recall"])
    predictions = pd.read_parquet(next(run.glob("cells/ptbdb/*/rocket/seed0/predictions.parquet")))
    from sklearn.metrics import roc_auc_score

    assert metrics["roc_auc"] == pytest.approx(roc_auc_score(predictions["y_true"], predictions["p_MI"]))
    table = pd.read_csv(run / "results.csv")
    assert {"sensitivity", "specificity", "roc_auc"} <= set(table.columns)
    summary = (run / "summary.md").read_text()
    assert "| model | sensitivity | specificity | ROC AUC |" in summary
    assert "Two classes, `MI` the positive one" in summary and "resampling beats" in summary
    row = [line for line in summary.splitlines() if line.startswith("| rocket | 1 | ") and "[" in line][-1]
    auc, low, high = (
        float(v) for v in row.split("|")[-2].replace("[", " ").replace(",", " ").replace("]", " ").split()[:3]
    )
    assert low < auc < high and auc == pytest.approx(metrics["roc_auc"], abs=5e-4)

    # compare pairs the two-class measures too (here the run against itself: every difference exactly 0)
    capsys.readouterr()
    assert main(["compare", "binary", "binary", "--results-dir", str(tmp_path / "results")]) == 0
    rows = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| ptbdb: rocket |")]
    assert [row.split("|")[2].strip() for row in rows] == [
        "accuracy",
        "macro-F1",
        "sensitivity",
        "specificity",
        "ROC AUC",
    ]
    assert all("+0.000 [+0.000, +0.000]" in row for row in rows)

    # the leaderboard shows the task with its two-class measures, beside no five-class anchor or target
    board = tmp_path / "board.md"
    assert main(["leaderboard", "binary", "--results-dir", str(tmp_path / "results"), "--out", str(board)]) == 0
    section = board.read_text().split("### `ptbdb` (run `binary`)")[1]
    assert "| accuracy | macro-F1 | F1 normal | F1 MI | sensitivity | specificity | ROC AUC |" in section
    assert "| | accuracy | macro-F1 | sensitivity | specificity | ROC AUC |" in section
    assert "are not set beside this task" in section and "*published:" not in section and "Targets" not in section


def test_files_that_are_not_the_published_ones_are_said_to_be_so_wherever_their_numbers_appear(tmp_path):
    """SYNTHETIC mitbih-layout test files (14 + 7 beats, not the published 87,554 + 21,892): the dataset's
    provenance, the run's summary and the leaderboard say that these numbers are not those of the Kaggle data, and
    the leaderboard sets no published anchor or target beside them."""
    from ecgbench.cli import main

    data_dir = tmp_path / "data"
    data_dir.mkdir()
    write_dataset_file(data_dir, "mitbih_train.csv", (40, 20, 20, 20, 20), seed=1)
    write_dataset_file(data_dir, "mitbih_test.csv", TEST_COUNTS, seed=2)
    note = load_dataset("mitbih", data_dir=data_dir).provenance["note"]
    assert note.startswith(
        "NOT the published Kaggle files: mitbih_train.csv 120 beats (published 87,554), "
        "mitbih_test.csv 7 beats (published 21,892)"
    )
    results = tmp_path / "results"
    assert (
        main(
            [
                "run",
                "--model",
                "rocket",
                "--dataset",
                "mitbih",
                "--quick",
                "--data-dir",
                str(data_dir),
                "--run-id",
                "subset",
                "--results-dir",
                str(results),
            ]
        )
        == 0
    )
    assert f"> **Data: {note}.**" in (results / "subset" / "summary.md").read_text()
    board = tmp_path / "board.md"
    assert main(["leaderboard", "subset", "--results-dir", str(results), "--out", str(board)]) == 0
    text = board.read_text()
    assert "| mitbih (not the published files) |" in text
    section = text.split("### `mitbih` (run `subset`)")[1]
    assert f"> **Data: {note}.** No published anchor or target is set beside it." in section
    assert "*published:" not in section and "Targets" not in section


def test_the_published_counts_carry_no_note(mitbih_dir, monkeypatch):
    monkeypatch.setattr(kaggle, "MITBIH_TRAIN", KaggleFile("mitbih_train.csv", TRAIN_COUNTS))
    monkeypatch.setattr(kaggle, "MITBIH_TEST", KaggleFile("mitbih_test.csv", TEST_COUNTS))
    assert "note" not in load_dataset("mitbih", data_dir=mitbih_dir[0]).provenance
