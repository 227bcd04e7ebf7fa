"""The Kaggle "ECG Heartbeat Categorization" CSVs (Kachuee et al. 2018): datasets ``mitbih``, ``ptbdb`` and
``kaggle-normal-abnormal`` (all four files as one normal/abnormal task).

Each file holds one beat per row: 187 samples (125 Hz, scaled to [0, 1], zero padded) and the class label as a
float in column 188. There is no header row, so the files are read with ``header=None``: reading them with a
header silently turns the first beat into column names.

Big valid files take the fast path (one pandas read plus vectorised checks). Only when that read fails or the
table looks wrong is the file scanned line by line, to tell the user exactly which line and column to fix.
"""

from __future__ import annotations

import csv
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import Evaluation
from ecgbench.core.io import not_regular, sha256_file
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH, Dataset, register_dataset

# Where `list` and `run --all` put this module's datasets (ecgbench.core.registry.listing_rank): as before discovery.
LISTED_AT = 1

log = logging.getLogger(__name__)

N_COLUMNS = BEAT_LENGTH + 1  # 187 samples, then the label
LABEL_COLUMN = N_COLUMNS  # 1-based, as users count columns
KAGGLE_PAGE = "https://www.kaggle.com/datasets/shayanfazeli/heartbeat"
KAGGLE_SOURCE = "Kaggle ECG Heartbeat Categorization (Kachuee et al. 2018)"
PTBDB_CLASSES = ("normal", "MI")  # MI: myocardial infarction
HEADER_HINT = "the Kaggle files have no header row; remove it"

# Spellings that pandas reads as a missing value; the scan names them as such rather than "not a number".
_MISSING_WORDS = {"na", "n/a", "#n/a", "null", "none", "<na>", "-nan", "nan"}


# --------------------------------------------------------------------------------------------- reading


def read_beats_csv(path: str | Path, n_classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Read one Kaggle beat file: ``X`` float32 (n, 187) and ``y`` int64 with labels in ``0..n_classes-1``.

    Raises :class:`EcgbenchError` naming the file, line (and column) of the first problem found.
    """
    path = Path(path)
    _check_readable(path)
    try:
        table = _read_table_fast(path)
    except ValueError as exc:  # pandas' ParserError, EmptyDataError and UnicodeDecodeError are ValueErrors
        raise _first_problem_error(path, n_classes, detail=str(exc).strip()) from None
    bad_row = _first_bad_row(table, n_classes)
    if bad_row is not None:
        raise _first_problem_error(path, n_classes, "missing, infinite or invalid values", from_row=bad_row)
    return table[:, :BEAT_LENGTH].astype(np.float32), table[:, BEAT_LENGTH].astype(np.int64)


def _check_readable(path: Path) -> None:
    problem = file_problem(path)
    if problem:
        raise EcgbenchError(problem)
    _check_text(path)


def file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a beat file at all (missing, a folder, empty), or None."""
    if not path.exists():
        return f"{path.name} not found (looked for {path})"
    if path.is_dir():
        return f"{path.name} is a directory, not a CSV file ({path})"
    if not path.is_file():
        kind = not_regular(path)  # a FIFO would block the reader
        return f"{path.name} is {kind}, not a regular file ({path})" if kind else f"{path.name} is not a file ({path})"
    if path.stat().st_size == 0:
        return f"{path.name} is empty (0 bytes): expected one beat per line ({path})"
    return None


# Leading bytes of the compressed and binary files people unpack by mistake, or forget to.
_MAGIC = {
    b"\x1f\x8b": "a gzip file; unzip it first (gunzip)",
    b"PK\x03\x04": "a zip archive; unzip it first",
    b"BZh": "a bzip2 file; unzip it first (bunzip2)",
    b"\xfd7zXZ\x00": "an xz file; unzip it first (unxz)",
    b"\x93NUMPY": "a NumPy .npy file, not a CSV file",
    b"PAR1": "a Parquet file, not a CSV file",
}
MAX_LINE_BYTES = 64 * 1024  # a Kaggle row is 188 numbers, a few kB


def _check_text(path: Path, chunk_size: int = 1 << 20) -> None:
    """Refuse compressed and binary files and over-long lines in bounded memory, before any parsing (a single
    9 MB line would otherwise cost the CSV parsers minutes and gigabytes)."""
    with open(path, "rb") as fh:
        head = fh.read(16)
        for magic, what in _MAGIC.items():
            if head.startswith(magic):
                raise EcgbenchError(f"{path.name} looks like {what} ({path})")
        fh.seek(0)
        newlines, line_start, offset = 0, 0, 0  # newlines before this chunk; where the current line began
        while chunk := fh.read(chunk_size):
            nul = chunk.find(b"\0")
            if nul >= 0:
                line = newlines + chunk.count(b"\n", 0, nul) + 1
                raise EcgbenchError(
                    f"{path.name} looks like a binary file, not a CSV text file (a NUL byte at "
                    f"byte {offset + nul:,}, line {line}) ({path})"
                )
            data = np.frombuffer(chunk, dtype=np.uint8)
            ends = np.flatnonzero((data == 10) | (data == 13)) + offset  # "\r" alone ends a line for pandas too
            lengths = ends - np.concatenate([[line_start], ends[:-1] + 1])
            if lengths.size and lengths.max() > MAX_LINE_BYTES:
                i = int(np.argmax(lengths > MAX_LINE_BYTES))
                _line_too_long(path, newlines + chunk.count(b"\n", 0, int(ends[i]) - offset) + 1, int(lengths[i]))
            if ends.size:
                line_start = int(ends[-1]) + 1
            newlines += chunk.count(b"\n")
            offset += len(chunk)
            if offset - line_start > MAX_LINE_BYTES:
                _line_too_long(path, newlines + 1, offset - line_start)


def _line_too_long(path: Path, line: int, length: int):
    raise EcgbenchError(
        f"{path.name} line {line}: longer than {MAX_LINE_BYTES // 1024} kB (at least {length:,} "
        f"bytes), not a row of beats ({N_COLUMNS} numbers, a few kB); not a Kaggle beat file? "
        f"({path})"
    )


def _read_table_fast(path: Path) -> np.ndarray:
    try:
        frame = pd.read_csv(path, header=None, dtype=np.float64, engine="c")
    except OSError as exc:  # permissions, I/O errors: nothing a line scan could explain better
        raise EcgbenchError(f"cannot read {path.name}: {exc.strerror or exc} ({path})") from None
    return frame.to_numpy(dtype=np.float64)


def _first_bad_row(table: np.ndarray, n_classes: int) -> int | None:
    """Index of the first row the vectorised checks reject (0 for a table of the wrong width), else None."""
    if table.ndim != 2 or table.shape[0] == 0 or table.shape[1] != N_COLUMNS:
        return 0
    # pandas pads short rows with NaN and reads empty cells, "NA" and "nan" as NaN, so one finiteness check
    # covers short rows, empty cells, missing values and infinities.
    labels = table[:, BEAT_LENGTH]
    label_ok = (labels == np.rint(labels)) & (labels >= 0) & (labels <= n_classes - 1)
    bad_rows = np.flatnonzero(~(np.isfinite(table).all(axis=1) & label_ok))
    return int(bad_rows[0]) if bad_rows.size else None


def _first_problem_error(path: Path, n_classes: int, detail: str, from_row: int = 0) -> EcgbenchError:
    # Starting the detailed checks at the row the fast path flagged keeps errors in big files quick to report;
    # the full rescan is a safety net should the two ever disagree.
    problem = find_first_problem(path, n_classes, from_row) or find_first_problem(path, n_classes)
    if problem is None:  # pandas objected to something the line scan accepts; still say what pandas said
        problem = f"{path.name}: cannot be read as a table of beats ({detail})"
    return EcgbenchError(problem)


# ------------------------------------------------------------------------------------ line-by-line scan


def find_first_problem(path: Path, n_classes: int, from_row: int = 0) -> str | None:
    """The message for the first bad line of ``path``, or None when every line is a valid beat.

    Beats before ``from_row`` (0-based, blank lines not counted) are only counted, not checked.
    """
    n_rows = 0
    try:
        for row_index, (line_number, cells) in enumerate(_data_rows(path)):
            n_rows += 1
            if row_index < from_row:
                continue
            problem = _row_problem(cells, n_classes, is_first_data_line=row_index == 0)
            if problem:
                return f"{path.name} line {line_number}: {problem}"
    except csv.Error as exc:
        return f"{path.name}: not a readable CSV file ({exc})"
    if n_rows == 0:
        return f"{path.name} is empty: it holds only blank lines, expected one beat per line"
    return None


def _data_rows(path: Path) -> Iterator[tuple[int, list[str]]]:
    """(1-based line number, cells) of every non-blank line; blank lines are skipped, as pandas does."""
    # errors="replace": a stray non-UTF-8 byte then shows up as a bad cell on its line instead of aborting.
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        reader = csv.reader(fh)
        for cells in reader:
            if len(cells) <= 1 and not "".join(cells).strip():
                continue
            yield reader.line_num, cells


def _row_problem(cells: list[str], n_classes: int, is_first_data_line: bool) -> str | None:
    if is_first_data_line:
        # A header is the likeliest reason for text on line 1; say so before counting its columns.
        for column, cell in enumerate(cells, start=1):
            if cell.strip() and _parse_number(cell) is None:
                return f"column {column} is {cell!r}, not a number ({HEADER_HINT})"
    if len(cells) != N_COLUMNS:
        return f"has {len(cells)} columns, expected {N_COLUMNS} ({BEAT_LENGTH} samples and the label)"
    for column, cell in enumerate(cells, start=1):
        problem = _cell_problem(cell)
        if problem:
            return f"column {column} {problem}"
    return _label_problem(cells[-1], n_classes)


def _cell_problem(cell: str) -> str | None:
    text = cell.strip()
    if not text:
        return "is empty"
    value = _parse_number(text)
    if value is None:
        if text.lower() in _MISSING_WORDS:
            return f"is {text!r}, a missing value"
        return f"is {text!r}, not a number"
    if math.isnan(value):
        return f"is {text!r}, a missing value (NaN)"
    if math.isinf(value):
        return f"is {text!r}, an infinite value"
    return None


def _parse_number(cell: str) -> float | None:
    # Python's float() also takes "1_000"; pandas does not, and the scan must be no more lenient than pandas.
    if "_" in cell:
        return None
    try:
        return float(cell)
    except ValueError:
        return None


def _label_problem(cell: str, n_classes: int) -> str | None:
    value = float(cell)
    if value != round(value):
        return f"the label (column {LABEL_COLUMN}) is {cell.strip()!r}, not a whole number"
    if not 0 <= value <= n_classes - 1:
        return f"the label (column {LABEL_COLUMN}) is {int(value)}, outside 0..{n_classes - 1} ({n_classes} classes)"
    return None


def line_number_of_row(path: Path, row_index: int) -> int:
    """The 1-based line of beat ``row_index`` (0-based) in ``path``, skipping blank lines as pandas does."""
    for index, (line_number, _) in enumerate(_data_rows(path)):
        if index == row_index:
            return line_number
    raise IndexError(f"{path.name} has fewer than {row_index + 1} beats")


# ------------------------------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class KaggleFile:
    """One published CSV file and its published beats per class (used to warn about subsets or edits)."""

    name: str
    class_counts: tuple[int, ...]

    @property
    def n_beats(self) -> int:
        return sum(self.class_counts)


MITBIH_TRAIN = KaggleFile("mitbih_train.csv", (72_471, 2_223, 5_788, 641, 6_431))
MITBIH_TEST = KaggleFile("mitbih_test.csv", (18_118, 556, 1_448, 162, 1_608))
PTBDB_NORMAL = KaggleFile("ptbdb_normal.csv", (4_046, 0))
PTBDB_ABNORMAL = KaggleFile("ptbdb_abnormal.csv", (0, 10_506))


def _how_to_get(files: tuple[KaggleFile, ...]) -> str:
    names = " and ".join(f.name for f in files)
    return (
        f'Download the Kaggle dataset "shayanfazeli/heartbeat" ({KAGGLE_PAGE}), unzip it and put {names} '
        "into the data directory (--data-dir, $ECGBENCH_DATA or the cache folder ~/.cache/ecgbench)."
    )


def _first_missing(files: tuple[KaggleFile, ...]):
    """The problem of the first of ``files`` that is missing or not a file, naming it, and how to get them."""

    def reason(data_dir, **params):
        problems = [file_problem(Path(data_dir) / f.name) for f in files if not (Path(data_dir) / f.name).is_file()]
        return f"{problems[0]}. {_how_to_get(files)}" if problems else None

    return reason


def _read_kaggle_file(data_dir: Path, file: KaggleFile, classes: tuple[str, ...], only_label: int | None):
    """``X``, ``y`` and the file's sha256; ``only_label``: the one label every beat of the file must carry."""
    path = Path(data_dir) / file.name
    X, y = read_beats_csv(path, len(classes))
    if only_label is not None:
        _check_single_label(path, y, only_label, classes)
    _warn_if_counts_differ(file, y, classes)
    return X, y, sha256_file(path)


def _warn_if_counts_differ(file: KaggleFile, y: np.ndarray, classes: tuple[str, ...]) -> None:
    found = tuple(np.bincount(y, minlength=len(classes)).tolist())
    if found == file.class_counts:
        return
    log.warning(
        "%s: expected %s beats (%s), found %s (%s); results are not comparable with published numbers "
        "(fine for a deliberate subset, otherwise check the file)",
        file.name,
        f"{file.n_beats:,}",
        _format_counts(classes, file.class_counts),
        f"{len(y):,}",
        _format_counts(classes, found),
    )


def _counts_note(parts) -> str | None:
    """What the reports say of files whose beat counts are not the published ones (``parts``: ``(KaggleFile, y)``):
    a subset, other files or test files in the Kaggle layout, whose numbers are not those of the Kaggle data."""
    differing = [
        f"{file.name} {len(y):,} beats (published {file.n_beats:,})"
        for file, y in parts
        if len(y) != file.n_beats
        or np.bincount(y, minlength=len(file.class_counts)).tolist() != list(file.class_counts)
    ]
    if not differing:
        return None
    return (
        f"NOT the published Kaggle files: {', '.join(differing)}; a subset, other files or test data in the "
        "Kaggle layout, so these numbers are not comparable with published ones"
    )


def _with_note(provenance: dict, parts) -> dict:
    note = _counts_note(parts)
    return {**provenance, "note": note} if note else provenance


def _format_counts(classes: tuple[str, ...], counts: tuple[int, ...]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in zip(classes, counts, strict=True))


INTRA_PATIENT = "intra-patient: beats of the same patients on both sides of the split (random beat split); flatters \
every model"


def _provenance(origin: str, checksums: dict[str, str]) -> dict:
    source = f"{KAGGLE_SOURCE}, derived from PhysioNet {origin}"
    return {"source": source, "files": checksums, "synthetic": False, "protocol": INTRA_PATIENT}


@register_dataset(
    "mitbih",
    description="MIT-BIH Arrhythmia beats, 5 AAMI classes (Kaggle CSVs), with the published train/test split",
    evaluation=Evaluation.INTRA_PATIENT,
    missing=_first_missing((MITBIH_TRAIN, MITBIH_TEST)),
    split_protocol="predefined",  # its own train/test files
)
def load_mitbih(data_dir: Path) -> Dataset:
    X_train, y_train, train_sha = _read_kaggle_file(data_dir, MITBIH_TRAIN, AAMI_CLASSES, None)
    X_test, y_test, test_sha = _read_kaggle_file(data_dir, MITBIH_TEST, AAMI_CLASSES, None)
    n_train, n_test = len(y_train), len(y_test)
    return Dataset(
        name="mitbih",
        X=np.concatenate([X_train, X_test]),
        y=np.concatenate([y_train, y_test]),
        classes=AAMI_CLASSES,
        groups=None,  # the CSVs carry no record id
        predefined_split=(np.arange(n_train), np.arange(n_train, n_train + n_test)),
        provenance=_with_note(
            _provenance("mitdb", {MITBIH_TRAIN.name: train_sha, MITBIH_TEST.name: test_sha}),
            [(MITBIH_TRAIN, y_train), (MITBIH_TEST, y_test)],
        ),
    )


@register_dataset(
    "ptbdb",
    description="PTB Diagnostic ECG beats, normal vs myocardial infarction (Kaggle CSVs)",
    evaluation=Evaluation.INTRA_PATIENT,
    missing=_first_missing((PTBDB_NORMAL, PTBDB_ABNORMAL)),
    split_protocol="holdout",  # two files by class, no train/test files
)
def load_ptbdb(data_dir: Path) -> Dataset:
    # The class of a PTB beat is given by its file, so each file must hold one label only.
    X_normal, y_normal, normal_sha = _read_kaggle_file(data_dir, PTBDB_NORMAL, PTBDB_CLASSES, 0)
    X_abnormal, y_abnormal, abnormal_sha = _read_kaggle_file(data_dir, PTBDB_ABNORMAL, PTBDB_CLASSES, 1)
    return Dataset(
        name="ptbdb",
        X=np.concatenate([X_normal, X_abnormal]),
        y=np.concatenate([y_normal, y_abnormal]),
        classes=PTBDB_CLASSES,
        groups=None,
        predefined_split=None,  # the runner makes a stratified hold-out
        provenance=_with_note(
            _provenance("ptbdb", {PTBDB_NORMAL.name: normal_sha, PTBDB_ABNORMAL.name: abnormal_sha}),
            [(PTBDB_NORMAL, y_normal), (PTBDB_ABNORMAL, y_abnormal)],
        ),
    )


NORMAL_ABNORMAL_CLASSES = ("normal", "abnormal")
NORMAL_ABNORMAL = (
    "intra-patient: the four Kaggle files pooled and split at random by beat, so the same patients' "
    "beats train and test the models; every MIT-BIH beat but N (S, V, F, Q) and every PTB MI beat is "
    "abnormal; the two databases differ in leads and recording, so a model may partly tell them apart"
)


@register_dataset(
    "kaggle-normal-abnormal",
    description="normal vs abnormal beats of all four Kaggle CSVs (MIT-BIH train and test, PTB normal and "
    "abnormal; every non-N MIT-BIH beat abnormal)",
    evaluation=Evaluation.INTRA_PATIENT,
    missing=_first_missing((MITBIH_TRAIN, MITBIH_TEST, PTBDB_NORMAL, PTBDB_ABNORMAL)),
)
def load_kaggle_normal_abnormal(data_dir: Path) -> Dataset:
    """One two-class task from the four Kaggle files: MIT-BIH N beats and PTB normal beats are ``normal`` (0),
    MIT-BIH S, V, F and Q beats and PTB MI beats ``abnormal`` (1). Each file is checked as its own dataset checks
    it (labels, published counts). No predefined split: MIT-BIH's train/test files have no PTB counterpart, so the
    runner's stratified hold-out splits the pooled beats (intra-patient, hence optimistic)."""
    parts = [
        _read_kaggle_file(data_dir, MITBIH_TRAIN, AAMI_CLASSES, None),
        _read_kaggle_file(data_dir, MITBIH_TEST, AAMI_CLASSES, None),
        _read_kaggle_file(data_dir, PTBDB_NORMAL, PTBDB_CLASSES, 0),
        _read_kaggle_file(data_dir, PTBDB_ABNORMAL, PTBDB_CLASSES, 1),
    ]
    files = (MITBIH_TRAIN, MITBIH_TEST, PTBDB_NORMAL, PTBDB_ABNORMAL)
    # MIT-BIH: N (0) normal, the rest abnormal; PTB: its labels are already 0 normal, 1 MI (abnormal)
    y = np.concatenate([(y_part != 0).astype(np.int64) for _, y_part, _ in parts])
    provenance = _provenance("mitdb and ptbdb", {f.name: sha for f, (_, _, sha) in zip(files, parts, strict=True)})
    provenance["protocol"] = NORMAL_ABNORMAL
    provenance = _with_note(provenance, [(f, y_part) for f, (_, y_part, _) in zip(files, parts, strict=True)])
    return Dataset(
        name="kaggle-normal-abnormal",
        X=np.concatenate([X_part for X_part, _, _ in parts]),
        y=y,
        classes=NORMAL_ABNORMAL_CLASSES,
        groups=None,  # the CSVs carry no record id: intervals resample beats
        predefined_split=None,
        provenance=provenance,
    )


def _check_single_label(path: Path, y: np.ndarray, expected: int, classes: tuple[str, ...]) -> None:
    # A stray label means a mixed-up or edited file; name the first such line.
    wrong = np.flatnonzero(y != expected)
    if wrong.size == 0:
        return
    row = int(wrong[0])
    line = line_number_of_row(path, row)
    raise EcgbenchError(
        f"{path.name} line {line}: the label (column {LABEL_COLUMN}) is {y[row]} ({classes[y[row]]}), "
        f"but every beat in this file must be {expected} ({classes[expected]}); "
        f"{wrong.size:,} beats have another label"
    )
