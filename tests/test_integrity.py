"""Issue 24, trust: every stored number proven by what is stored, and the store's stuck states. One row per category:

- a cell is tied to its split and data: an edited splits file is refused by name, never scored; a cell scored on
  another split, other data or other labels is not finished (named, left out, computed again);
- every number is recomputed from the predictions: any edited score of metrics.json, predictions swapped in with
  their new checksum, a cell folder outside the plan;
- the manifest's suite is verified against its fingerprint by every command that reads it for use;
- locks of every shape (empty, garbage, not a lock, a reused process id), SIGTERM to run-cell, an upgrade stopped
  midway;
- outputs that would replace an input, a run folder's file, a data file, or an existing file without --overwrite;
- finish --partial.

Each row asserts the exit code, the message's words, no traceback, and that no stored result changed."""

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.core.errors import EcgbenchError
from ecgbench.run.store import RunStore, read_predictions, stored_probabilities, write_npz, write_predictions
from tests.conftest import write_plugin
from tests.test_run_failures import SLEEPY

pytestmark = pytest.mark.slow  # every test starts from a trained run and runs the command line on it again

REPO = Path(__file__).resolve().parents[1]
FAST = ["--model", "minirocket", "--model", "rocket", "--dataset", "synthetic", "--quick", "--threads", "1"]
ROCKET = "cells/synthetic/holdout/rocket/seed0"


@pytest.fixture(scope="module")
def base_run(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("integrity")
    assert main(["run", *FAST, "--run-id", "base", "--results-dir", str(root)]) == 0
    return root / "base"


@pytest.fixture
def run(base_run, tmp_path) -> Path:
    copy = tmp_path / "results" / "base"
    shutil.copytree(base_run, copy)
    return copy


def cli(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out, err
    if code == 2:
        assert len([line for line in err.splitlines() if line.startswith("error: ")]) == 1, err
    return code, out, err


def resume(capsys, run: Path):
    return cli(capsys, "run", *FAST, "--run-id", run.name, "--results-dir", run.parent)


def digests(run: Path) -> dict[str, str]:
    return {
        str(p.relative_to(run)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(run.glob("cells/**/*"))
        if p.is_file() and p.name != "log.txt"
    }


def reported_models(run: Path) -> list[str]:
    return sorted(pd.read_csv(run / "results.csv")["model"])


# ---- 1. a cell is tied to the split and data it used ---------------------------------------------------------------


def _edit_split(run: Path, edit) -> None:
    path = run / "splits" / "synthetic.npz"
    with np.load(path) as saved:
        arrays = dict(saved)
    edit(arrays)
    write_npz(path, arrays)


def _test_points_at_training(arrays):  # the leak of the issue: test indices that are training beats
    arrays["holdout_test"] = arrays["holdout_train"][: len(arrays["holdout_test"])].copy()


def _test_swapped_with_val(arrays):  # disjoint still, but not the planned split
    arrays["holdout_test"], arrays["holdout_val"] = arrays["holdout_val"], arrays["holdout_test"]


def _train_overlaps_test(arrays):
    arrays["holdout_train"] = np.concatenate([arrays["holdout_train"], arrays["holdout_test"][:3]])


def _beat_twice(arrays):
    arrays["holdout_test"] = np.concatenate([arrays["holdout_test"], arrays["holdout_test"][:1]])


def _outside_the_dataset(arrays):
    arrays["holdout_test"] = arrays["holdout_test"] + 10_000_000


SPLIT_EDITS = [
    ("test-points-at-training-beats", _test_points_at_training, "in both train and test"),
    ("disjoint-but-not-the-planned-split", _test_swapped_with_val, "not the one this run was planned with"),
    ("train-overlaps-test", _train_overlaps_test, "in both train and test"),
    ("a-beat-twice", _beat_twice, "lists a beat twice"),
    ("indices-outside-the-dataset", _outside_the_dataset, "indices outside the dataset"),
]


@pytest.mark.parametrize("command", ["finish", "run-cell", "compare", "cells"])
@pytest.mark.parametrize("edit_id, edit, words", SPLIT_EDITS, ids=[e[0] for e in SPLIT_EDITS])
def test_an_edited_splits_file_is_refused_by_name_and_never_scored(edit_id, edit, words, command, run, capsys):
    (run / ROCKET / "metrics.json").unlink()  # a cell left to score on the edited split
    _edit_split(run, edit)
    before, table = digests(run), (run / "results.csv").read_text()
    argv = {
        "finish": ["finish", run],
        "run-cell": ["run-cell", run, "synthetic/holdout/rocket/seed0"],
        "compare": ["compare", run, run],
        "cells": ["cells", run],
    }[command]
    code, _, err = cli(capsys, *argv)
    assert code == 2 and "splits/synthetic.npz: split 'holdout'" in err and words in err, err
    assert digests(run) == before and (run / "results.csv").read_text() == table
    assert not (run / ROCKET / "metrics.json").exists()


def test_a_resumed_run_rewrites_an_edited_split_and_scores_on_the_planned_one(run, capsys):
    (run / ROCKET / "metrics.json").unlink()
    _edit_split(run, _test_swapped_with_val)
    code, _, err = resume(capsys, run)
    assert code == 0, err
    store = RunStore(run)
    assert len(store.cells()) == 2  # both proven against the split rewritten from the data and the suite


def _forge(run: Path, cell: str, predictions=None, **fields):
    """Rewrite a cell as a forger who knows the format would: new predictions and/or metrics fields, with the
    predictions' checksum recomputed so that the old checksum test passes."""
    folder = run / cell
    metrics = json.loads((folder / "metrics.json").read_text())
    if predictions is not None:
        write_predictions(folder / "predictions.parquet", predictions)
    metrics.update(fields)
    metrics["predictions_sha256"] = hashlib.sha256((folder / "predictions.parquet").read_bytes()).hexdigest()
    (folder / "metrics.json").write_text(json.dumps(metrics))


def _predictions(run: Path, cell: str = ROCKET) -> pd.DataFrame:
    return read_predictions(run / cell / "predictions.parquet")


def _other_test_beats(run):  # scored on another split: another test part (its labels carried along)
    frame = _predictions(run)
    frame["index"] = frame["index"] + 1
    _forge(run, ROCKET, frame)


def _other_order(run):
    _forge(run, ROCKET, _predictions(run).iloc[::-1].reset_index(drop=True))


def _other_labels(run):  # y_true changed, the metrics recomputed to match: the labels are not the data's
    from ecgbench.core.metrics import classification_metrics

    frame = _predictions(run)
    frame["y_true"] = frame["y_pred"]
    metrics = json.loads((run / ROCKET / "metrics.json").read_text())
    _forge(
        run,
        ROCKET,
        frame,
        **classification_metrics(frame["y_true"].to_numpy(), frame["y_pred"].to_numpy(), tuple(metrics["classes"])),
    )


def _field(name, value):
    return lambda run: _forge(run, ROCKET, **{name: value})


def _field_removed(name):
    def act(run):
        metrics = json.loads((run / ROCKET / "metrics.json").read_text())
        del metrics[name]
        (run / ROCKET / "metrics.json").write_text(json.dumps(metrics))

    return act


def _flip_predictions(run):  # predictions swapped in with their new checksum, probabilities to match
    frame = _predictions(run)
    proba = frame.filter(like="p_").to_numpy()
    frame[frame.filter(like="p_").columns] = proba[:, ::-1]
    frame["y_pred"] = proba[:, ::-1].argmax(1)
    _forge(run, ROCKET, frame)


def _y_pred_not_argmax(run):
    frame = _predictions(run)
    frame["y_pred"] = (frame["y_pred"] + 1) % frame.filter(like="p_").shape[1]
    _forge(run, ROCKET, frame)


def _another_cells_predictions(run):  # minirocket's predictions copied into rocket's cell, checksum and all
    shutil.copy(run / "cells/synthetic/holdout/minirocket/seed0/predictions.parquet", run / ROCKET)
    _forge(run, ROCKET)


def _scaled(name, factor):
    def act(run):
        metrics = json.loads((run / ROCKET / "metrics.json").read_text())
        _forge(run, ROCKET, **{name: metrics[name] * factor})

    return act


def _per_class(run):
    metrics = json.loads((run / ROCKET / "metrics.json").read_text())
    metrics["per_class"]["N"]["recall"] = 1.0
    _forge(run, ROCKET, per_class=metrics["per_class"])


def _confusion(run):
    metrics = json.loads((run / ROCKET / "metrics.json").read_text())
    metrics["confusion"][0][0] += 1
    _forge(run, ROCKET, confusion=metrics["confusion"])


def _folder_of_another_cell(run):
    shutil.rmtree(run / ROCKET)
    shutil.copytree(run / "cells/synthetic/holdout/minirocket/seed0", run / ROCKET)


def _other_records(run):  # record ids choose the bootstrap's unit: one patient's beats moved to another
    frame = _predictions(run)
    group = frame["group"].to_numpy().copy() if "group" in frame else np.zeros(len(frame), dtype=np.int64)
    group[: len(group) // 2] = group[-1]
    frame["group"] = group
    _forge(run, ROCKET, frame)


def _probabilities_doubled(run):  # the argmax and every score unchanged, but not probabilities any more
    frame = _predictions(run)
    columns = frame.filter(like="p_").columns
    frame[columns] = frame[columns] * 2
    _forge(run, ROCKET, frame)


CELL_FORGERIES = [
    ("other-record-ids", _other_records, "record ids or conditions"),
    ("probabilities-doubled", _probabilities_doubled, "not probabilities"),
    ("other-test-beats", _other_test_beats, "not of the split's test beats"),
    ("other-order", _other_order, "not of the split's test beats"),
    ("other-labels", _other_labels, "test labels"),
    ("split-checksum-edited", _field("split_sha256", "0" * 64), "other split"),
    ("data-fingerprint-edited", _field("data_fingerprint", "0" * 64), "other data"),
    ("split-checksum-removed", _field_removed("split_sha256"), "other split"),
    ("accuracy-edited", _field("accuracy", 0.999), "accuracy"),
    ("macro-f1-scaled", _scaled("f1_macro", 1.01), "f1_macro"),
    ("balanced-accuracy-edited", _field("balanced_accuracy", 1.0), "balanced_accuracy"),
    ("weighted-f1-edited", _field("f1_weighted", 0.5), "f1_weighted"),
    ("per-class-recall-edited", _per_class, "per_class"),
    ("confusion-edited", _confusion, "confusion"),
    ("n-test-edited", _field("n_test", 5), "n_test"),
    ("accuracy-removed", _field_removed("accuracy"), "accuracy"),
    ("predictions-swapped-with-their-checksum", _flip_predictions, "not what its predictions give"),
    ("y-pred-not-the-argmax", _y_pred_not_argmax, "argmax"),
    ("another-cells-predictions", _another_cells_predictions, "not what its predictions give"),
    ("the-folder-of-another-cell", _folder_of_another_cell, "describes cell synthetic/holdout/minirocket/seed0"),
    ("classes-edited", _field("classes", ["N", "S", "V", "F", "X"]), "classes"),
    ("protocol-edited", _field("protocol", "kfold"), "protocol"),
]


@pytest.mark.parametrize("forgery_id, forge, words", CELL_FORGERIES, ids=[f[0] for f in CELL_FORGERIES])
def test_a_cell_whose_numbers_its_predictions_do_not_prove_is_named_left_out_and_computed_again(
    forgery_id, forge, words, run, capsys
):
    forge(run)
    minirocket = (run / "cells/synthetic/holdout/minirocket/seed0/metrics.json").read_bytes()
    # the report: the cell is left out with its reason named; the other cell stays
    code, _, err = cli(capsys, "finish", run)
    assert code == 2 and "1 cell(s)" in err  # not finished: the full report is refused
    code, out, err = cli(capsys, "finish", run, "--partial")
    assert code == 0 and "cell synthetic/holdout/rocket/seed0 is left out of the report" in err and words in err, err
    assert reported_models(run) == ["minirocket"]
    assert "| rocket |" not in (run / "summary.md").read_text()
    assert [p.name for p in (run / "confusion").iterdir()] == ["synthetic_holdout_minirocket_seed0.png"]
    # compare's means and evidence, and the leaderboard, read the same proven cells
    code, out, err = cli(capsys, "compare", run, run)
    assert code == 0 and "rocket" not in out.replace("minirocket", ""), out
    # a resumed run computes it again, and keeps the proven cell as it was
    code, _, err = resume(capsys, run)
    assert code == 0 and "cell synthetic/holdout/rocket/seed0: " in err and "it is computed again" in err, err
    assert reported_models(run) == ["minirocket", "rocket"]
    assert (run / "cells/synthetic/holdout/minirocket/seed0/metrics.json").read_bytes() == minirocket


def test_a_cell_folder_outside_the_plan_is_ignored_with_a_warning(run, capsys):
    for name in ("seed7", "seedX"):
        shutil.copytree(run / ROCKET, run / "cells/synthetic/holdout/rocket" / name)
    shutil.copytree(run / ROCKET, run / "cells/synthetic/holdout/cnn/seed0")
    code, _, err = cli(capsys, "finish", run)
    assert code == 0, err
    for folder in ("rocket/seed7", "rocket/seedX", "cnn/seed0"):
        assert f"holdout/{folder} is not a cell of this run's plan; it is ignored" in err, err
    table = pd.read_csv(run / "results.csv")
    assert sorted(zip(table["model"], table["seed"], strict=True)) == [("minirocket", 0), ("rocket", 0)]


def test_a_hand_edited_results_csv_is_not_what_compare_or_the_leaderboard_show(run, capsys, tmp_path):
    table = pd.read_csv(run / "results.csv")
    true_accuracy = table.loc[table["model"] == "rocket", "accuracy"].iloc[0]
    table.loc[table["model"] == "rocket", "accuracy"] = 0.123456
    table.to_csv(run / "results.csv", index=False)
    code, out, err = cli(capsys, "compare", run, run)
    assert code == 0 and "results.csv does not match the run's cells" in err and "0.1235" not in out
    assert f"{true_accuracy:.4f}" in out


# ---- 3. the manifest's suite against its fingerprint ---------------------------------------------------------------


def _suite_edit(edit):
    def act(run: Path):
        manifest = json.loads((run / "manifest.json").read_text())
        edit(manifest["suite"])
        (run / "manifest.json").write_text(json.dumps(manifest))

    return act


SUITE_EDITS = [
    ("more-seeds", _suite_edit(lambda s: s.update(seeds=[0, 1])), "does not match its suite_fingerprint"),
    (
        "model-params",
        _suite_edit(lambda s: s["model_params"].update(rocket={"n_kernels": 100})),
        "does not match its suite_fingerprint",
    ),
    ("split-seed", _suite_edit(lambda s: s["split"].update(seed=3)), "does not match its suite_fingerprint"),
    ("unknown-key", _suite_edit(lambda s: s.update(extra=1)), "its suite is not a suite"),
    ("models-removed", _suite_edit(lambda s: s.pop("models")), "its suite is not a suite"),
]
SUITE_COMMANDS = {
    "run": lambda run: ["run", *FAST, "--run-id", run.name, "--results-dir", run.parent],
    "run-cell": lambda run: ["run-cell", run, "synthetic/holdout/rocket/seed0", "--force"],
    "cells": lambda run: ["cells", run],
    "finish": lambda run: ["finish", run],
    "compare": lambda run: ["compare", run, run],
    "upgrade": lambda run: ["upgrade", run],
}


@pytest.mark.parametrize("command", list(SUITE_COMMANDS))
@pytest.mark.parametrize("edit_id, edit, words", SUITE_EDITS, ids=[e[0] for e in SUITE_EDITS])
def test_an_edited_suite_in_the_manifest_is_refused_by_every_command(edit_id, edit, words, command, run, capsys):
    edit(run)
    before = digests(run)
    code, _, err = cli(capsys, *SUITE_COMMANDS[command](run))
    assert code == 2 and "manifest.json is damaged" in err and words in err, err
    assert digests(run) == before


# ---- 4. locks, stops and conversions ---------------------------------------------------------------------------


def _lock(text: str | None):
    def act(folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        if text is None:
            (folder / "lock.json").mkdir()
        else:
            (folder / "lock.json").write_text(text)

    return act


LOCKS = [
    ("empty", "", "damaged (empty)"),
    ("whitespace", "  \n", "damaged (empty)"),
    ("garbage", "\x00\x01garbage{", "damaged (not a lock"),
    ("a-list", "[1, 2]", "damaged (not a lock"),
    ("no-pid", json.dumps({"host": socket.gethostname(), "started": "x"}), "damaged (not a lock"),
    ("pid-a-string", json.dumps({"host": socket.gethostname(), "pid": "12"}), "damaged (not a lock"),
    ("a-folder", None, "damaged (unreadable)"),
]


@pytest.mark.parametrize("lock_id, text, words", LOCKS, ids=[lk[0] for lk in LOCKS])
def test_a_damaged_lock_is_named_with_how_to_clear_it(lock_id, text, words, tmp_path, capsys):
    folder = tmp_path / "r"
    _lock(text)(folder)
    code, _, err = cli(capsys, "run", *FAST, "--run-id", "r", "--results-dir", tmp_path, "--plan-only")
    assert code == 2 and words in err and f"delete {folder / 'lock.json'}" in err and "None" not in err, err
    shutil.rmtree(folder / "lock.json") if text is None else (folder / "lock.json").unlink()
    assert cli(capsys, "run", *FAST, "--run-id", "r", "--results-dir", tmp_path, "--plan-only")[0] == 0


def test_a_lock_whose_process_id_was_reused_is_stale_and_a_live_holder_is_not(tmp_path, capsys):
    from ecgbench.run.locks import process_created

    folder = tmp_path / "r"
    live = os.getppid()  # a live process on this host, not us
    reused = {"host": socket.gethostname(), "pid": live, "started": "2020-01-01", "process_created": 1.0e9}
    _lock(json.dumps(reused))(folder)
    code, _, err = cli(capsys, "run", *FAST, "--run-id", "r", "--results-dir", tmp_path, "--plan-only")
    assert code == 0 and f"taking over the stale lock of process {live}" in err and "belongs to another" in err
    holder = {**reused, "process_created": process_created(live)}
    _lock(json.dumps(holder))(folder)
    code, _, err = cli(capsys, "run", *FAST, "--run-id", "r", "--results-dir", tmp_path, "--plan-only")
    assert code == 2 and f"in use by process {live}" in err


def test_a_lock_is_written_whole_with_the_process_start_time(tmp_path):
    from ecgbench.run.locks import FileLock, process_created

    with FileLock(tmp_path / "lock.json", "x"):
        lock = json.loads((tmp_path / "lock.json").read_text())
        assert lock["pid"] == os.getpid() and lock["process_created"] == process_created(os.getpid())
    assert list(tmp_path.iterdir()) == []  # released, and no temporary file left beside it


def test_sigterm_to_run_cell_releases_the_cells_lock(tmp_path):
    write_plugin(tmp_path, "sleepy_plugin", SLEEPY, "sleepy = sleepy_plugin:Sleepy")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]), "SLEEPY_SECONDS": "120"}
    results = tmp_path / "results"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "ecgbench",
            "run",
            "--model",
            "sleepy",
            "--dataset",
            "synthetic",
            "--quick",
            "--run-id",
            "p",
            "--results-dir",
            str(results),
            "--plan-only",
        ],
        check=True,
        env=env,
        cwd=REPO,
        capture_output=True,
    )
    cell = results / "p" / "cells/synthetic/holdout/sleepy/seed0"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ecgbench",
            "run-cell",
            str(results / "p"),
            "synthetic/holdout/sleepy/seed0",
            "--threads",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    deadline = time.monotonic() + 120
    while not (cell / "log.txt").exists() and time.monotonic() < deadline:  # the cell is training (sleeping)
        time.sleep(0.2)
    assert (cell / "lock.json").exists()
    time.sleep(1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143 and "interrupted (SIGTERM)" in err and "Traceback" not in err, err
    assert not (cell / "lock.json").exists() and not (cell / "metrics.json").exists()


def _as_schema_1(run: Path) -> dict:
    """The run as ecgbench wrote it before schema 2: CSV predictions, no checksums, version 1 everywhere. Returns
    each cell's metrics, for comparing after the upgrade."""
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["schema_version"] = 1
    (run / "manifest.json").write_text(json.dumps(manifest))
    before = {}
    for path in sorted(run.glob("cells/*/*/*/seed*/metrics.json")):
        metrics = json.loads(path.read_text())
        before[path.parent.name + path.parent.parent.name] = metrics
        read_predictions(path.parent / "predictions.parquet").to_csv(path.parent / "predictions.csv", index=False)
        (path.parent / "predictions.parquet").unlink()
        path.write_text(
            json.dumps({**{k: v for k, v in metrics.items() if k != "predictions_sha256"}, "schema_version": 1})
        )
    return before


def _as_schema_2(run: Path) -> dict:
    """The run as ecgbench wrote it in schema 2: float32 probabilities, version 2 everywhere. Returns each cell's
    metrics, for comparing after the upgrade."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "schema_version": 2}))
    before = {}
    for path in sorted(run.glob("cells/*/*/*/seed*/metrics.json")):
        metrics = json.loads(path.read_text())
        before[path.parent.name + path.parent.parent.name] = metrics
        frame = read_predictions(path.parent / "predictions.parquet")
        frame[frame.filter(like="p_").columns] = frame.filter(like="p_").astype("float32")
        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({**table.schema.metadata, b"ecgbench_schema_version": b"2"})
        pq.write_table(table, path.parent / "predictions.parquet", compression="zstd")
        checksum = hashlib.sha256((path.parent / "predictions.parquet").read_bytes()).hexdigest()
        path.write_text(json.dumps({**metrics, "schema_version": 2, "predictions_sha256": checksum}))
    return before


def test_a_predictions_file_of_an_older_schema_is_refused_with_the_upgrade_hint(run):
    _as_schema_2(run)
    with pytest.raises(EcgbenchError, match=r"has schema version 2, .*`python -m ecgbench upgrade RUN`"):
        read_predictions(run / ROCKET / "predictions.parquet")


@pytest.mark.parametrize("as_older_schema", [_as_schema_1, _as_schema_2])
def test_an_upgrade_stopped_midway_is_finished_by_the_same_command(as_older_schema, run, capsys, monkeypatch):
    before = as_older_schema(run)
    old_probabilities = {
        p.parent.name + p.parent.parent.name: pd.read_csv(p) if p.suffix == ".csv" else pd.read_parquet(p)
        for p in run.glob("cells/*/*/*/seed*/predictions.*")
    }
    version = json.loads((run / "manifest.json").read_text())["schema_version"]
    real, calls = RunStore.write_cell, []

    def second_fails(self, *args):
        calls.append(1)
        if len(calls) == 2:
            raise OSError(28, "No space left on device", str(run / "cells"))
        return real(self, *args)

    monkeypatch.setattr(RunStore, "write_cell", second_fails)
    code, _, err = cli(capsys, "upgrade", run)
    assert code == 2 and "no space left on device" in err
    assert json.loads((run / "manifest.json").read_text())["schema_version"] == version  # not marked converted
    assert not (run / "lock.json").exists()
    monkeypatch.undo()
    code, out, err = cli(capsys, "upgrade", run)
    assert code == 0 and "2 cell(s) converted" in out, err
    after = {
        p.parent.name + p.parent.parent.name: json.loads(p.read_text())
        for p in run.glob("cells/*/*/*/seed*/metrics.json")
    }
    for name, metrics in before.items():
        assert {k: v for k, v in after[name].items() if k != "predictions_sha256"} == {
            k: v for k, v in metrics.items() if k != "predictions_sha256"
        }
    assert len(RunStore(run).cells()) == 2
    assert sorted(p.name for p in run.glob("cells/*/*/*/seed*/predictions.*")) == ["predictions.parquet"] * 2
    for path in run.glob("cells/*/*/*/seed*/predictions.parquet"):  # the old probabilities, rounded to the steps
        old = old_probabilities[path.parent.name + path.parent.parent.name].filter(like="p_").to_numpy()
        assert np.array_equal(read_predictions(path).filter(like="p_").to_numpy(), stored_probabilities(old))


def test_an_upgrade_of_a_cell_whose_y_pred_is_not_the_argmax_converts_nothing(run, capsys):
    """Checked on the probabilities rounded to the stored steps, before anything is written."""
    _as_schema_2(run)
    path = run / ROCKET / "predictions.parquet"
    frame = pd.read_parquet(path)
    columns = frame.filter(like="p_").columns
    y_pred = frame["y_pred"].iloc[0]
    other = columns[(y_pred + 1) % len(columns)]
    tie = np.zeros(len(columns), dtype=np.float32)
    tie[y_pred], tie[columns.get_loc(other)] = 0.4999, 0.5001  # 13 steps apart once rounded
    frame.loc[0, columns] = tie
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.replace_schema_metadata({**table.schema.metadata, b"ecgbench_schema_version": b"2"}), path)
    metrics_path = run / ROCKET / "metrics.json"
    checksum = hashlib.sha256(path.read_bytes()).hexdigest()
    metrics_path.write_text(json.dumps({**json.loads(metrics_path.read_text()), "predictions_sha256": checksum}))
    before = digests(run)
    code, _, err = cli(capsys, "upgrade", run)
    assert code == 2 and "not the argmax of its probabilities" in err and "nothing was converted" in err
    assert digests(run) == before


def test_an_upgrade_refused_for_one_cell_converts_nothing(run, capsys):
    _as_schema_1(run)
    path = run / ROCKET / "metrics.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "accuracy": 0.5}))
    before = digests(run)
    code, _, err = cli(capsys, "upgrade", run)
    assert code == 2 and "accuracy recomputed from the predictions" in err and "nothing was converted" in err
    assert digests(run) == before


# ---- 5. outputs never replace what they should not -------------------------------------------------------------


def _data_dir(tmp_path: Path, monkeypatch) -> Path:
    data = tmp_path / "data"
    (data / "kaggle").mkdir(parents=True)
    monkeypatch.setenv("ECGBENCH_DATA", str(data))
    return data


OUTPUTS = [
    (
        "compare-markdown-a-runs-results-csv",
        lambda run, t: ["compare", run, run, "--markdown", run / "results.csv", "--overwrite"],
        "inside the run folder",
    ),
    (
        "compare-markdown-a-new-file-in-a-run",
        lambda run, t: ["compare", run, run, "--markdown", run / "diff.md"],
        "inside the run folder",
    ),
    (
        "leaderboard-out-a-runs-summary",
        lambda run, t: ["leaderboard", run, "--out", run / "summary.md", "--overwrite"],
        "inside the run folder",
    ),
    (
        "leaderboard-out-its-published-file",
        lambda run, t: [
            "leaderboard",
            run,
            "--published",
            t / "published.toml",
            "--out",
            t / "published.toml",
            "--overwrite",
        ],
        "is an input of this command",
    ),
    (
        "leaderboard-out-an-existing-file",
        lambda run, t: ["leaderboard", run, "--out", t / "existing.md"],
        "exists; pass --overwrite",
    ),
    (
        "compare-markdown-an-existing-file",
        lambda run, t: ["compare", run, run, "--markdown", t / "existing.md"],
        "exists; pass --overwrite",
    ),
    (
        "compare-markdown-a-data-file",
        lambda run, t: ["compare", run, run, "--markdown", t / "data/kaggle/mitbih_test.csv", "--overwrite"],
        "is a file of the data directory",
    ),
    ("soft-vote-an-existing-report", lambda run, t: ["soft-vote", run, "all", "--out", t], "exists; pass --overwrite"),
    (
        "data-export-over-its-data",
        lambda run, t: ["data", "export", "synthetic", "--output", t / "data/kaggle", "--overwrite"],
        "is a file of the data directory",
    ),
    (
        "data-export-over-an-existing-file",
        lambda run, t: ["data", "export", "synthetic", "--output", t],
        "exists; pass --overwrite",
    ),
]


@pytest.mark.parametrize("case_id, argv, words", OUTPUTS, ids=[o[0] for o in OUTPUTS])
def test_no_output_replaces_an_input_a_run_file_a_data_file_or_an_existing_file_unasked(
    case_id, argv, words, run, tmp_path, capsys, monkeypatch
):
    data = _data_dir(tmp_path, monkeypatch)
    (data / "kaggle" / "mitbih_test.csv").write_text("data")
    (data / "kaggle" / "synthetic.csv").write_text("data")
    (tmp_path / "published.toml").write_text((REPO / "benchmarks" / "published.toml").read_text())
    for name in ("existing.md", "base.md", "synthetic.csv"):
        (tmp_path / name).write_text("someone's file")
    files = {p: p.read_bytes() for p in [*run.rglob("*"), *tmp_path.glob("*"), *data.rglob("*")] if p.is_file()}
    code, _, err = cli(capsys, *argv(run, tmp_path))
    assert code == 2 and words in err, err
    assert {p: p.read_bytes() for p in files} == files and not (run / "diff.md").exists()


def test_overwrite_replaces_an_unrelated_existing_output(run, tmp_path, capsys):
    out = tmp_path / "board.md"
    out.write_text("old")
    assert cli(capsys, "leaderboard", run, "--out", out, "--overwrite")[0] == 0
    assert out.read_text().startswith("# Results")


# ---- 6. finish --partial -------------------------------------------------------------------------------------------


def test_finish_partial_reports_the_finished_cells_marked_partial_never_complete(run, capsys):
    manifest = json.loads((run / "manifest.json").read_text())
    (run / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
    (run / ROCKET / "metrics.json").unlink()
    for name in ("results.csv", "metrics.json", "summary.md"):
        (run / name).unlink()
    code, out, err = cli(capsys, "finish", run)
    assert code == 2 and "1 cell(s)" in err and "finish --partial" in err
    code, out, err = cli(capsys, "finish", run, "--partial")
    assert code == 0 and "partial report (1 of 2 cells)" in out, err
    summary = (run / "summary.md").read_text()
    assert "**PARTIAL report**: 1 of 2 cells finished" in summary and "status: interrupted" in summary
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["partial_report"]["finished_cells"] == 1
    assert reported_models(run) == ["minirocket"]
    board = run.parent.parent / "board.md"
    assert cli(capsys, "leaderboard", run, "--out", board)[0] == 0
    assert "(**PARTIAL**: 1 of 2 cells)" in board.read_text()
    assert "holds a PARTIAL report (finish --partial): 1 of 2 cells finished" in cli(capsys, "compare", run, run)[2]
    code, _, err = resume(capsys, run)  # the full report replaces the partial one
    manifest = json.loads((run / "manifest.json").read_text())
    assert code == 0 and manifest["status"] == "complete" and "partial_report" not in manifest
    assert "PARTIAL" not in (run / "summary.md").read_text()


def test_finish_partial_with_no_finished_cell_says_so(tmp_path, capsys):
    assert cli(capsys, "run", *FAST, "--run-id", "p", "--results-dir", tmp_path, "--plan-only")[0] == 0
    code, _, err = cli(capsys, "finish", tmp_path / "p", "--partial")
    assert code == 2 and "no finished cell yet" in err


# ---- the manifest's own records of the data and splits -------------------------------------------------------------


def _dataset_edit(edit):
    def act(run: Path):
        manifest = json.loads((run / "manifest.json").read_text())
        edit(manifest["datasets"]["synthetic"])
        (run / "manifest.json").write_text(json.dumps(manifest))

    return act


MANIFEST_EDITS = [
    (
        "evaluation-edited",
        _dataset_edit(lambda d: d.update(evaluation="inter-patient")),
        "recorded as evaluated 'inter-patient'",
    ),
    ("data-fingerprint-edited", _dataset_edit(lambda d: d.update(fingerprint="0" * 64)), "other data"),
    ("split-checksum-edited", _dataset_edit(lambda d: d["splits"]["holdout"].update(sha256="0" * 64)), "other split"),
    (
        "test-labels-checksum-edited",
        _dataset_edit(lambda d: d["splits"]["holdout"].update(test_labels_sha256="0" * 64)),
        "test labels",
    ),
    ("classes-edited", _dataset_edit(lambda d: d.update(classes=["A", "B", "C", "D", "E"])), "classes"),
    ("n-beats-shrunk", _dataset_edit(lambda d: d.update(n_beats=10)), "indices outside the dataset"),
]


@pytest.mark.parametrize("edit_id, edit, words", MANIFEST_EDITS, ids=[e[0] for e in MANIFEST_EDITS])
def test_an_edited_record_of_the_data_or_splits_in_the_manifest_is_never_reported(edit_id, edit, words, run, capsys):
    edit(run)
    before = digests(run)
    code, out, err = cli(capsys, "finish", run, "--partial")
    assert words in err, err
    if code == 0:  # the cells are left out, named: nothing was proven, so nothing is reported
        assert "is left out of the report" in err and "holds no finished cell" not in err
        assert not (run / "results.csv").exists()
    else:
        assert code == 2
    assert digests(run) == before


def test_a_report_with_no_proven_cell_left_is_removed_not_left_standing(run, capsys):
    for model in ("minirocket", "rocket"):
        _forge(run, f"cells/synthetic/holdout/{model}/seed0", accuracy=0.5)
    code, _, err = cli(capsys, "upgrade", run)  # rebuilds the report from the cells alone
    assert code == 0 and err.count("is left out of the report") == 2
    assert not (run / "results.csv").exists() and not (run / "summary.md").exists()


def test_a_store_that_proved_a_cell_once_sees_it_altered_afterwards(run):
    store = RunStore(run)
    assert len(store.cells()) == 2  # proved, and remembered
    _forge(run, ROCKET, accuracy=0.5)
    assert [c["model"] for c in store.cells()] == ["minirocket"]
    _other_test_beats(run)
    assert store.cell_problem(store.planned_keys()[1]).startswith("its predictions are not of the split's test")


def test_finish_partial_on_a_run_whose_cells_all_ran_writes_the_full_report(run, capsys):
    code, out, err = cli(capsys, "finish", run, "--partial")
    manifest = json.loads((run / "manifest.json").read_text())
    assert code == 0 and manifest["status"] == "complete" and "partial_report" not in manifest, err
