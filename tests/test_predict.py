"""``ecgbench predict`` reproduces, beat for beat, the stored predictions of the run that trained the model (a small
real mitdb-inter run), works on a record at another sampling rate and without reference annotations (XQRS), and
refuses every input it cannot serve in one line, exit 2; ``ecgbench gallery`` draws a run's errors."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from ecgbench.cli import main
from ecgbench.run.store import CellKey, RunStore, stored_probabilities

pytestmark = pytest.mark.slow  # a trained run on a real record, predicted again

CONTEXT = ["rr", "morphology", "pre_r", "qrs", "neighbours"]
RECORD = "100"  # a DS2 record


@pytest.fixture(scope="module")
def small_run(mitdb_dir, module_cache, tmp_path_factory):
    """mitdb-inter with every context group of the reference suite, subsampled, and a tiny MiniRocket."""
    root = tmp_path_factory.mktemp("results")
    suite = root / "small.toml"
    suite.write_text(f"""
datasets = ["mitdb-inter"]
models = ["minirocket"]
seeds = [0]
max_beats = 4000
[dataset_params.mitdb-inter]
context = {json.dumps(CONTEXT)}
[split]
protocol = "predefined"
val_size = 0.15
seed = 0
[model_params.minirocket]
num_kernels = 84
max_epochs = 3
""")
    assert (
        main(
            [
                "run",
                "--suite",
                str(suite),
                "--run-id",
                "small",
                "--results-dir",
                str(root),
                "--data-dir",
                str(mitdb_dir.parent),
            ]
        )
        == 0
    )
    store = RunStore(root / "small")
    return store, CellKey.of(store.cells()[0]), mitdb_dir


def predict(*args):
    return main(["predict", *map(str, args)])


def test_predict_with_the_reference_annotator_reproduces_the_stored_predictions(small_run, tmp_path):
    store, key, mitdb = small_run
    stored = store.predictions(key)
    assert {"group", "sample"} <= set(stored.columns)
    stored = stored[stored["group"] == int(RECORD)].set_index("sample")
    assert len(stored) > 10
    out = tmp_path / "out"
    assert predict(f"{store.root}/minirocket", mitdb / RECORD, "--annotator", "atr", "--output", out) == 0
    table = pd.read_parquet(out / f"{RECORD}.predictions.parquet").set_index("sample")
    assert len(table) == 2273  # every annotated beat of record 100
    mine = table.loc[stored.index]
    columns = [c for c in stored if c.startswith("p_")]
    assert np.array_equal(stored_probabilities(mine[columns].to_numpy()), stored[columns].to_numpy())  # as stored
    classes = np.array(list("NSVFQ"))
    assert (mine["predicted"].to_numpy() == classes[stored["y_pred"].to_numpy()]).all()
    assert (mine["reference"].to_numpy() == classes[stored["y_true"].to_numpy()]).all()
    csv = pd.read_csv(out / f"{RECORD}.predictions.csv")
    assert list(csv["sample"]) == list(table.index) and np.allclose(csv["time_s"], csv["sample"] / 360)
    assert (out / f"{RECORD}.predictions.png").stat().st_size > 10_000


def test_the_annotation_file_is_read_by_wfdb_and_by_ec57(small_run, tmp_path):
    import wfdb

    from ecgbench.reports import ec57

    store, key, mitdb = small_run
    out = tmp_path / "out"
    out.mkdir()
    for ext in ("hea", "atr"):  # ec57 compares two annotators of records in one folder
        shutil.copy(mitdb / f"{RECORD}.{ext}", out)
    assert (
        predict(
            f"{store.root}/minirocket/seed0",
            mitdb / RECORD,
            "--annotator",
            "atr",
            "--output",
            out,
            "--out-annotator",
            "mine",
        )
        == 0
    )
    ann = wfdb.rdann(str(out / RECORD), "mine")
    table = pd.read_parquet(out / f"{RECORD}.predictions.parquet")
    assert list(ann.sample) == list(table["sample"]) and list(ann.symbol) == list(table["predicted"])
    evaluation = ec57.evaluate(out, "mine", "atr", [RECORD])
    assert len(evaluation.records) == 1


def test_a_record_at_250_hz_without_annotations_is_predicted_end_to_end(small_run, tmp_path):
    import wfdb
    from scipy.signal import resample_poly

    store, key, mitdb = small_run
    source = wfdb.rdrecord(str(mitdb / RECORD), sampto=360 * 120)
    signal = resample_poly(source.p_signal, 25, 36, axis=0)
    folder = tmp_path / "rec250"
    folder.mkdir()
    wfdb.wrsamp(
        "r250",
        fs=250,
        units=source.units,
        sig_name=source.sig_name,
        p_signal=signal,
        fmt=["16", "16"],
        adc_gain=[200, 200],
        baseline=[0, 0],
        write_dir=str(folder),
    )
    out = tmp_path / "out"
    assert predict(store.model_dir(key), folder / "r250", "--output", out) == 0  # a model folder; XQRS R peaks
    table = pd.read_parquet(out / "r250.predictions.parquet")
    assert 120 < len(table) < 190  # record 100 beats about 75 times a minute
    assert "reference" not in table and (table["time_s"] == table["sample"] / 250).all()
    assert (table["predicted"] == "N").mean() > 0.8
    assert wfdb.rdann(str(out / "r250"), "ecgb").fs == 250


def test_outputs_are_not_overwritten_unless_asked(small_run, tmp_path, capsys):
    store, key, mitdb = small_run
    out = tmp_path / "out"
    args = [f"{store.root}/minirocket", mitdb / RECORD, "--annotator", "atr", "--output", out]
    assert predict(*args) == 0
    before = (out / f"{RECORD}.predictions.csv").stat().st_mtime_ns
    capsys.readouterr()
    assert predict(*args) == 2
    err = capsys.readouterr().err
    assert "exists" in err and "--overwrite" in err
    assert (out / f"{RECORD}.predictions.csv").stat().st_mtime_ns == before
    assert predict(*args, "--overwrite") == 0


def _bad_record(tmp_path, mitdb, what):
    folder = tmp_path / "bad"
    folder.mkdir(exist_ok=True)
    for ext in ("hea", "dat", "atr"):
        shutil.copy(mitdb / f"{RECORD}.{ext}", folder)
    if what == "truncated":
        data = (folder / f"{RECORD}.dat").read_bytes()
        (folder / f"{RECORD}.dat").write_bytes(data[: len(data) // 2])
    elif what == "rate":
        text = (folder / f"{RECORD}.hea").read_text().replace(" 360 ", " 20000 ", 1)
        (folder / f"{RECORD}.hea").write_text(text)
    elif what == "short":
        import wfdb

        source = wfdb.rdrecord(str(mitdb / RECORD), sampto=360 * 5)
        wfdb.wrsamp(
            RECORD,
            fs=360,
            units=source.units,
            sig_name=source.sig_name,
            p_signal=source.p_signal,
            fmt=["212", "212"],
            adc_gain=[200, 200],
            baseline=[1024, 1024],
            write_dir=str(folder),
        )
    return folder / RECORD


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("missing", "no WFDB record there"),
        ("truncated", "the file is truncated"),
        ("rate", "20000 Hz is out of range"),
        ("short", "the record is too short (5.0 s)"),
        ("lead", "the record has no lead 'V9'"),
        ("annotator", "file 100.nope: not found"),
        ("csv-length", "beats of 100 samples (plus the label column), but the model takes beats of 187"),
        ("unknown-model", "has no finished cell of model 'nope'"),
    ],
)
def test_each_input_the_model_cannot_serve_gets_one_line_and_exit_2(small_run, tmp_path, capsys, case, says):
    store, key, mitdb = small_run
    model, record, extra = f"{store.root}/minirocket", mitdb / RECORD, []
    if case == "missing":
        record = tmp_path / "absent"
    elif case in ("truncated", "rate", "short"):
        record = _bad_record(tmp_path, mitdb, case)
    elif case == "lead":
        extra = ["--lead", "V9"]
    elif case == "annotator":
        extra = ["--annotator", "nope"]
    elif case == "csv-length":
        record = tmp_path / "beats.csv"
        pd.DataFrame(np.zeros((3, 101))).to_csv(record, header=False, index=False)
        model = store.model_dir(key)
    elif case == "unknown-model":
        model = f"{store.root}/nope"
    assert predict(model, record, *extra, "--output", tmp_path / "out") == 2
    err = capsys.readouterr().err
    assert says in err, err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_csv_with_the_model_s_beats_but_no_context_is_refused(small_run, tmp_path, capsys):
    store, key, _ = small_run
    csv = tmp_path / "beats.csv"
    pd.DataFrame(np.zeros((3, 188))).to_csv(csv, header=False, index=False)
    assert predict(store.model_dir(key), csv, "--output", tmp_path / "out") == 2
    assert "context features, which a CSV of beats does not have" in capsys.readouterr().err


def test_a_tampered_stored_model_is_refused_by_name(small_run, tmp_path, capsys):
    store, key, mitdb = small_run
    copy = tmp_path / "cell"
    shutil.copytree(store.cell_dir(key), copy)
    with open(copy / "model" / "weights.npz", "ab") as fh:
        fh.write(b"x")
    assert predict(copy / "model", mitdb / RECORD, "--output", tmp_path / "out") == 2
    assert "weights.npz is not the file saved with the model" in capsys.readouterr().err


# -- gallery -----------------------------------------------------------------------------------------------------
def test_the_gallery_draws_a_pair_s_errors_with_record_and_time(small_run, tmp_path, capsys):
    from ecgbench.delivery.gallery import selected_beats
    from ecgbench.reports.view import RunView

    store, key, mitdb = small_run
    stored = store.predictions(key)
    counts = stored.groupby(["y_true", "y_pred"]).size()
    (t, p) = next(pair for pair in counts.index if pair[0] != pair[1])
    true, pred = "NSVFQ"[t], "NSVFQ"[p]
    out = tmp_path / "gallery.png"
    assert (
        main(
            [
                "gallery",
                str(store.root),
                "--model",
                "minirocket",
                "--true",
                true,
                "--pred",
                pred,
                "--max",
                "8",
                "--output",
                str(out),
                "--data-dir",
                str(mitdb.parent),
            ]
        )
        == 0
    )
    assert out.stat().st_size > 5_000
    _, _, rows, _ = selected_beats(RunView(store), "minirocket", true, pred, None)
    assert len(rows) == counts[(t, p)] and {"group", "sample"} <= set(rows.columns)
    from ecgbench.delivery.gallery import where

    text = where(rows.iloc[0], store.read_manifest().datasets["mitdb-inter"].provenance)
    first = rows.iloc[0]
    assert text.startswith(f"record {int(first['group'])}, ") and f"(sample {int(first['sample'])})" in text


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--model", "nope", "--true", "S", "--pred", "N"], "no finished cell of model 'nope'"),
        (["--model", "minirocket", "--true", "X", "--pred", "N"], "--true 'X' is not a class of the run"),
        (["--model", "minirocket", "--true", "N", "--pred", "N"], "not misclassified"),
        (["--model", "minirocket", "--true", "S", "--pred", "N", "--seed", "7"], "has no seed 7"),
    ],
)
def test_gallery_refuses_in_one_line(small_run, tmp_path, capsys, args, says):
    store, _, _ = small_run
    assert main(["gallery", str(store.root), *args, "--output", str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_gallery_of_an_empty_selection_or_an_unknown_run_is_one_line(small_run, tmp_path, capsys):
    store, key, _ = small_run
    stored = store.predictions(key)
    present = set(zip(stored["y_true"], stored["y_pred"], strict=True))
    t, p = next((t, p) for t in range(5) for p in range(5) if t != p and (t, p) not in present)
    assert (
        main(
            [
                "gallery",
                str(store.root),
                "--model",
                "minirocket",
                "--true",
                "NSVFQ"[t],
                "--pred",
                "NSVFQ"[p],
                "--output",
                str(tmp_path / "g.png"),
            ]
        )
        == 2
    )
    assert "nothing to draw" in capsys.readouterr().err
    assert (
        main(
            [
                "gallery",
                str(tmp_path / "none"),
                "--model",
                "m",
                "--true",
                "S",
                "--pred",
                "N",
                "--output",
                str(tmp_path / "g.png"),
            ]
        )
        == 2
    )
    assert "no run found" in capsys.readouterr().err


def test_the_gallery_finds_the_sample_of_a_run_from_before_the_column(small_run, tmp_path, monkeypatch):
    """Older runs' predictions have no ``sample``: the gallery takes it from the reloaded (checked) data."""
    from ecgbench.delivery import gallery
    from ecgbench.run.store import RunStore as Store

    store, key, mitdb = small_run
    stored = store.predictions(key)
    original, where, drawn = Store.predictions, gallery.where, []
    monkeypatch.setattr(Store, "predictions", lambda self, k: original(self, k).drop(columns="sample"))
    monkeypatch.setattr(gallery, "where", lambda row, provenance: drawn.append(row) or where(row, provenance))
    wrong = stored[stored["y_true"] != stored["y_pred"]].iloc[0]
    true, pred = "NSVFQ"[int(wrong["y_true"])], "NSVFQ"[int(wrong["y_pred"])]
    assert (
        main(
            [
                "gallery",
                str(store.root),
                "--model",
                "minirocket",
                "--true",
                true,
                "--pred",
                pred,
                "--max",
                "3",
                "--output",
                str(tmp_path / "g.png"),
                "--data-dir",
                str(mitdb.parent),
            ]
        )
        == 0
    )
    by_index = stored.set_index("index")["sample"]
    assert drawn and all(int(row["sample"]) == by_index[int(row["index"])] for row in drawn)


def test_the_gallery_names_a_beat_by_record_and_time_wherever_the_run_knows_them():
    from ecgbench.delivery.gallery import where

    cross = {
        "groups": {"0": "mitdb/100", "1": "svdb/800"},
        "train": {"database": "mitdb", "fs_used": {"100": 360.0}},
        "test": {"database": "svdb", "fs_used": {"800": 128.0}},
    }
    assert (
        where(pd.Series({"group": 1, "sample": 1280, "index": 7}), cross) == "record svdb/800, 0:10.000 (sample 1280)"
    )
    assert (
        where(pd.Series({"group": 100, "sample": 720, "index": 3}), {"fs_used": {"100": 360.0}})
        == "record 100, 0:02.000 (sample 720)"
    )
    assert where(pd.Series({"group": 100, "sample": 720, "index": 3}), {}) == "record 100, sample 720"
    assert where(pd.Series({"group": float("nan"), "index": 3}), {}) == "beat 3"


def test_predict_with_workers_writes_the_serial_run_s_outputs_byte_for_byte(small_run, tmp_path):
    store, key, mitdb = small_run
    records = [mitdb / RECORD, mitdb / "103", mitdb / "105"]
    outputs = {}
    for how in ([], ["--workers", "2"]):
        out = tmp_path / ("dask" if how else "serial")
        assert predict(f"{store.root}/minirocket", *records, "--annotator", "atr", "--output", out, *how) == 0
        outputs[bool(how)] = out
    for record in records:
        for suffix in (".predictions.parquet", ".predictions.csv", ".ecgb"):
            name = f"{record.name}{suffix}"
            assert (outputs[True] / name).read_bytes() == (outputs[False] / name).read_bytes(), name
        assert (outputs[True] / f"{record.name}.predictions.png").stat().st_size > 10_000


def test_a_bad_worker_count_is_one_line_and_exit_2(small_run, tmp_path, capsys):
    store, key, mitdb = small_run
    assert predict(f"{store.root}/minirocket", mitdb / RECORD, "--output", tmp_path / "out", "--workers", "0") == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--workers must be at least 1" in err
    assert not (tmp_path / "out").exists()


def test_an_input_that_fails_on_a_worker_is_named_and_the_others_outputs_stay(small_run, tmp_path, capsys, monkeypatch):
    import contextlib

    from distributed import Client, LocalCluster

    from ecgbench.delivery import predict as predict_module
    from ecgbench.run import executors

    @contextlib.contextmanager
    def in_process():  # workers as threads of this process, so that the failure below reaches them
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
            with Client(cluster) as client:
                yield client

    monkeypatch.setattr(executors, "local_cluster", lambda workers, threads: in_process)
    write = predict_module.write_outputs

    def failing(beats, *args):
        if beats.name == "103":
            raise OSError("disk full")
        write(beats, *args)

    monkeypatch.setattr(predict_module, "write_outputs", failing)
    monkeypatch.setattr(predict_module, "_WORKER_MODELS", {})  # not this process's cache of models, after
    store, key, mitdb = small_run
    out = tmp_path / "out"
    assert (
        predict(
            f"{store.root}/minirocket",
            mitdb / RECORD,
            mitdb / "103",
            "--annotator",
            "atr",
            "--output",
            out,
            "--workers",
            "2",
        )
        == 2
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert "103" in err[-1] and "failed on the workers" in err[-1]
    assert (out / f"{RECORD}.predictions.parquet").is_file() and not (out / "103.predictions.parquet").exists()
