"""``ecgbench ec57`` against PhysioNet's own bxb and sumstats (WFDB 10.7.0), built from the reference C sources in
../shared/tools/wfdb-bxb (or $ECGBENCH_WFDB_BXB): every count and statistic, per record, gross and average, on
MIT-BIH records with test annotations written here (missed, shifted, extra and relabelled beats, shutdown, VF),
on the records' own reference against itself, and on nonstandard intervals. Then the command's refusals."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from ecgbench.cli import main
from ecgbench.reports import ec57

pytestmark = pytest.mark.slow  # builds bxb and scores real records

REPO = Path(__file__).resolve().parents[1]
RECORDS = ["100", "101", "105", "207", "208", "232"]  # 101 and 232: no reference V; 105, 101: reference shutdown;
# 207: ventricular flutter ([ ! ]); 208: fusion beats, unclassified beats; 232: mostly S (APCs)


def find_bxb_sources() -> Path | None:
    """The folder with PhysioNet's sources and their build script: $ECGBENCH_WFDB_BXB, else ../shared beside the
    checkout (CI), else beside $ECGBENCH_DATA (which CI points at ../shared/data)."""
    candidates = [os.environ.get("ECGBENCH_WFDB_BXB"), REPO.parent / "shared" / "tools" / "wfdb-bxb"]
    if os.environ.get("ECGBENCH_DATA"):
        candidates.append(Path(os.environ["ECGBENCH_DATA"]).parent / "tools" / "wfdb-bxb")
    for candidate in candidates:
        if candidate and (Path(candidate) / "build").is_file():
            return Path(candidate)
    return None


@pytest.fixture(scope="module")
def bxb(tmp_path_factory) -> Path:
    """bxb and sumstats built into a temporary folder (the sources' folder is read-only)."""
    sources = find_bxb_sources()
    if sources is None:
        pytest.skip(
            "PhysioNet's bxb/sumstats sources not found: set ECGBENCH_WFDB_BXB to the wfdb-bxb folder "
            "(CI: ../shared/tools/wfdb-bxb beside the checkout)"
        )
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler (cc or gcc) to build PhysioNet's bxb and sumstats")
    out = tmp_path_factory.mktemp("wfdb-bxb-bin")
    subprocess.run(["bash", str(sources / "build"), str(out)], check=True, capture_output=True, timeout=120)
    return out


SYNTHETIC = ["syn1", "syn2"]  # header-only records with the corner cases that MIT-BIH rarely or never produces
ALL = RECORDS + SYNTHETIC


def write_synthetic(wfdb, folder: Path) -> None:
    """Reference and test annotators on a grid of N beats every 300 samples (360 Hz; learning period ends at 108000)
    with, placed by hand: a test beat of the learning period that matches the first reference beat (syn1) or a test
    beat just after the start that the next one matches better (syn2); bxb's two "alternative" match criteria (beats
    closer than twice the window); a test VF followed by a one-mark (AHA style) test shutdown; a reference shutdown
    with begin and end marks over test beats; the test file ending inside a shutdown, after an earlier one (syn1) or
    not (syn2); beats past the record's end (syn1), and a header without a length (syn2: to the end of the
    reference file)."""
    start = 108_000
    for name, length in (("syn1", 150_000), ("syn2", None)):
        (folder / f"{name}.hea").write_text(f"{name} 0 360" + (f" {length}" if length else "") + "\n")
        ref = {t: "N" for t in range(20, 150_400, 300)}
        test = {t + (7 if (t // 300) % 3 else -9): "N" for t in ref}
        ref_marks: list[tuple[int, str, int]] = []
        test_marks: list[tuple[int, str, int]] = []
        if name == "syn1":
            test.pop(108_020 - 9, None), test.pop(108_020 + 7, None)
            test[start - 10] = "N"  # learning-period beat matching the first reference beat
        else:
            test[start + 10] = "V"  # dropped: the next test beat matches the reference better
            for t in (108_020 - 9, 108_020 + 7):
                test.pop(t, None)
            test[108_025] = "N"
        for t in [t for t in test if 119_700 < t < 120_400 or 129_700 < t < 130_400]:
            del test[t]
        for t in [t for t in ref if 119_700 < t < 120_400 or 129_700 < t < 130_400]:
            del ref[t]
        ref.update({120_000: "N", 120_060: "V"})  # case 1: both test beats in the window of T
        test.update({119_968: "N", 120_032: "V"})
        ref.update({129_968: "N", 130_032: "A"})  # case 3: both reference beats in the window of t
        test.update({130_000: "N", 130_060: "A"})
        test_marks += [(140_000, "[", 0), (140_500, "]", 0), (141_000, "~", -1)]  # VF, then a one-mark shutdown
        for t in [t for t in test if 140_000 < t < 141_000]:
            del test[t]
        ref_marks += [(125_000, "~", 0x30), (126_000, "~", 0)]  # reference shutdown
        for t in [t for t in ref if 125_000 < t < 126_000]:
            del ref[t]
        if name == "syn2":
            test_marks = [m for m in test_marks if m[1] != "~"]
        test = {t: sym for t, sym in test.items() if t < 146_000}
        test_marks.append((146_000, "~", 0x30))  # the test file ends in shutdown
        for annotator, beats, marks in (("atr", ref, ref_marks), ("tst", test, test_marks)):
            items = sorted([(t, sym, 0) for t, sym in beats.items()] + marks)
            wfdb.wrann(
                name,
                annotator,
                np.array([i[0] for i in items]),
                [i[1] for i in items],
                subtype=np.array([i[2] for i in items]),
                fs=360,
                write_dir=str(folder),
            )


@pytest.fixture(scope="module")
def records(mitdb_dir, tmp_path_factory) -> Path:
    """The records' .hea/.dat/.atr linked into a writable folder, with test annotators written beside them."""
    wfdb = pytest.importorskip("wfdb")
    folder = tmp_path_factory.mktemp("ec57-records")
    for record in RECORDS:
        for ext in ("hea", "dat", "atr"):
            (folder / f"{record}.{ext}").symlink_to(mitdb_dir / f"{record}.{ext}")
    for seed, record in enumerate(RECORDS):
        ref = wfdb.rdann(str(folder / record), "atr")
        length = wfdb.rdheader(str(folder / record)).sig_len
        samples, symbols, subtypes = perturbed(ref, length, seed, false_v=record != "101")
        wfdb.wrann(record, "tst", np.array(samples), symbols, subtype=np.array(subtypes), fs=360, write_dir=str(folder))
    write_synthetic(wfdb, folder)
    return folder


BEAT_SYMBOLS = set("NLRBAaJSVrFejnE/fQ!?")
S_SYMBOLS = set("AaJSjen")


def perturbed(ref, length: int, seed: int, false_v: bool = True):
    """A test annotator made from the reference with deterministic errors of every kind bxb tells apart."""
    rng = np.random.default_rng(seed)
    start = 300 * 360
    out: list[tuple[int, str, int]] = []
    vf_on = 0
    for sample, symbol, subtype in zip(ref.sample, ref.symbol, ref.subtype, strict=True):
        sample, subtype = int(sample), int(subtype)
        if symbol not in BEAT_SYMBOLS:
            if symbol == "~" or (symbol in "[]" and sample < start):  # the reference's shutdown and VF marks
                out.append((sample, symbol, subtype))
            elif symbol == "[":  # later VF: not marked in the test, which detects beats in it instead
                vf_on = sample
            elif symbol == "]":
                out += [(t, "V", 0) for t in range(vf_on + 100, sample - 100, 200)]
            continue
        u = rng.random()
        if u < 0.03:
            continue  # missed
        if u < 0.05:
            sample += int(rng.choice([-1, 1]) * rng.integers(55, 130))  # outside the 54-sample window
        else:
            sample += int(rng.integers(-20, 21))  # ordinary jitter, matched
        v = rng.random()
        if symbol == "V" and v < 0.12:
            symbol = "N"
        elif symbol in S_SYMBOLS and v < 0.15:
            symbol = "N"
        elif symbol == "F" and v < 0.15:
            symbol = "A"
        elif symbol in "FQ/f" and v < 0.3:
            symbol = "N"
        elif symbol == "N" and false_v and v < 0.02:
            symbol = "V"
        elif symbol == "N" and v < 0.04:
            symbol = "A"
        elif symbol == "N" and v < 0.045:
            symbol = str(rng.choice(["F", "Q", "/", "!", "e"]))
        out.append((sample, symbol, 0))
        w = rng.random()
        if w < 0.01:  # a double detection: two test beats in one reference beat's window
            out.append((sample + int(rng.integers(20, 50)), "N", 0))
        elif w < 0.03:  # a false beat between reference beats
            label = str(rng.choice(["N", "V", "A"] if false_v else ["N", "A"]))
            out.append((sample + int(rng.integers(100, 200)), label, 0))
    # beats at the edge of the learning period, a shutdown (begin and end marks), a VF episode over beats
    out += [(start - 10, "N", 0), (start + 20, "N", 0), (start + 60, "V" if false_v else "N", 0)]
    out += [(200_000, "~", 0x30), (203_000, "~", 0), (300_000, "[", 0), (301_500, "]", 0)]
    if seed % 2:  # the file ends inside a shutdown
        out = [a for a in out if a[0] < length - 5000] + [(length - 5000, "~", 0x30)]
    out = sorted((min(max(s, 0), length - 1), sym, sub) for s, sym, sub in out)
    return [s for s, _, _ in out], [sym for _, sym, _ in out], [sub for _, _, sub in out]


# ---- bxb and sumstats, run and read ----------------------------------------------------------------------------------


def run_bxb(bxb: Path, folder: Path, test: str, records: list[str], options: list[str]) -> dict:
    """bxb -l and -L on each record (appending to their line-format files, as the WFDB guide shows), then sumstats
    on each file: {"l": lines, "L": lines, "Ls": lines, "sum_l": text, "sum_L": text, "sum_Ls": text}."""
    files = {"l": folder / "l.txt", "ls": folder / "ls.txt", "L": folder / "L.txt", "Ls": folder / "Ls.txt"}
    for path in files.values():
        path.unlink(missing_ok=True)
    for record in records:
        for flag, a, b in (("-l", files["l"], files["ls"]), ("-L", files["L"], files["Ls"])):
            subprocess.run(
                [str(bxb / "bxb"), "-r", record, "-a", "atr", test, flag, a.name, b.name, *options],
                cwd=folder,
                check=True,
                capture_output=True,
                timeout=60,
            )
    out = {key: files[key].read_text().splitlines() for key in ("l", "L", "Ls")}
    for key in ("l", "L", "Ls"):
        out[f"sum_{key}"] = subprocess.run(
            [str(bxb / "sumstats"), files[key].name], cwd=folder, check=True, capture_output=True, text=True, timeout=60
        ).stdout
    return out


def row(text_or_lines, first: str) -> list[str]:
    lines = text_or_lines.splitlines() if isinstance(text_or_lines, str) else text_or_lines
    found = [line.split() for line in lines if line.split()[:1] == [first]]
    assert len(found) == 1, f"no single {first!r} line in:\n" + "\n".join(lines)
    return found[0][1:]


# the columns of bxb -l (no SVEB: S folded into N), as sums of ecgbench's cells
L_COLUMNS = {
    "Nn'": ("NS", "NSFQ"),
    "Vn'": ("V", "NSFQ"),
    "Fn'": ("FQ", "NSFQ"),
    "On'": ("OX", "NSFQ"),
    "Nv": ("NS", "V"),
    "Vv": ("V", "V"),
    "Fv'": ("FQ", "V"),
    "Ov'": ("OX", "V"),
    "No'": ("NS", "OX"),
    "Vo'": ("V", "OX"),
    "Fo'": ("FQ", "OX"),
}
LINE_L = [*ec57.LINE_COLUMNS]  # bxb -L's 19 count columns, in its order
STATS_L = ["q_se", "q_pp", "v_se", "v_pp", "s_se", "s_pp"]
STATS_l = ["q_se", "q_pp", "v_se", "v_pp", "v_fpr"]


def compared_numbers(evaluation: ec57.Evaluation, theirs: dict) -> list[tuple[str, str, str]]:
    """(what, ecgbench, bxb/sumstats) for every number both print, ecgbench's formatted as bxb prints it."""
    decimals = {s.key: s.decimals for s in ec57.STATISTICS}
    pairs = []
    for result in evaluation.records:
        name = result.record
        stats = ec57.record_statistics(result)
        columns = ec57.line_columns(result)
        # bxb -L: 19 counts, 6 statistics, RMS RR error
        ours = [str(columns[c]) for c in LINE_L] + [ec57.fmt(stats[k], 2) for k in STATS_L]
        ours.append(ec57.fmt(result.rr_error_ms, 2))
        pairs += [
            (f"{name} -L {what}", a, b)
            for what, a, b in zip([*LINE_L, *STATS_L, "rr"], ours, row(theirs["L"], name), strict=True)
        ]
        # bxb -l: 11 counts, 5 statistics (VEB FPR to 3 decimals)
        ours = [str(result.count(*L_COLUMNS[c])) for c in L_COLUMNS]
        ours += [ec57.fmt(stats[k], decimals[k]) for k in STATS_l]
        pairs += [
            (f"{name} -l {what}", a, b)
            for what, a, b in zip([*L_COLUMNS, *STATS_l], ours, row(theirs["l"], name), strict=True)
        ]
        # bxb -L shutdown report: Nx Sx Vx Fx Qx, then five percentages, then the shutdown time in seconds
        shutdown = row(theirs["Ls"], name)
        ours = [str(columns[c]) for c in ec57.SHUTDOWN_COLUMNS] + [str(result.shutdown_s)]
        pairs += [
            (f"{name} shutdown {what}", a, b)
            for what, a, b in zip(
                [*ec57.SHUTDOWN_COLUMNS, "seconds"], ours, shutdown[:5] + shutdown[10:11], strict=True
            )
        ]
    # sumstats: sums, gross, average
    sums = {c: sum(ec57.line_columns(r)[c] for r in evaluation.records) for c in [*LINE_L, *ec57.SHUTDOWN_COLUMNS]}
    pairs += [(f"Sum -L {c}", str(sums[c]), b) for c, b in zip(LINE_L, row(theirs["sum_L"], "Sum"), strict=True)]
    sums_l = [str(sum(r.count(*L_COLUMNS[c]) for r in evaluation.records)) for c in L_COLUMNS]
    pairs += [(f"Sum -l {c}", a, b) for c, a, b in zip(L_COLUMNS, sums_l, row(theirs["sum_l"], "Sum"), strict=True)]
    shutdown_sum = row(theirs["sum_Ls"], "Sum")
    ours = [str(sums[c]) for c in ec57.SHUTDOWN_COLUMNS] + [str(sum(r.shutdown_s for r in evaluation.records))]
    pairs += [(f"Sum shutdown {i}", a, b) for i, (a, b) in enumerate(zip(ours, shutdown_sum[:6], strict=True))]
    for kind, keys in (("L", STATS_L), ("l", STATS_l)):
        gross = [ec57.fmt(evaluation.gross[k], decimals[k]) for k in keys]
        average = [ec57.fmt(evaluation.average[k], decimals[k]) for k in keys]
        names = keys
        if kind == "L":
            average.append(ec57.fmt(evaluation.average["rr_err"], 2))
            names = [*keys, "rr"]
        pairs += [
            (f"Gross -{kind} {k}", a, b)
            for k, a, b in zip(keys, gross, row(theirs[f"sum_{kind}"], "Gross"), strict=True)
        ]
        pairs += [
            (f"Average -{kind} {k}", a, b)
            for k, a, b in zip(names, average, row(theirs[f"sum_{kind}"], "Average"), strict=True)
        ]
    return pairs


CASES = {
    # (test annotator, ecgbench settings, bxb options)
    "errors-ec57": ("tst", ec57.Settings(), []),
    "perfect-ec57": ("atr", ec57.Settings(), []),
    "errors-from-0-to-either-end": ("tst", ec57.Settings(start_s=0, end_s=0), ["-f", "0", "-t", "0"]),
    "errors-60s-to-900s-window-100ms": (
        "tst",
        ec57.Settings(start_s=60, end_s=900, window_s=0.1),
        ["-f", "60", "-t", "900", "-w", "0.1"],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_number_agrees_with_physionet_bxb_and_sumstats(case, bxb, records, capsys):
    test, settings, options = CASES[case]
    evaluation = ec57.evaluate(records, test, "atr", ALL, settings)
    pairs = compared_numbers(evaluation, run_bxb(bxb, records, test, ALL, options))
    different = [p for p in pairs if p[1] != p[2]]
    assert not different, f"{len(different)} of {len(pairs)} numbers differ (what, ecgbench, bxb): {different[:20]}"
    # per record: -L 19 counts + 6 statistics + RR error, -l 11 + 5, shutdown 5 + 1; sumstats: sums 19 + 11 + 6,
    # gross and average 6 + 7 (-L) and 5 + 5 (-l)
    assert len(pairs) == len(ALL) * (26 + 16 + 6) + 19 + 11 + 6 + 13 + 10
    with capsys.disabled():
        print(f"\n{case}: {len(pairs)} numbers compared with bxb/sumstats, all equal")


def test_the_perturbed_annotator_exercises_every_kind_of_disagreement(records):
    """Guards the comparison above against testing little: the test annotator must produce misses, false beats,
    every class confusion the statistics use, shutdown, and records left out of the averages."""
    evaluation = ec57.evaluate(records, "tst", "atr", RECORDS)
    total = {cell: sum(r.cells[cell] for r in evaluation.records) for cell in ec57.CELLS}
    for cell in ("No", "Vo", "So", "On", "Ov", "Os", "Nv", "Vn", "Sn", "Ns", "Nx", "Fn", "Qn"):
        assert total[cell] > 0, cell
    assert evaluation.excluded["v_se"] == ["101", "232"]  # no reference V: out of the VEB Se average
    assert "101" in evaluation.excluded["v_pp"]  # ... and out of +P where the test calls none V either
    assert "232" not in evaluation.excluded["v_pp"]  # false V on a record without V: +P 0, averaged
    assert any(r.shutdown_s > 0 for r in evaluation.records)


def test_ec57_command_prints_and_writes_the_tables_and_never_overwrites(records, tmp_path, capsys):
    md, csv = tmp_path / "ec57.md", tmp_path / "ec57.csv"
    assert (
        main(
            ["ec57", str(records), "--test", "tst", "--records", "100", "232", "--markdown", str(md), "--csv", str(csv)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Gross" in out and "Average" in out and "VEB Se average leaves out 1 record(s)" in out
    assert md.read_text().startswith("# EC57") and csv.read_text().splitlines()[-1].startswith("average,")
    before = md.read_text()
    assert main(["ec57", str(records), "--test", "atr", "--records", "100", "--markdown", str(md)]) == 2
    assert "exists; pass --overwrite" in capsys.readouterr().err and md.read_text() == before
    assert main(["ec57", str(records), "--test", "atr", "--records", "100", "--markdown", str(md), "--overwrite"]) == 0
    assert md.read_text() != before


# ---- refusals: one line naming the record or file, exit 2 ------------------------------------------------------------


def _refused(capsys, argv, *words):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in lines[0], lines[0]


def test_bad_inputs_are_refused_in_one_line(records, tmp_path, capsys):
    _refused(capsys, ["ec57", str(tmp_path / "nowhere"), "--test", "tst"], "nowhere", "no such folder")
    _refused(capsys, ["ec57", str(records), "--test", "qrs", "--records", "100"], "unknown annotator 'qrs'")
    _refused(capsys, ["ec57", str(records), "--test", "tst", "--records", "100", "999"], "record 999", "999.hea")
    folder = tmp_path / "some"
    folder.mkdir()
    for record in ("100", "101"):
        for ext in ("hea", "atr"):
            (folder / f"{record}.{ext}").symlink_to(records / f"{record}.{ext}")
    (folder / "100.tst").symlink_to(records / "100.tst")
    _refused(capsys, ["ec57", str(folder), "--test", "tst"], "record 101", "no 'tst' annotations", "101.tst")
    (folder / "101.tst").write_bytes(b"\x01\x02\x03")  # odd length: not an annotation file
    _refused(capsys, ["ec57", str(folder), "--test", "tst"], "record 101", "101.tst", "not a WFDB annotation file")
    (folder / "101.tst").unlink()
    (folder / "101.tst").symlink_to(records / "101.tst")
    (folder / "101.hea").unlink()
    (folder / "101.hea").write_text("this is not a header\n")
    _refused(capsys, ["ec57", str(folder), "--test", "tst"], "record 101", "101.hea", "not a WFDB header")


def test_sumstats_rules_on_random_line_reports(bxb, tmp_path):
    """sumstats alone, on a bxb -L report of 40 made-up records (many zero counts, so that records drop out of
    averages, and RR errors whose rounding to 2 decimals changes their mean): its Sum, Gross and Average lines."""
    rng = np.random.default_rng(57)
    columns = {
        "Nn'": "Nn",
        "Sn'": "Sn",
        "Vn'": "Vn",
        "Fn'": "Fn",
        "On'": "On",
        "Ns": "Ns",
        "Ss": "Ss",
        "Vs": "Vs",
        "Fs'": "Fs",
        "Os'": "Os",
        "Nv": "Nv",
        "Sv": "Sv",
        "Vv": "Vv",
        "Fv'": "Fv",
        "Ov'": "Ov",
        "No'": "No",
        "So'": "So",
        "Vo'": "Vo",
        "Fo'": "Fo",
    }
    results, lines = [], []
    for i in range(40):
        counts = {cell: int(rng.integers(0, 40) * (rng.random() < 0.4)) for cell in columns.values()}
        counts["Nn"] = int(rng.integers(0, 3000) * (rng.random() < 0.95))
        # RR errors mostly just under half a hundredth: their mean is 0.01 before bxb's rounding, 0.00 after
        rr = None if rng.random() < 0.2 else float(rng.choice([0.004, 0.004, 0.004, 0.0149]))
        result = ec57.RecordResult(f"r{i}", {**dict.fromkeys(ec57.CELLS, 0), **counts}, rr, 0, 360.0, 54, 0, 0)
        results.append(result)
        stats = ec57.record_statistics(result)
        lines.append(
            f"r{i} "
            + " ".join(str(counts[c]) for c in columns.values())
            + " "
            + " ".join(ec57.fmt(stats[k], 2) for k in STATS_L)
            + " "
            + ec57.fmt(rr, 2)
        )
    report = tmp_path / "L.txt"
    report.write_text(
        "Record Nn' Sn' Vn' Fn' On'  Ns  Ss  Vs  Fs' Os' Nv  Sv   Vv  Fv' Ov' No' So' Vo' Fo'  Q Se   "
        "Q +P   V Se   V +P   S Se   S +P RR err\n" + "\n".join(lines) + "\n"
    )
    out = subprocess.run(
        [str(bxb / "sumstats"), report.name], cwd=tmp_path, check=True, capture_output=True, text=True, timeout=60
    ).stdout
    evaluation = ec57.summarize(results)
    assert row(out, "Sum") == [str(sum(ec57.line_columns(r)[c] for r in results)) for c in LINE_L]
    assert row(out, "Gross") == [ec57.fmt(evaluation.gross[k], 2) for k in STATS_L]
    assert row(out, "Average") == [ec57.fmt(evaluation.average[k], 2) for k in [*STATS_L, "rr_err"]]
    assert 0 < evaluation.averaged["s_pp"] < 40 and 0 < evaluation.averaged["rr_err"] < 40
