"""ANSI/AAMI EC57 beat-by-beat evaluation of a test annotator against a reference annotator, computed the way
PhysioNet's ``bxb`` (per record) and ``sumstats`` (gross and average over records) of WFDB 10.7.0 compute it.

The matching loop below is a line-for-line port of bxb.c (``main``, ``getref``, ``gettest``, ``pair``, ``rpann``,
``tpann``), so that its corner cases (beats just outside the learning period, shutdown, ventricular flutter, the end
of the record) come out the same; the statistics follow bxb's per-record formulas and sumstats' gross and average
ones, which differ in one place (SVEB +P, see ``STATISTICS``). docs/ec57.md states the rules; tests/test_ec57.py
checks every number against the C programs built from PhysioNet's sources.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ecgbench.core.errors import EcgbenchError

# ---- annotation codes (WFDB ecgcodes.h / ecgmap.h) -----------------------------------------------------------------

NOISE, VFON, VFOFF = 14, 32, 33
# isqrs(): the codes the WFDB library counts as QRS complexes. FLWAV (31, '!') is one, but amap() gives it no beat
# class ('O'), so a reference flutter wave never counts as a beat and a test one never as a detection.
QRS_CODES = frozenset({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 25, 30, 31, 34, 35, 38, 41})
# amap() with SVEB statistics (bxb -L): N = normal and bundle branch block; S = supraventricular ectopic and escape
# beats, aberrated APCs included; V = PVC, R-on-T, ventricular escape; F = fusion of V and N; Q = unclassifiable,
# paced, fusion of paced and normal, and LEARN (which EC57 allows only in the learning period).
AAMI_CLASS = {
    1: "N",
    2: "N",
    3: "N",
    25: "N",
    4: "S",
    7: "S",
    8: "S",
    9: "S",
    11: "S",
    34: "S",
    35: "S",
    5: "V",
    10: "V",
    41: "V",
    6: "F",
    12: "Q",
    13: "Q",
    30: "Q",
    38: "Q",
}
BEATS = "NSVFQ"
# 'O': no beat at that time in the other file; 'X': none because the other file marks shutdown (both signals
# unreadable) there. pair() counts a beat against a beat or a pseudo-beat, never a pseudo-beat against one.
CELLS = tuple(r + t.lower() for r in BEATS + "OX" for t in BEATS + "OX" if r in BEATS or t in BEATS)
HUGE = 2**63 - 1  # WFDB_TIME_MAX: bxb's time of the annotation after the last one


@dataclass(frozen=True)
class Settings:
    """bxb's comparison interval and match window. The EC57 values are the defaults; any other is what bxb calls a
    "nonstandard comparison" (its -f, -t and -w options)."""

    start_s: float = 300.0  # -f: the learning period, excluded (5 minutes)
    end_s: float | None = None  # -t: None = the record's end from its header (0: the end of either file)
    window_s: float = 0.15  # -w: the match window, 150 ms each side

    @property
    def standard(self) -> bool:
        return self == Settings()


# ---- one record: bxb ------------------------------------------------------------------------------------------------


@dataclass
class Annotations:
    """One annotator's annotations of one record, in file order: time (samples), WFDB code, subtype."""

    time: list[int]
    code: list[int]
    subtype: list[int]


class _Side:
    """One annotator as bxb reads it: the current and next beat (time, AAMI class) and the state that getref() and
    gettest() keep (the last two VF and shutdown periods, the RR interval before the current beat). ``test`` marks
    the test side, whose shutdown is tallied (and read slightly differently at the end of its file)."""

    def __init__(self, ann: Annotations, test: bool):
        self.ann, self.i, self.test = ann, 0, test
        self.cur = self.next = 0
        self.cls: str | int = 0  # 0 before the first read, as bxb's globals start
        self.next_cls: str | int = 0
        self.rr = 0
        self.sdon = self.sdoff = self.vfon = self.vfoff = -1
        self.psdon = self.psdoff = self.pvfon = self.pvfoff = -1
        self.shutdown = 0  # samples of test shutdown (test side only)

    def _read(self):
        if self.i >= len(self.ann.time):
            return None
        self.i += 1
        return self.ann.time[self.i - 1], self.ann.code[self.i - 1], self.ann.subtype[self.i - 1]

    def _at_end(self) -> None:
        self.next, self.next_cls = HUGE, "*"

    def advance(self, match_dt: int, end_time: int) -> None:
        """getref() / gettest(): the next beat becomes the current one; read on to the one after it."""
        prev = self.cur
        self.cur, self.cls = self.next, self.next_cls
        cur = self.cur
        # No RR interval across the first beat, the end, or a VF or shutdown period that began between the beats.
        if prev == 0 or cur == HUGE or any(prev <= on < cur for on in (self.vfon, self.sdon, self.pvfon, self.psdon)):
            self.rr = 0
        else:
            self.rr = cur - prev
        while (ann := self._read()) is not None:
            time, code, subtype = ann
            if code in QRS_CODES:
                self.next, self.next_cls = time, AAMI_CLASS.get(code, "O")
                return
            if code == NOISE and subtype & 0x30 == 0x30:  # both signals unreadable: shutdown begins
                self.psdon, self.psdoff = self.sdon, self.sdoff
                self.sdon = time
                after = self._read()
                if after is None:  # the file ends inside the shutdown
                    if self.test:
                        if end_time > 0:
                            self.shutdown += end_time - self.sdon
                    else:
                        self.sdoff = HUGE
                    return self._at_end()
                if after[1] == NOISE and after[2] & 0x30 != 0x30:
                    self.sdoff = after[0]
                else:  # AHA style: one mark in the middle; shutdown spans the gap less a window at each end
                    self.sdon = (self.vfoff if self.vfoff > cur else cur) + match_dt
                    self.sdoff = after[0] - match_dt
                    self.sdon = min(self.sdon, self.sdoff)
                    self.i -= 1  # ungetann(): the annotation after the mark is read again
                if self.test:
                    self.shutdown += self.sdoff - self.sdon
            elif code == VFON:  # everything up to VFOFF is skipped, beats included
                self.pvfon, self.pvfoff = self.vfon, self.vfoff
                self.vfon = time
                while True:
                    after = self._read()
                    if after is None:
                        return self._at_end()
                    if after[1] == VFOFF:
                        break
                self.vfoff = after[0]
        self._at_end()

    def in_shutdown(self, t: int) -> bool:
        return (self.sdon != -1 and self.sdon <= t and (t <= self.sdoff or self.sdoff == -1)) or (
            self.psdon != -1 and self.psdon <= t <= self.psdoff
        )

    def in_vf(self, t: int) -> bool:
        return (self.vfon != -1 and self.vfon <= t and (t <= self.vfoff or self.vfoff == -1)) or (
            self.pvfon != -1 and self.pvfon <= t <= self.pvfoff
        )


@dataclass
class RecordResult:
    """bxb's result for one record: the 45 counters of its confusion table (``cells["Vn"]``: reference V, test N;
    ``O``/``X`` as in CELLS), the RMS RR-interval error and the test annotator's shutdown time."""

    record: str
    cells: dict[str, int]
    rr_error_ms: float | None  # None: no pair of RR intervals to compare
    shutdown_s: int  # rounded to the nearest second, as bxb prints it
    fs: float
    window: int  # samples
    start: int  # samples
    end: int  # samples; -1: the end of the reference file, 0: the end of either file

    def count(self, ref: str, test: str) -> int:
        """The sum of the cells whose reference class is in ``ref`` and test class in ``test``."""
        return sum(self.cells.get(r + t.lower(), 0) for r in ref for t in test)


def counted_record(record: str, pairs: dict[str, int]) -> RecordResult:
    """A record's bxb table from counts of (reference class, test class) pairs named as in CELLS (``{"Vv": 40,
    "Nv": 2}``), for beats paired some other way than bxb's matching (a classifier's beats cut at the reference
    beats): no RR error, no shutdown, no window or comparison interval."""
    unknown = set(pairs) - set(CELLS)
    if unknown:
        raise EcgbenchError(f"record {record}: no such bxb cell(s): {', '.join(sorted(unknown))}")
    return RecordResult(record, {**dict.fromkeys(CELLS, 0), **pairs}, None, 0, 0.0, 0, 0, 0)


def compare_annotations(
    ref: Annotations,
    test: Annotations,
    fs: float,
    n_samples: int | None,
    settings: Settings = Settings(),
    record: str = "",
) -> RecordResult:
    """bxb -r RECORD -a REF TEST: the beat-by-beat comparison of one record."""
    fs = fs if fs and fs > 0 else 250.0  # bxb assumes WFDB_DEFFREQ when the header gives none
    window = _samples(settings.window_s, fs)
    start = _samples(settings.start_s, fs)
    if settings.end_s is not None:
        end = _samples(settings.end_s, fs)
    else:
        end = n_samples if n_samples else -1  # unknown length: to the end of the reference file
    if 0 < end < start:
        raise EcgbenchError(
            f"record {record}: the comparison would end ({end} samples) before it starts ({start} samples)"
        )
    r, t = _Side(ref, test=False), _Side(test, test=True)
    cells = dict.fromkeys(CELLS, 0)
    rr = [0.0, 0]  # sum of squared RR differences, number of them

    def pair(ref_class, test_class) -> None:
        key = f"{ref_class}{str(test_class).lower()}"  # '*' (a test beat in reference VF), 0 (none yet): no cell
        if key in cells:
            cells[key] += 1
        # The RR error is tallied for every call, pseudo-beats included, as bxb does.
        if r.rr > 0 and t.rr > 0:
            rr[0] += float(r.rr - t.rr) ** 2
            rr[1] += 1

    def rpann(time: int) -> str:  # the pseudo-beat of the reference for an unmatched test beat
        return "*" if r.in_vf(time) else "X" if r.in_shutdown(time) else "O"

    def tpann(time: int) -> str:  # ... of the test for an unmatched reference beat (no VF rule here)
        return "X" if t.in_shutdown(time) else "O"

    # The first reference beat at or after the start, and the last test beat before it.
    r.advance(window, end)
    while r.cur < start:
        r.advance(window, end)
    t.advance(window, end)
    while t.next < start:
        t.advance(window, end)
    if r.cur - t.cur < abs(r.cur - t.next) and r.cur - t.cur <= window:
        # A test beat of the learning period matches the first reference beat: it counts.
        if r.cls != 0 or t.cls != 0:
            pair(r.cls, t.cls)
        r.advance(window, end)
        t.advance(window, end)
    else:
        t.advance(window, end)
        # A test beat just after the start that the next one matches better is dropped without being counted.
        if t.cur - start <= window and abs(r.cur - t.next) < abs(r.cur - t.cur):
            t.advance(window, end)

    while (
        (end > 0 and (r.cur <= end or t.cur <= end))
        or (end == -1 and r.cur != HUGE)
        or (end == 0 and r.cur != HUGE and t.cur != HUGE)
    ):
        T, Tn, tt, tn = r.cur, r.next, t.cur, t.next
        if tt < T:
            if T - tt <= window and (T - tt < abs(T - tn) or abs(Tn - tn) < abs(T - tn)):
                pair(r.cls, t.cls)
                r.advance(window, end)
                t.advance(window, end)
            else:
                pair(rpann(tt), t.cls)
                t.advance(window, end)
        else:
            if tt - T <= window and (tt - T < abs(tt - Tn) or abs(tn - Tn) < abs(tt - Tn)):
                pair(r.cls, t.cls)
                t.advance(window, end)
                r.advance(window, end)
            else:
                pair(r.cls, tpann(T))
                r.advance(window, end)

    one_second = _samples(1.0, fs)
    # bxb starts the tally at half a second so that its integer division rounds to the nearest second.
    shutdown = _c_div(_samples(0.5, fs) + t.shutdown, one_second)
    rr_error = math.sqrt(rr[0] / rr[1]) * 1000.0 / one_second if rr[1] else None
    return RecordResult(record, cells, rr_error, shutdown, fs, window, start, end)


def _samples(seconds: float, fs: float) -> int:
    """WFDB's strtim() for a time in seconds: rounded half up."""
    return int(seconds * fs + 0.5)


def _c_div(a: int, b: int) -> int:
    """C's integer division (truncates towards zero)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


# ---- statistics: bxb per record, sumstats over records -------------------------------------------------------------

ALL, PSEUDO = BEATS, "OX"


@dataclass(frozen=True)
class Statistic:
    """A ratio of sums of cells, printed as a percentage: bxb's per record; ``ratio(pooled=True)`` is what sumstats
    sums for the gross value and averages over records."""

    key: str
    label: str
    decimals: int
    numerator: tuple[tuple[str, str], ...]  # (reference classes, test classes) blocks of cells
    denominator: tuple[tuple[str, str], ...]
    # sumstats' denominator where it differs from bxb's (SVEB +P: bxb counts test S on reference F as false
    # positives, sumstats does not)
    pooled_denominator: tuple[tuple[str, str], ...] | None = None

    def ratio(self, result: RecordResult, pooled: bool = False) -> tuple[int, int]:
        denominator = self.pooled_denominator if pooled and self.pooled_denominator else self.denominator
        return (sum(result.count(r, t) for r, t in self.numerator), sum(result.count(r, t) for r, t in denominator))


def _stat(key, label, decimals, numerator, false, pooled_false=None) -> Statistic:
    return Statistic(
        key, label, decimals, numerator, numerator + false, numerator + pooled_false if pooled_false else None
    )


STATISTICS = (
    _stat("q_se", "QRS Se", 2, ((ALL, ALL),), ((ALL, PSEUDO),)),
    _stat("q_pp", "QRS +P", 2, ((ALL, ALL),), ((PSEUDO, ALL),)),
    _stat("v_se", "VEB Se", 2, (("V", "V"),), (("V", "NSFQOX"),)),
    _stat("v_pp", "VEB +P", 2, (("V", "V"),), (("NSOX", "V"),)),  # test V on reference F or Q: no error
    _stat("v_fpr", "VEB FPR", 3, (("NSOX", "V"),), (("NSFQOX", "NSFQ"),)),  # false V among reference non-V
    _stat("s_se", "SVEB Se", 2, (("S", "S"),), (("S", "NVFQOX"),)),
    _stat("s_pp", "SVEB +P", 2, (("S", "S"),), (("NVFOX", "S"),), pooled_false=(("NVOX", "S"),)),
)


@dataclass(frozen=True)
class _RRError:
    """The RMS RR-interval error (bxb -L), averaged by sumstats over the records that have one (no gross value)."""

    key: str = "rr_err"
    label: str = "RR err ms"
    decimals: int = 2


RR_ERROR = _RRError()


def percent(numerator: float, denominator: float) -> float | None:
    """100 a / b as bxb and sumstats compute it; None (printed '-') where b is 0."""
    return 100.0 * numerator / denominator if denominator > 0 else None


def record_statistics(result: RecordResult) -> dict[str, float | None]:
    """bxb's statistics of one record (percentages; FPR too)."""
    return {s.key: percent(*s.ratio(result)) for s in STATISTICS}


@dataclass
class Evaluation:
    """The per-record results and sumstats' pooled statistics: ``gross`` (sums of counts over records, then the
    ratio) and ``average`` (the mean of the per-record ratios over the records where the ratio is defined; how many
    in ``averaged``, which are left out in ``excluded``)."""

    records: list[RecordResult]
    gross: dict[str, float | None] = field(default_factory=dict)
    average: dict[str, float | None] = field(default_factory=dict)
    averaged: dict[str, int] = field(default_factory=dict)
    excluded: dict[str, list[str]] = field(default_factory=dict)


def summarize(records: list[RecordResult]) -> Evaluation:
    """sumstats on bxb's line-format reports (-l for VEB FPR, -L for the rest)."""
    evaluation = Evaluation(records)
    for stat in STATISTICS:
        ratios = [(result.record, *stat.ratio(result, pooled=True)) for result in records]
        evaluation.gross[stat.key] = percent(float(sum(n for _, n, _ in ratios)), float(sum(d for _, _, d in ratios)))
        _average(evaluation, stat.key, [(name, n / float(d) if d else None) for name, n, d in ratios])
    # sumstats reads each record's RR error from bxb's printed report, that is rounded to 2 decimals, and keeps
    # their sum divided by 100 (its averages are all printed as 100 * sum / count)
    _average(
        evaluation, RR_ERROR.key, [(result.record, _rounded(result.rr_error_ms)) for result in records], scale=100.0
    )
    return evaluation


def _average(evaluation: Evaluation, key: str, values: list[tuple[str, float | None]], scale: float = 1.0) -> None:
    """sumstats' average: the mean over the records that have a value (the others are named in ``excluded``), summed
    in record order as sumstats sums, so that the doubles agree to the last bit."""
    total = 0.0
    for _, value in values:
        if value is not None:
            total += value
    kept = sum(value is not None for _, value in values)
    evaluation.average[key] = percent(total / scale, kept)
    evaluation.averaged[key] = kept
    evaluation.excluded[key] = [name for name, value in values if value is None]


def _rounded(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.2f}")


def fmt(value: float | None, decimals: int) -> str:
    """A statistic printed the way bxb and sumstats print it ('-' where undefined)."""
    return "-" if value is None else f"{value:.{decimals}f}"


# ---- the line-format columns (bxb -L), and a record folder ----------------------------------------------------------

# bxb's line-format report folds some cells together: a primed column adds the F/Q/O/X cells shown beside it.
LINE_COLUMNS = {
    "Nn'": ("N", "NFQ"),
    "Sn'": ("S", "NFQ"),
    "Vn'": ("V", "NFQ"),
    "Fn'": ("FQ", "NFQ"),
    "On'": ("OX", "NFQ"),
    "Ns": ("N", "S"),
    "Ss": ("S", "S"),
    "Vs": ("V", "S"),
    "Fs'": ("FQ", "S"),
    "Os'": ("OX", "S"),
    "Nv": ("N", "V"),
    "Sv": ("S", "V"),
    "Vv": ("V", "V"),
    "Fv'": ("FQ", "V"),
    "Ov'": ("OX", "V"),
    "No'": ("N", "OX"),
    "So'": ("S", "OX"),
    "Vo'": ("V", "OX"),
    "Fo'": ("FQ", "OX"),
}
SHUTDOWN_COLUMNS = {"Nx": ("N", "X"), "Sx": ("S", "X"), "Vx": ("V", "X"), "Fx": ("F", "X"), "Qx": ("Q", "X")}


def line_columns(result: RecordResult) -> dict[str, int]:
    return {name: result.count(r, t) for name, (r, t) in {**LINE_COLUMNS, **SHUTDOWN_COLUMNS}.items()}


def record_names(folder: Path, records: list[str] | None) -> list[str]:
    """The records asked for, else those the folder's RECORDS file lists, else every header in it."""
    if not folder.is_dir():
        raise EcgbenchError(f"{folder}: no such folder" if not folder.exists() else f"{folder}: not a folder")
    if records:
        return list(dict.fromkeys(records))
    listing = folder / "RECORDS"
    if listing.is_file():
        names = [line.strip() for line in listing.read_text(encoding="utf-8", errors="replace").splitlines()]
        names = [name for name in names if name]
    else:
        names = sorted(path.stem for path in folder.glob("*.hea"))
    if not names:
        raise EcgbenchError(f"{folder}: no WFDB records in it (no .hea files)")
    return names


def read_annotations(folder: Path, record: str, annotator: str, fs: float) -> Annotations:
    import wfdb

    path = folder / f"{record}.{annotator}"
    if not path.is_file():
        raise EcgbenchError(f"record {record}: no '{annotator}' annotations ({path} not found)")
    try:
        ann = wfdb.rdann(str(folder / record), annotator, return_label_elements=["label_store"])
    except Exception as exc:  # wfdb raises many kinds on a file that is not an annotation file
        raise EcgbenchError(
            f"record {record}: {path} is not a WFDB annotation file ({type(exc).__name__}: {exc})"
        ) from None
    times = [int(x) for x in ann.sample]
    if any(b < a for a, b in zip(times, times[1:], strict=False)) or (times and times[0] < 0):
        raise EcgbenchError(f"record {record}: {path} is not a WFDB annotation file (annotation times go backwards)")
    if ann.fs and fs and abs(float(ann.fs) - fs) > 1e-9:
        raise EcgbenchError(
            f"record {record}: {path} has its own time resolution ({ann.fs} Hz, the record "
            f"{fs} Hz); rescaling annotation times is not supported"
        )
    return Annotations(times, [int(x) for x in ann.label_store], [int(x) for x in ann.subtype])


def read_header(folder: Path, record: str) -> tuple[float, int | None]:
    """The record's sampling frequency and length in samples (None where the header gives none)."""
    import wfdb

    path = folder / f"{record}.hea"
    if not path.is_file():
        raise EcgbenchError(f"record {record}: {path} not found")
    try:
        header = wfdb.rdheader(str(folder / record))
    except Exception as exc:
        raise EcgbenchError(f"record {record}: {path} is not a WFDB header ({type(exc).__name__}: {exc})") from None
    return float(header.fs or 0), header.sig_len or None


def evaluate(
    folder: str | Path, test: str, ref: str = "atr", records: list[str] | None = None, settings: Settings = Settings()
) -> Evaluation:
    """EC57 evaluation of annotator ``test`` against ``ref`` on the records of ``folder`` (bxb + sumstats)."""
    folder = Path(folder)
    names = record_names(folder, records)
    for annotator in (ref, test):
        if not any((folder / f"{name}.{annotator}").is_file() for name in names):
            raise EcgbenchError(
                f"unknown annotator '{annotator}': no record in {folder} has it (no {names[0]}.{annotator}, ...)"
            )
    results = []
    for name in names:
        fs, length = read_header(folder, name)
        ref_ann = read_annotations(folder, name, ref, fs)
        test_ann = read_annotations(folder, name, test, fs)
        results.append(compare_annotations(ref_ann, test_ann, fs, length, settings, record=name))
    return summarize(results)


# ---- reports ---------------------------------------------------------------------------------------------------------


def _count_rows(evaluation: Evaluation) -> list[list[str]]:
    names = [*LINE_COLUMNS, *SHUTDOWN_COLUMNS]
    rows = [["Record", *names, "Shutdown s"]]
    sums = dict.fromkeys(names, 0)
    for result in evaluation.records:
        columns = line_columns(result)
        for name in names:
            sums[name] += columns[name]
        rows.append([result.record, *(str(columns[n]) for n in names), str(result.shutdown_s)])
    rows.append(["Sum", *(str(sums[n]) for n in names), str(sum(r.shutdown_s for r in evaluation.records))])
    return rows


def _stat_rows(evaluation: Evaluation) -> list[list[str]]:
    stats = (*STATISTICS, RR_ERROR)
    rows = [["Record", *(s.label for s in stats)]]
    for result in evaluation.records:
        values = record_statistics(result)
        rows.append(
            [
                result.record,
                *(fmt(values[s.key], s.decimals) for s in STATISTICS),
                fmt(result.rr_error_ms, RR_ERROR.decimals),
            ]
        )
    rows.append(["Gross", *(fmt(evaluation.gross.get(s.key), s.decimals) if s is not RR_ERROR else "" for s in stats)])
    rows.append(["Average", *(fmt(evaluation.average[s.key], s.decimals) for s in stats)])
    rows.append(["averaged over", *(str(evaluation.averaged[s.key]) for s in stats)])
    return rows


def _notes(evaluation: Evaluation) -> list[str]:
    first = evaluation.records[0]
    settings = (
        f"learning period: the first {first.start} samples ({first.start / first.fs:g} s) of each record "
        f"excluded; match window {first.window} samples ({first.window / first.fs * 1000:g} ms); "
    )
    settings += (
        "to the end of each record"
        if first.end > 0
        else "to the end of the reference annotations"
        if first.end == -1
        else "to the end of either annotation file"
    )
    notes = [settings + (f" (at {first.fs:g} Hz)" if len({r.fs for r in evaluation.records}) == 1 else "")]
    labels = {s.key: s.label for s in (*STATISTICS, RR_ERROR)}
    for key, records in evaluation.excluded.items():
        if records:
            why = "no pair of RR intervals" if key == RR_ERROR.key else "its denominator is 0"
            notes.append(f"{labels[key]} average leaves out {len(records)} record(s) where {why}: " + " ".join(records))
    notes.append(
        "SVEB +P per record is bxb's (test S on reference F counts as false); Gross and Average are "
        "sumstats' (it does not)"
    )
    return notes


def _aligned(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def _markdown_table(rows: list[list[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "|".join("---" if i == 0 else "---:" for i in range(len(rows[0]))) + "|",
    ]
    return lines + ["| " + " | ".join(row) + " |" for row in rows[1:]]


def report_text(evaluation: Evaluation, title: str) -> str:
    lines = [title, "", "Beat-by-beat counts (reference class upper case, test class lower case; bxb -L columns):"]
    lines += _aligned(_count_rows(evaluation))
    lines += ["", "Statistics (%, VEB FPR to 3 decimals):"]
    lines += _aligned(_stat_rows(evaluation))
    lines += ["", *_notes(evaluation)]
    return "\n".join(lines) + "\n"


def report_markdown(evaluation: Evaluation, title: str) -> str:
    lines = [
        f"# {title}",
        "",
        "Beat-by-beat counts (reference class upper case, test class lower case; bxb -L "
        "columns; a primed column adds the F/Q/O/X cells folded into it):",
        "",
    ]
    lines += _markdown_table(_count_rows(evaluation))
    lines += ["", "Statistics (%, VEB FPR to 3 decimals):", ""]
    lines += _markdown_table(_stat_rows(evaluation))
    lines += ["", *(f"- {note}" for note in _notes(evaluation))]
    return "\n".join(lines) + "\n"


def report_csv(evaluation: Evaluation) -> str:
    """One row per record with every cell of bxb's table and the statistics at full precision, then Gross and
    Average rows."""
    import csv
    import io

    stats = (*STATISTICS, RR_ERROR)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["record", *CELLS, "shutdown_s", *(s.key for s in stats)])
    for result in evaluation.records:
        values = {**record_statistics(result), RR_ERROR.key: result.rr_error_ms}
        writer.writerow(
            [
                result.record,
                *(result.cells[c] for c in CELLS),
                result.shutdown_s,
                *("" if values[s.key] is None else repr(values[s.key]) for s in stats),
            ]
        )
    for name, values in (("gross", evaluation.gross), ("average", evaluation.average)):
        writer.writerow(
            [
                name,
                *([""] * (len(CELLS) + 1)),
                *("" if values.get(s.key) is None else repr(values[s.key]) for s in stats),
            ]
        )
    return out.getvalue()
