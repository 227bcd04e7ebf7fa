"""Issue 24, the data side: no record on both sides of a split (by name, path or content), real data never refused
for an annotation that cannot be cut into a beat, every numeric dataset parameter in a range, no empty split part,
each dataset split by the protocol it declares.

Regression rows run the command line: exit code 2, one ``error:`` line holding the words listed, no traceback, no
run folder written. The small WFDB databases come from tests/conftest.py's ``databases`` (alpha: 100 and 101 at
128 Hz with a RECORDS file; beta: b1 and b2 at 250 Hz); rows on the noise track read the real mitdb/ and nstdb/
through $ECGBENCH_DATA (skipped where absent)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import ecgbench.data as data
from ecgbench.cli import build_parser, main, suite_from_args
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import write_json
from ecgbench.data import Dataset, dataset_names, dataset_spec
from ecgbench.data import wfdb_dataset as wd
from ecgbench.run.runner import split_settings, subsample
from tests.test_bad_inputs import _assert_refused, _row

CROSS = """datasets = ["wfdb-cross"]
models = ["minirocket"]
[dataset_params.wfdb-cross]
train = "alpha"
test = "{test}"
{extra}
"""


def _run_suite(tmp_path: Path, data_dir: Path, body: str, *extra: str) -> tuple[int, Path]:
    suite = tmp_path / "suite.toml"
    suite.write_text(body)
    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--suite",
            str(suite),
            "--quick",
            "--plan-only",
            "--data-dir",
            str(data_dir),
            "--results-dir",
            str(results),
            *extra,
        ]
    )
    return code, results


def _copy_record(source: Path, name: str, target: Path, new_name: str) -> None:
    """Record ``name`` of ``source`` as ``new_name`` in ``target``: the same signal, another name and folder."""
    target.mkdir(exist_ok=True)
    header = (source / f"{name}.hea").read_text().replace(name, new_name)
    (target / f"{new_name}.hea").write_text(header)
    shutil.copy(source / f"{name}.dat", target / f"{new_name}.dat")
    shutil.copy(source / f"{name}.atr", target / f"{new_name}.atr")


# ------------------------------------------------------------- 1. an annotation no beat can be cut at is dropped


def _annotate_past_the_end(folder: Path, record: str, extra: list[int]) -> int:
    """Add N beats at ``sig_len + k`` for every k of ``extra`` to the record's annotations; returns sig_len."""
    import wfdb

    sig_len = wfdb.rdheader(str(folder / record)).sig_len
    ann = wfdb.rdann(str(folder / record), "atr")
    samples = np.array([*ann.sample, *(sig_len + k for k in extra)], dtype=np.int64)
    wfdb.wrann(record, "atr", samples, symbol=[*ann.symbol, *["N"] * len(extra)], write_dir=str(folder))
    return sig_len


def test_beats_annotated_at_and_past_the_signal_end_are_dropped_counted_and_the_rest_kept(databases, tmp_path):
    root, truth = databases
    before = wd.load_wfdb_database(root / "alpha")
    # beats at sig_len, as a genuine PhysioNet database annotates them, and beyond
    _annotate_past_the_end(root / "alpha", "100", [0, 1, 500])
    after = wd.load_wfdb_database(root / "alpha")
    np.testing.assert_array_equal(after.X, before.X)
    np.testing.assert_array_equal(after.y, before.y)
    assert after.provenance["annotations_outside_signal"] == {"100": 3}
    assert before.provenance["annotations_outside_signal"] == {}
    # The cross-database run that used to be refused is planned, and its manifest says what was left out.
    code, results = _run_suite(tmp_path, root, CROSS.format(test="beta", extra=""), "--run-id", "x")
    assert code == 0
    manifest = json.loads((results / "x" / "manifest.json").read_text())
    assert manifest["datasets"]["wfdb-cross"]["provenance"]["train"]["annotations_outside_signal"] == {"100": 3}


def test_a_real_record_annotated_past_its_end_keeps_its_beats(mitdb_dir, wfdb, tmp_path, tmp_cache):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(mitdb_dir / f"100.{ext}", folder / f"100.{ext}")
    assert _annotate_past_the_end(folder, "100", [0, 500]) == 650_000
    dataset = wd.load_wfdb_database(folder, ["100"], context=[])
    assert len(dataset.y) == 2273 and dataset.provenance["annotations_outside_signal"] == {"100": 2}


def test_a_record_without_beats_adds_none_and_only_a_database_without_any_is_refused(databases, tmp_path, capsys):
    import wfdb

    root, truth = databases
    alpha = root / "alpha"
    sig_len = wfdb.rdheader(str(alpha / "101")).sig_len
    wfdb.wrann("101", "atr", np.array([sig_len, sig_len + 3]), symbol=["N", "V"], write_dir=str(alpha))
    dataset = wd.load_wfdb_database(alpha)
    assert len(dataset.y) == len(truth["alpha", "100"]) and set(dataset.groups) == {100}
    assert dataset.provenance["records_without_beats"] == ["101"]
    assert dataset.provenance["annotations_outside_signal"] == {"101": 2}
    wfdb.wrann("100", "atr", np.array([5, 900]), symbol=["+", "~"], write_dir=str(alpha))  # rhythm and noise only
    code, results = _run_suite(tmp_path, root, CROSS.format(test="beta", extra=""))
    _assert_refused(
        capsys,
        code,
        [
            "WFDB database 'alpha': no record gives a beat",
            "record 100, file 100.atr: no beat annotations (2 annotations, symbols: +, ~)",
            "1 more record(s)",
        ],
        results,
    )


# ------------------------------------------------------------------ 2. no record on both sides of any split


def _link_database(root: Path, name: str, target: str) -> None:
    (root / name).symlink_to(root / target, target_is_directory=True)


def _records_file(text: str):
    return lambda root: (root / "alpha" / "RECORDS").write_text(text)


def _subfolder_link(root: Path) -> None:
    (root / "alpha" / "sub").symlink_to(root / "beta", target_is_directory=True)
    (root / "alpha" / "RECORDS").write_text("100\nsub/b1\n")


# (id, how the data are changed, the suite's test database, extra [dataset_params.wfdb-cross] lines, words)
LEAK_CASES = [
    (
        "test-database-links-to-train",
        lambda root: _link_database(root, "alpha2", "alpha"),
        "alpha2",
        "",
        ["wfdb-cross", "share 2 record(s)", "alpha/100 (train) and alpha2/100 (test)", "the same files"],
    ),
    (
        "record-copied-under-another-name-elsewhere",
        lambda root: _copy_record(root / "alpha", "100", root / "beta", "b3"),
        "beta",
        "",
        ["share 1 record(s)", "alpha/100 (train) and beta/b3 (test)", "identical signal files"],
    ),
    (
        "same-database-overlapping-record-lists",
        lambda root: None,
        "alpha",
        'train_records = ["100", "101"]\ntest_records = ["101"]',
        ["alpha/101 (train) and alpha/101 (test)"],
    ),
    (
        "records-entry-leaves-the-folder",
        _records_file("100\n../beta/b1\n"),
        "beta",
        "",
        ["'alpha', file RECORDS", "record '../beta/b1'", "inside the database folder"],
    ),
    (
        "records-entry-absolute",
        lambda root: (root / "alpha" / "RECORDS").write_text(f"100\n{root}/beta/b1\n"),
        "beta",
        "",
        ["'alpha', file RECORDS", "/beta/b1'", "absolute path"],
    ),
    (
        "records-entry-through-a-link-outside",
        _subfolder_link,
        "beta",
        "",
        ["record 'sub/b1' leaves the database folder", "symbolic link pointing outside"],
    ),
    (
        "records-entry-listed-twice",
        _records_file("100\n101\n100\n"),
        "beta",
        "",
        ["'alpha', file RECORDS", "record '100' is listed twice"],
    ),
    (
        "record-list-parameter-twice",
        lambda root: None,
        "beta",
        'train_records = ["100", "100"]',
        ['train_records = ["100", "100"]', "no value twice"],
    ),
    (
        "record-list-parameter-leaves-the-folder",
        lambda root: None,
        "beta",
        'train_records = ["../beta/b1"]',
        ["record '../beta/b1'", "inside the database folder"],
    ),
    ("database-name-is-a-path", lambda root: None, "../elsewhere/beta", "", ['test = "../elsewhere/beta"', "no path"]),
    (
        "one-side-holds-a-record-twice-under-two-names",
        lambda root: (
            _copy_record(root / "alpha", "101", root / "alpha", "102"),
            (root / "alpha" / "RECORDS").write_text("100\n101\n102\n"),
        ),
        "beta",
        "",
        ["'alpha': records 101 and 102 are one recording", "identical signal files"],
    ),
]


@pytest.mark.parametrize("case_id, change, test, extra, words", LEAK_CASES, ids=[c[0] for c in LEAK_CASES])
def test_a_record_on_both_sides_or_outside_its_database_is_refused_by_name(
    case_id, change, test, extra, words, databases, tmp_path, capsys
):
    root, _ = databases
    change(root)
    stored = {p: p.read_bytes() for p in root.rglob("*") if p.is_file() and not p.is_symlink()}
    code, results = _run_suite(tmp_path, root, CROSS.format(test=test, extra=extra))
    _assert_refused(capsys, code, words, results)
    assert {p: p.read_bytes() for p in stored} == stored  # the data are read, never changed


def test_a_leak_found_when_resuming_leaves_the_stored_run_as_it_was(databases, tmp_path, capsys):
    root, _ = databases
    body = CROSS.format(test="beta", extra="")
    assert _run_suite(tmp_path, root, body, "--run-id", "r")[0] == 0
    results = tmp_path / "results"
    stored = {p: p.read_bytes() for p in results.rglob("*") if p.is_file()}
    capsys.readouterr()
    _copy_record(root / "alpha", "101", root / "beta", "b9")  # the test database now holds a training record
    code, _ = _run_suite(tmp_path, root, body, "--run-id", "r")
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    assert "alpha/101 (train) and beta/b9 (test): identical signal files" in err
    assert {p: p.read_bytes() for p in results.rglob("*") if p.is_file()} == stored


def test_disjoint_sides_of_one_database_and_records_in_a_real_subfolder_pass(databases, tmp_path):
    root, _ = databases
    ok = data.load_dataset("wfdb-cross", root, train="alpha", test="alpha", train_records=["100"], test_records=["101"])
    assert len(ok.predefined_split[1]) > 0
    # PhysioNet's own RECORDS files may name records in subfolders of the database: they are inside.
    (root / "alpha" / "sub").mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.move(root / "alpha" / f"101.{ext}", root / "alpha" / "sub" / f"101.{ext}")
    assert (
        data.dataset_spec("wfdb-cross").missing(root, train="alpha", test="beta", train_records=["100", "sub/101"])
        is None
    )
    both = data.load_dataset("wfdb-cross", root, train="alpha", test="beta", train_records=["100", "sub/101"])
    assert both.provenance["groups"][1] == "alpha/sub/101" and len(both.predefined_split[0]) == len(ok.y)


@pytest.fixture
def real_data(tmp_path):
    """A data folder whose mitdb/ and nstdb/ link every file of $ECGBENCH_DATA's (skipped where absent)."""
    pytest.importorskip("wfdb")
    source = data.resolve_data_dir()
    if not (source / "mitdb" / "105.dat").is_file() or not (source / "nstdb" / "em.dat").is_file():
        pytest.skip("mitdb/ and nstdb/ not found in $ECGBENCH_DATA")
    root = tmp_path / "data"
    for database in ("mitdb", "nstdb"):
        (root / database).mkdir(parents=True)
        for path in (source / database).iterdir():
            (root / database / path.name).symlink_to(path)
    return root


NOISE = """datasets = ["mitdb-noise"]
models = ["minirocket"]
[dataset_params.mitdb-noise]
noises = ["em"]
snrs = [12]
shipped = false
{extra}
"""


@pytest.mark.parametrize(
    "extra, words",
    [
        (
            'train_records = ["101", "105"]\ntest_records = ["105"]',
            ["mitdb-noise", "mitdb/105 (train) and mitdb/105 (test)"],
        ),
        (
            'train_records = ["101", "905"]\ntest_records = ["105"]',
            ["mitdb/905 (train) and mitdb/105 (test)", "identical signal files"],
        ),
        ('train_records = ["101"]\ntest_records = ["105", "105"]', ['test_records = ["105", "105"]', "no value twice"]),
    ],
    ids=["same-name", "a-copy-under-another-name", "listed-twice"],
)
def test_the_noise_track_refuses_a_record_on_both_sides(extra, words, real_data, tmp_path, tmp_cache, capsys):
    mitdb = real_data / "mitdb"
    (mitdb / "SHA256SUMS.txt").unlink()  # the copy below is not PhysioNet's; the others are links to verified files
    for ext in ("hea", "dat", "atr"):
        (mitdb / f"105.{ext}").unlink()
        shutil.copy((data.resolve_data_dir() / "mitdb" / f"105.{ext}"), mitdb / f"105.{ext}")
    _copy_record(mitdb, "105", mitdb, "905")
    code, results = _run_suite(tmp_path, real_data, NOISE.format(extra=extra))
    _assert_refused(capsys, code, words, results)


# ------------------------------------------------------------------------ 3. numbers of tracks are checked


def _suite(dataset: str, lines: str) -> str:
    return f'datasets = ["{dataset}"]\nmodels = ["minirocket"]\n[dataset_params.{dataset}]\n{lines}\n'


PARAM_CASES = [
    ("snr-nan", _suite("mitdb-noise", "snrs = [12, nan]"), ["snrs = [12, NaN]", "each a number >= -20 and <= 60"]),
    ("snr-infinite", _suite("mitdb-noise", "snrs = [inf]"), ["snrs = [Infinity]"]),
    ("snr-absurd", _suite("mitdb-noise", "snrs = [-1000]"), ["snrs = [-1000]", ">= -20"]),
    ("snr-absurd-high", _suite("mitdb-noise", "snrs = [1e6]"), ["snrs = [1000000.0]", "<= 60"]),
    ("snr-bool", _suite("mitdb-noise", "snrs = [true]"), ["snrs = [true]", "each a number"]),
    ("snr-twice", _suite("mitdb-noise", "snrs = [12, 6, 12.0]"), ["snrs = [12, 6, 12.0]", "no value twice"]),
    (
        "snr-one-condition-name",
        _suite("mitdb-noise", "snrs = [12.000001, 12.0000001]"),
        ["snrs = [12.000001, 12.0000001]", "both name the condition .../12"],
    ),
    ("snr-none", _suite("mitdb-noise", "snrs = []"), ["snrs = []", "at least 1 item"]),
    ("snr-not-a-list", _suite("mitdb-noise", "snrs = 12"), ["snrs = 12", "must be a list"]),
    ("noise-twice", _suite("mitdb-noise", 'noises = ["em", "em"]'), ['noises = ["em", "em"]', "no value twice"]),
    ("noise-unknown", _suite("mitdb-noise", 'noises = ["xx"]'), ['noises = ["xx"]', '"bw", "em", "ma"']),
    ("noise-seed-negative", _suite("mitdb-noise", "seed = -1"), ["seed = -1", "an integer >= 0"]),
    ("noise-seed-float", _suite("mitdb-noise", "seed = 1.5"), ["seed = 1.5", "an integer"]),
    ("noise-protocol", _suite("mitdb-noise", 'protocol = "most"'), ['protocol = "most"', '"standard", "whole"']),
    ("noise-calibration", _suite("mitdb-noise", 'calibration = "x"'), ['calibration = "x"', '"nst", "added"']),
    ("noise-shipped-int", _suite("mitdb-noise", "shipped = 1"), ["shipped = 1", "true or false"]),
    ("noise-window-absurd", _suite("mitdb-noise", "window_s = 1e9"), ["window_s = 1000000000.0", "<= 600"]),
    ("wfdb-rr-factor-infinite", _suite("mitdb-inter", "rr_factor = inf"), ["rr_factor = Infinity", "<= 5"]),
    ("wfdb-window-nan", _suite("mitdb-ds1", "window_s = nan"), ["window_s = NaN", ">= 1"]),
    ("synthetic-beats-absurd", _suite("synthetic", "n_beats = 1000000000"), ["n_beats = 1000000000", "<= 1000000"]),
    ("synthetic-seed-bool", _suite("synthetic", "seed = true"), ["seed = true", "an integer"]),
]


@pytest.mark.parametrize("case_id, body, words", PARAM_CASES, ids=[c[0] for c in PARAM_CASES])
def test_a_track_parameter_out_of_its_range_is_refused_before_any_data_loads(case_id, body, words, tmp_path, capsys):
    code, results = _run_suite(tmp_path, tmp_path / "no-data", body)  # no data: refused before it is looked for
    line = _assert_refused(capsys, code, words, results)
    assert "suite file" in line


def _numeric(param) -> bool:
    kind = param.resolved_kind()
    return kind in ("int", "float") or (kind == "list" and param.items is not None and _numeric(param.items))


@pytest.mark.parametrize("name", dataset_names())
def test_every_numeric_dataset_parameter_has_both_bounds(name):
    for key, param in dataset_spec(name).params.items():
        if _numeric(param):
            number = param.items if param.resolved_kind() == "list" else param
            assert (number.low, number.above) != (None, None) and (number.high, number.below) != (None, None), key


def test_nan_or_infinity_is_never_written_into_json_and_the_key_is_named(tmp_path):
    path = tmp_path / "x.json"
    for value in (float("nan"), float("inf"), np.float32("nan")):
        with pytest.raises(EcgbenchError, match=r"x\.json: not written: cells\[1\]\.accuracy is (nan|inf)"):
            write_json(path, {"cells": [{"accuracy": 0.5}, {"accuracy": value}]})
        assert not path.exists()
    write_json(path, {"a": None, "b": 1.5})
    assert json.loads(path.read_text()) == {"a": None, "b": 1.5}


def _conditions_dataset() -> Dataset:
    """300 training beats, then three conditions of the same 400 test beats (X[:, 0] holds a beat's id), and a
    second group of two conditions of 100 others."""
    rng = np.random.default_rng(0)
    y_train, y_test, y_other = rng.integers(0, 3, 300), rng.integers(0, 3, 400), rng.integers(0, 3, 100)
    ids = np.arange(400.0)
    conditions = [""] * 300 + [c for c in ("DS2/clean", "DS2/em/12", "DS2/em/0") for _ in ids]
    conditions += [c for c in ("nstdb/clean", "nstdb/em/6") for _ in range(100)]
    X = np.zeros((300 + 1200 + 200, 187))
    X[300:1500, 0] = np.tile(ids, 3)
    X[1500:, 0] = np.tile(1000 + np.arange(100.0), 2)
    y = np.concatenate([y_train, np.tile(y_test, 3), np.tile(y_other, 2)])
    groups = np.concatenate(
        [rng.integers(0, 5, 300), np.tile(rng.integers(5, 9, 400), 3), np.tile(rng.integers(9, 11, 100), 2)]
    )
    return Dataset(
        "noisy",
        X,
        y,
        ("N", "S", "V"),
        groups=groups,
        columns={"condition": np.array(conditions)},
        predefined_split=(np.arange(300), np.arange(300, 1700)),
    )


def test_a_quick_subsample_keeps_the_same_beats_in_every_condition():
    small = subsample(_conditions_dataset(), 400, seed=0)
    test = small.predefined_split[1]
    kept = {
        c: small.X[test][small.columns["condition"][test] == c, 0]
        for c in dict.fromkeys(small.columns["condition"][test])
    }
    assert 0 < len(kept["DS2/clean"]) < 400 and 0 < len(kept["nstdb/clean"]) < 100
    np.testing.assert_array_equal(kept["DS2/em/12"], kept["DS2/clean"])
    np.testing.assert_array_equal(kept["DS2/em/0"], kept["DS2/clean"])
    np.testing.assert_array_equal(kept["nstdb/em/6"], kept["nstdb/clean"])
    assert abs(len(small.y) - 400) < 20 and set(small.columns["condition"][small.predefined_split[0]]) == {""}


# --------------------------------------------------------------------------- 4. no empty part is planned


def _kaggle(train_labels: list[int], test_labels: list[int]):
    def write(folder: Path) -> None:
        (folder / "mitbih_train.csv").write_text("".join(_row(label) for label in train_labels))
        (folder / "mitbih_test.csv").write_text("".join(_row(label) for label in test_labels))

    return write


# (id, the data written, dataset, the suite's max_beats (None: none), words)
EMPTY_CASES = [
    (
        "max-beats-leaves-a-small-test-file-empty",
        _kaggle([0, 1] * 200, [0]),
        "mitbih",
        20,
        ["dataset 'mitbih', split predefined: the test part is empty", "max_beats = 20", "raise max_beats"],
    ),
    (
        "a-training-file-of-one-class",
        _kaggle([0] * 50, [1] * 5),
        "mitbih",
        None,
        ["dataset 'mitbih', split predefined: the training part holds a single class (N)", "give it more beats"],
    ),
    (
        "max-beats-leaves-one-class-to-train-on",
        lambda folder: None,
        "synthetic",
        3,
        ["dataset 'synthetic', split holdout: the test part is empty", "max_beats = 3"],
    ),
    (
        "max-beats-leaves-fewer-beats-than-folds",
        lambda folder: None,
        "synthetic --protocol kfold",
        3,
        ["dataset 'synthetic': kfold with n_folds = 5 needs a class with at least 5 beats", "raise max_beats"],
    ),
    (
        "max-beats-leaves-fewer-beats-than-record-folds",
        lambda folder: None,
        "synthetic --protocol group-kfold",
        3,
        ["dataset 'synthetic': group-kfold with n_folds = 5", "lower n_folds"],
    ),
]


@pytest.mark.parametrize("case_id, prepare, dataset, max_beats, words", EMPTY_CASES, ids=[c[0] for c in EMPTY_CASES])
def test_a_split_part_left_empty_is_refused_at_plan_time(case_id, prepare, dataset, max_beats, words, tmp_path, capsys):
    prepare(tmp_path)
    dataset, *options = dataset.split()
    body = f'datasets = ["{dataset}"]\nmodels = ["minirocket"]\n'
    body += f"max_beats = {max_beats}\n" if max_beats else ""
    (tmp_path / "suite.toml").write_text(body)
    results = tmp_path / "results"
    code = main(
        [
            "run",
            "--suite",
            str(tmp_path / "suite.toml"),
            *options,
            "--data-dir",
            str(tmp_path),
            "--results-dir",
            str(results),
        ]
    )
    _assert_refused(capsys, code, words, results)


# ------------------------------------------------------------- 5. a dataset declares its default split protocol


def test_run_all_quick_keeps_every_dataset_s_declared_protocol():
    args = build_parser().parse_args(["run", "--all", "--quick"])
    suite = suite_from_args(args, dataset_names())
    assert suite.quick and suite.split["protocol"] == "auto"
    protocols = {name: split_settings(suite, name)["protocol"] for name in dataset_names()}
    declared = {
        "mitbih": "predefined",
        "ptbdb": "holdout",
        "synthetic": "holdout",
        "mitdb-intra": "holdout",
        "mitdb-inter": "predefined",
        "mitdb-ds1": "group-kfold",
        "wfdb-cross": "predefined",
        "mitdb-noise": "predefined",
    }
    assert {name: protocols[name] for name in declared} == declared
    args = build_parser().parse_args(["run", "--all", "--quick", "--protocol", "holdout"])
    assert split_settings(suite_from_args(args, dataset_names()), "mitdb-ds1")["protocol"] == "holdout"


def test_run_all_quick_plans_mitdb_ds1_by_record_folds_and_the_others_as_before(mitdb_dir, wfdb, tmp_path, tmp_cache):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mitdb").symlink_to(mitdb_dir, target_is_directory=True)  # mitdb alone: no noise track
    results = tmp_path / "results"
    assert (
        main(
            [
                "run",
                "--all",
                "--quick",
                "--plan-only",
                "--run-id",
                "q",
                "--data-dir",
                str(tmp_path / "data"),
                "--results-dir",
                str(results),
            ]
        )
        == 0
    )
    datasets = json.loads((results / "q" / "manifest.json").read_text())["datasets"]
    assert set(datasets) == {"synthetic", "mitdb-intra", "mitdb-inter", "mitdb-ds1"}
    protocols = {name: {s["protocol"] for s in info["splits"].values()} for name, info in datasets.items()}
    assert protocols == {
        "synthetic": {"holdout"},
        "mitdb-intra": {"holdout"},
        "mitdb-inter": {"predefined"},
        "mitdb-ds1": {"group-kfold"},
    }
    assert list(datasets["mitdb-ds1"]["splits"]) == [f"fold{k}" for k in range(1, 6)]
    assert datasets["mitdb-ds1"]["evaluation"] == "record-cv"
