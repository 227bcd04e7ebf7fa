"""Issue 17, the data side: every damaged input ends in one ``error:`` line naming the database, record and file
(or the CSV file and line) and the problem, exit code 2, no traceback, no run folder or export written.

WFDB rows copy real MIT-BIH records into tmp_path and damage them (skipped without $ECGBENCH_DATA); Kaggle rows
write small CSVs of their own."""

import gzip
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgbench.cli import main
from ecgbench.data import beat_cache
from ecgbench.data import wfdb_dataset as wd
from ecgbench.data.kaggle import N_COLUMNS

SUITE = """datasets = ["wfdb-cross"]
models = ["minirocket"]
[dataset_params.wfdb-cross]
train = "{train}"
test = "other"
train_records = ["100"]
test_records = ["101"]
"""


def _header(folder: Path, old: str, new: str):
    path = folder / "100.hea"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def _cut(name: str, size):
    def damage(folder: Path):
        path = folder / name
        data = path.read_bytes()
        path.write_bytes(data[: size(len(data))])

    return damage


def _write(name: str, data: bytes):
    return lambda folder: (folder / name).write_bytes(data)


def _annotations(samples, symbols):
    def damage(folder: Path):
        import wfdb

        wfdb.wrann("100", "atr", np.asarray(samples, dtype=np.int64), symbol=list(symbols), write_dir=str(folder))

    return damage


def _flip_a_byte(folder: Path):
    shutil.copy(folder.parent / "SHA256SUMS.txt", folder / "SHA256SUMS.txt")
    data = bytearray((folder / "100.dat").read_bytes())
    data[1000] ^= 0xFF
    (folder / "100.dat").write_bytes(bytes(data))


# WFDB annotation bytes (code << 10 | interval, little-endian; SKIP = code 59 with a 32-bit interval, high word
# first): N at 5, N at 900, a skip of -500, V at 400, N at 1200, end. wfdb's writer refuses this order.
BACKWARDS = b"".join(
    int(w).to_bytes(2, "little")
    for w in (1 << 10 | 5, 1 << 10 | 895, 59 << 10, 0xFFFF, 0xFE0C, 5 << 10 | 0, 1 << 10 | 800, 0)
)
GARBAGE = np.random.default_rng(17).integers(1, 256, 3000, dtype=np.uint8).tobytes()

# (id, train database folder name, damage of record 100, words the message must hold)
WFDB_CASES = [
    ("dat-truncated", "mitdb", _cut("100.dat", lambda n: n // 2), ["100.dat", "truncated", "650,000 samples"]),
    ("dat-empty", "mitdb", _write("100.dat", b""), ["100.dat", "empty (0 bytes)"]),
    ("dat-missing", "mitdb", lambda f: (f / "100.dat").unlink(), ["100.dat", "not found"]),
    (
        "hea-count-larger-than-data",
        "mitdb",
        lambda f: _header(f, "2 360 650000", "2 360 700000"),
        ["100.dat", "700,000 samples", "truncated"],
    ),
    (
        "hea-count-smaller-than-data",
        "mitdb",
        lambda f: _header(f, "2 360 650000", "2 360 1000"),
        ["100.dat", "1,000 samples", "would cut the record short"],
    ),
    ("hea-empty", "mitdb", _write("100.hea", b""), ["100.hea", "empty (0 bytes)"]),
    ("hea-garbage", "mitdb", _write("100.hea", GARBAGE), ["100.hea", "cannot be read"]),
    ("hea-no-signals", "mitdb", _write("100.hea", b"100 0 360 650000\n"), ["100.hea", "lists no signals"]),
    ("hea-unknown-format", "mitdb", lambda f: _header(f, "100.dat 212", "100.dat 999"), ["100.hea", "'999'"]),
    ("fs-zero", "mitdb", lambda f: _header(f, "2 360 ", "2 0 "), ["100.hea", "0 Hz, not positive"]),
    ("fs-negative", "mitdb", lambda f: _header(f, "2 360 ", "2 -5 "), ["100.hea", "-5 Hz, not positive"]),
    ("fs-not-a-number", "mitdb", lambda f: _header(f, "2 360 ", "2 fast "), ["100.hea", "'fast' is not a number"]),
    (
        "fs-wrong-for-the-database",
        "mitdb",
        lambda f: _header(f, "2 360 ", "2 250 "),
        ["100.hea", "250 Hz", "mitdb is recorded at 360 Hz"],
    ),
    ("fs-implausible", "ecgdb", lambda f: _header(f, "2 360 ", "2 20000 "), ["'ecgdb'", "100.hea", "20000 Hz"]),
    ("atr-empty", "mitdb", _write("100.atr", b""), ["100.atr", "empty (0 bytes)"]),
    ("atr-truncated", "mitdb", _cut("100.atr", lambda n: 2000), ["100.atr", "end-of-file marker", "truncated"]),
    ("atr-truncated-odd", "mitdb", _cut("100.atr", lambda n: 2001), ["100.atr", "truncated"]),
    ("atr-garbage", "mitdb", _write("100.atr", GARBAGE), ["100.atr", "not an annotation file"]),
    ("atr-garbage-with-end-marker", "mitdb", _write("100.atr", GARBAGE + b"\0\0"), ["100.atr", "in time order"]),
    (
        "atr-out-of-time-order",
        "mitdb",
        _write("100.atr", BACKWARDS),
        ["100.atr", "annotation 3 (sample 400) comes before", "damaged"],
    ),
    ("atr-no-beats", "mitdb", _annotations([5, 1000, 90_000], ["+", "~", "+"]), ["100.atr", "no beat annotations"]),
    # Beats annotated at or past the signal's end are dropped and counted, not refused (tests/test_leaks.py); a
    # record whose every beat lies there has none left:
    (
        "atr-every-beat-beyond-the-signal",
        "mitdb",
        _annotations([650_000, 650_500], ["N", "V"]),
        ["100.atr", "all 2 beat annotations lie outside the signal's 650,000 samples"],
    ),
    ("checksum-differs", "mitdb", _flip_a_byte, ["100.dat", "sha256 differs from SHA256SUMS.txt", "expected"]),
]


def _assert_refused(capsys, code, words, untouched: Path):
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert "Traceback" not in err and "Traceback" not in out
    lines = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    # no run folder or output for refused data (the results folder itself may exist, empty)
    assert not untouched.exists() or not any(untouched.iterdir()), "a run folder or output was written"
    return lines[0]


@pytest.mark.parametrize("case_id, database, damage, words", WFDB_CASES, ids=[c[0] for c in WFDB_CASES])
def test_a_damaged_wfdb_record_is_refused_by_database_record_and_file(
    case_id, database, damage, words, mitdb_dir, wfdb, tmp_path, tmp_cache, capsys
):
    data = tmp_path / "data"
    train, other = data / database, data / "other"
    for folder, record in ((train, "100"), (other, "101")):
        folder.mkdir(parents=True)
        for ext in ("hea", "dat", "atr"):
            shutil.copy(mitdb_dir / f"{record}.{ext}", folder / f"{record}.{ext}")
    shutil.copy(mitdb_dir / "SHA256SUMS.txt", data / "SHA256SUMS.txt")  # beside, not in, the folder: unchecked
    damage(train)
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(train=database))
    results = tmp_path / "results"
    code = main(["run", "--suite", str(suite), "--quick", "--data-dir", str(data), "--results-dir", str(results)])
    line = _assert_refused(capsys, code, words, results)
    assert "record 100" in line and f"{database!r}" in line


def test_intact_copies_pass_the_checks_and_checksums(mitdb_dir, wfdb, tmp_path, tmp_cache):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(mitdb_dir / f"100.{ext}", folder / f"100.{ext}")
    shutil.copy(mitdb_dir / "SHA256SUMS.txt", folder)
    dataset = wd.load_wfdb_database(folder, ["100"], context=[])
    assert len(dataset.y) == 2273


# -------------------------------------------------------------------- checksums, on small written databases


def _sums(folder: Path, wrong: str | None = None) -> None:
    from ecgbench.core.io import sha256_file

    lines = [f"{'0' * 64 if p.name == wrong else sha256_file(p)}  {p.name}\n" for p in sorted(folder.iterdir())]
    (folder / "SHA256SUMS.txt").write_text("".join(lines))


def test_checksums_are_verified_with_the_cache_key_hashes_and_can_be_skipped(databases, monkeypatch):
    data_dir, _ = databases
    alpha = data_dir / "alpha"
    _sums(alpha)
    hashed = []
    real = wd.sha256_file
    monkeypatch.setattr(wd, "sha256_file", lambda path: hashed.append(Path(path).name) or real(path))
    wd.load_wfdb_database(alpha)
    assert sorted(hashed) == sorted(set(hashed))  # every file hashed once, for the key and the check together
    _sums(alpha, wrong="101.dat")
    with pytest.raises(
        wd.EcgbenchError,
        match=r"'alpha', record 101, file 101\.dat: its sha256 differs .*"
        r"expected 0{64}, found [0-9a-f]{64}",
    ):
        wd.load_wfdb_database(alpha)
    assert len(wd.load_wfdb_database(alpha, verify_checksums=False).y) > 0
    monkeypatch.setenv("ECGBENCH_VERIFY_CHECKSUMS", "0")
    assert len(wd.load_wfdb_database(alpha).y) > 0


# ------------------------------------------------------------------------------------------ the beat cache


def test_an_unwritable_cache_warns_once_and_loading_goes_on(databases, monkeypatch, tmp_path, log_lines):
    data_dir, _ = databases
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ECGBENCH_CACHE", str(blocker / "beats"))
    monkeypatch.setattr(beat_cache, "_UNWRITABLE", set())
    first = wd.load_wfdb_database(data_dir / "alpha")
    second = wd.load_wfdb_database(data_dir / "alpha")
    np.testing.assert_array_equal(first.X, second.X)
    assert sum("cannot write the beat cache" in line for line in log_lines) == 1


def test_a_full_disk_does_not_stop_loading(databases, monkeypatch, log_lines):
    data_dir, _ = databases
    monkeypatch.setattr(beat_cache, "_UNWRITABLE", set())

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(beat_cache.np, "savez", full)
    assert len(wd.load_wfdb_database(data_dir / "beta").y) > 0
    assert any("No space left on device" in line for line in log_lines)


@pytest.mark.parametrize("damage", ["garbage", "inconsistent", "empty"])
def test_a_damaged_cache_entry_of_any_kind_is_rebuilt(databases, tmp_cache, rebuilds, damage):
    data_dir, _ = databases
    expected = wd.load_wfdb_database(data_dir / "alpha")
    entry = sorted((tmp_cache / "beats").glob("alpha_100_*.npz"))[0]
    if damage == "garbage":
        entry.write_bytes(GARBAGE)
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        with np.load(entry) as z:
            arrays = {name: z[name] for name in z.files}
        arrays["labels"] = arrays["labels"][:-3]
        beat_cache.write_entry(entry, arrays)
    rebuilds.clear()
    again = wd.load_wfdb_database(data_dir / "alpha")
    assert rebuilds == ["100"]
    np.testing.assert_array_equal(again.X, expected.X)
    np.testing.assert_array_equal(again.y, expected.y)


# ------------------------------------------------------------------------------ list: present means readable


def test_list_calls_a_database_present_only_when_its_files_are_there_and_not_empty(mitdb_dir, tmp_path, capsys):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    for path in mitdb_dir.iterdir():
        (folder / path.name).symlink_to(path)
    assert main(["list", "--data-dir", str(tmp_path)]) == 0
    assert any(line.split()[:2] == ["mitdb-intra", "present"] for line in capsys.readouterr().out.splitlines())
    (folder / "100.atr").unlink()
    (folder / "100.atr").write_bytes(b"")
    assert main(["list", "--data-dir", str(tmp_path)]) == 0
    assert any(line.split()[:2] == ["mitdb-intra", "not"] for line in capsys.readouterr().out.splitlines())


# -------------------------------------------------------------------------------------------- Kaggle CSVs


def _row(label=0) -> str:
    return ",".join(["0.5"] * (N_COLUMNS - 1) + [f"{label}.0"]) + "\n"


GOOD = (_row(0) + _row(1)) * 3

KAGGLE_CASES = [
    (
        "gzip",
        lambda d: (d / "mitbih_train.csv").write_bytes(gzip.compress(GOOD.encode())),
        ["mitbih_train.csv", "gzip file; unzip it first"],
    ),
    (
        "zip",
        lambda d: (d / "mitbih_train.csv").write_bytes(b"PK\x03\x04" + GARBAGE),
        ["mitbih_train.csv", "zip archive"],
    ),
    (
        "binary",
        lambda d: (d / "mitbih_train.csv").write_bytes(GOOD.encode() + b"\0\0\x01\x02"),
        ["mitbih_train.csv", "binary file", "line 7"],
    ),
    (
        "one-long-line",
        lambda d: (d / "mitbih_train.csv").write_text("0.5," * 100_000 + "0\n"),
        ["mitbih_train.csv line 1", "longer than 64 kB"],
    ),
    (
        "a-long-line-later",
        lambda d: (d / "mitbih_test.csv").write_text(GOOD + "1" * 70_000 + "\n" + GOOD),
        ["mitbih_test.csv line 7", "longer than 64 kB"],
    ),
    (
        "long-line-without-end",
        lambda d: (d / "mitbih_test.csv").write_text(GOOD + "1" * 3_000_000),
        ["mitbih_test.csv line 7", "longer than 64 kB"],
    ),
    (
        "a-directory",
        lambda d: ((d / "mitbih_test.csv").unlink(), (d / "mitbih_test.csv").mkdir()),
        ["mitbih_test.csv is a directory"],
    ),
    ("one-file-missing", lambda d: (d / "mitbih_test.csv").unlink(), ["mitbih_test.csv not found"]),
    ("empty", lambda d: (d / "mitbih_test.csv").write_bytes(b""), ["mitbih_test.csv is empty"]),
]


@pytest.mark.parametrize("case_id, damage, words", KAGGLE_CASES, ids=[c[0] for c in KAGGLE_CASES])
def test_a_bad_kaggle_file_is_named_with_its_problem(case_id, damage, words, tmp_path, capsys):
    for name in ("mitbih_train.csv", "mitbih_test.csv"):
        (tmp_path / name).write_text(GOOD)
    damage(tmp_path)
    out = tmp_path / "export"
    code = main(["data", "export", "mitbih", "--output", str(out), "--data-dir", str(tmp_path)])
    _assert_refused(capsys, code, words, out)


def test_record_normalisation_on_a_dataset_without_record_ids_is_refused_before_the_run(tmp_path, capsys):
    for name in ("mitbih_train.csv", "mitbih_test.csv"):
        (tmp_path / name).write_text(GOOD)
    suite = tmp_path / "suite.toml"
    suite.write_text('datasets = ["mitbih"]\nmodels = ["cnn"]\n[model_params.cnn]\nrecord_normalisation = true\n')
    results = tmp_path / "results"
    code = main(["run", "--suite", str(suite), "--quick", "--results-dir", str(results), "--data-dir", str(tmp_path)])
    _assert_refused(capsys, code, ["model 'cnn'", "record_normalisation", "dataset 'mitbih'"], results)


def test_a_misspelled_dataset_parameter_lists_the_valid_ones_as_known(tmp_path, capsys):
    suite = tmp_path / "suite.toml"
    suite.write_text('datasets = ["synthetic"]\nmodels = ["minirocket"]\n[dataset_params.synthetic]\nn_beat = 100\n')
    results = tmp_path / "results"
    code = main(["run", "--suite", str(suite), "--quick", "--results-dir", str(results)])
    line = _assert_refused(capsys, code, ["unknown parameter(s) n_beat; known: "], results)
    known = line.split("known: ")[1]
    assert "n_beats" in known and "n_beat," not in known


def test_data_export_refuses_a_damaged_record_too(mitdb_dir, wfdb, tmp_path, tmp_cache, capsys):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    for path in mitdb_dir.iterdir():
        (folder / path.name).symlink_to(path)
    (folder / "101.atr").unlink()
    (folder / "101.atr").write_bytes((mitdb_dir / "101.atr").read_bytes()[:1000])  # 101: first record of DS1
    out = tmp_path / "export"
    code = main(["data", "export", "mitdb-inter", "--output", str(out), "--data-dir", str(tmp_path)])
    _assert_refused(capsys, code, ["'mitdb', record 101, file 101.atr", "truncated"], out)


# ------------------------------------------------------------- input files that are not regular files (issue 24)


@pytest.fixture
def fifo():
    """Make FIFOs (named pipes) where input files belong. Opening one for reading blocks until a writer comes, so
    a reader that does not refuse it would hang the test: a guard thread opens each for writing after 20 s and
    closes it again, which ends any such read (the test then fails instead of hanging)."""
    import os
    import threading

    made, done = [], threading.Event()

    def release():
        if done.wait(20):
            return
        while not done.is_set():
            for path in made:
                try:
                    os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
                except OSError:
                    pass  # no reader now: nothing to release
            done.wait(0.1)

    guard = threading.Thread(target=release, daemon=True)
    guard.start()

    def make(path: Path) -> Path:
        if path.exists() or path.is_symlink():
            path.unlink()
        os.mkfifo(path)
        made.append(path)
        return path

    yield make
    done.set()
    guard.join(5)


NOT_REGULAR = "is a FIFO (named pipe), not a regular file"


@pytest.mark.parametrize("name", ["100.hea", "100.dat", "100.atr"])
def test_a_record_file_that_is_a_fifo_is_refused_by_record_and_file(
    name, mitdb_dir, wfdb, tmp_path, tmp_cache, capsys, fifo
):
    data = tmp_path / "data"
    for folder, record in ((data / "mitdb", "100"), (data / "other", "101")):
        folder.mkdir(parents=True)
        for ext in ("hea", "dat", "atr"):
            shutil.copy(mitdb_dir / f"{record}.{ext}", folder / f"{record}.{ext}")
    fifo(data / "mitdb" / name)
    suite = tmp_path / "suite.toml"
    suite.write_text(SUITE.format(train="mitdb"))
    results = tmp_path / "results"
    code = main(["run", "--suite", str(suite), "--quick", "--data-dir", str(data), "--results-dir", str(results)])
    line = _assert_refused(capsys, code, [f"record 100, file {name}", "FIFO (named pipe), not a regular file"], results)
    assert "'mitdb'" in line


@pytest.mark.parametrize("name", ["RECORDS", "SHA256SUMS.txt"])
def test_a_database_list_that_is_a_fifo_is_refused(name, mitdb_dir, wfdb, tmp_path, tmp_cache, fifo):
    from ecgbench.core.errors import EcgbenchError
    from ecgbench.data.records import list_records

    folder = tmp_path / "mitdb"
    folder.mkdir()
    for ext in ("hea", "dat", "atr"):
        shutil.copy(mitdb_dir / f"100.{ext}", folder / f"100.{ext}")
    fifo(folder / name)
    with pytest.raises(EcgbenchError, match=re.escape(f"'mitdb': {folder / name} {NOT_REGULAR}")):
        if name == "RECORDS":
            list_records(folder)
        else:
            wd.load_wfdb_database(folder, ["100"], context=[])


def test_a_suite_file_that_is_a_fifo_is_refused(tmp_path, capsys, fifo):
    suite = fifo(tmp_path / "suite.toml")
    results = tmp_path / "results"
    code = main(["run", "--suite", str(suite), "--results-dir", str(results)])
    _assert_refused(capsys, code, [f"suite file {suite} {NOT_REGULAR}"], results)


def test_a_kaggle_csv_that_is_a_fifo_is_refused(tmp_path, capsys, fifo):
    (tmp_path / "mitbih_test.csv").write_text(GOOD)
    fifo(tmp_path / "mitbih_train.csv")
    out = tmp_path / "export"
    code = main(["data", "export", "mitbih", "--output", str(out), "--data-dir", str(tmp_path)])
    _assert_refused(capsys, code, [f"mitbih_train.csv {NOT_REGULAR}"], out)


def test_a_published_file_that_is_a_fifo_is_refused(tmp_path, fifo):
    from ecgbench.core.errors import EcgbenchError
    from ecgbench.reports.leaderboard import load_published

    published = fifo(tmp_path / "published.toml")
    with pytest.raises(EcgbenchError, match=re.escape(f"published numbers file {published} {NOT_REGULAR}")):
        load_published(published)


@pytest.mark.parametrize("name", ["manifest.json", "lock.json"])
def test_a_run_folder_file_that_is_a_fifo_is_refused(name, tmp_path, capsys, fifo):
    results = tmp_path / "results"
    assert (
        main(
            [
                "run",
                "--model",
                "minirocket",
                "--dataset",
                "synthetic",
                "--quick",
                "--run-id",
                "p",
                "--results-dir",
                str(results),
                "--plan-only",
            ]
        )
        == 0
    )
    capsys.readouterr()
    fifo(results / "p" / name)
    if name == "manifest.json":
        code = main(["cells", str(results / "p")])
    else:
        code = main(
            [
                "run",
                "--model",
                "minirocket",
                "--dataset",
                "synthetic",
                "--quick",
                "--run-id",
                "p",
                "--results-dir",
                str(results),
                "--plan-only",
            ]
        )
    out, err = capsys.readouterr()
    assert code == 2 and "Traceback" not in err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert f"{results / 'p' / name} {NOT_REGULAR}" in line
