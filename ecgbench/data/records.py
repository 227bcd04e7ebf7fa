"""WFDB records on disk: which records a database folder holds, their files, one lead and its beat annotations
(read with ``wfdb``), and the one map from annotation symbols to AAMI classes.

A database lives in ``data_dir / <name>`` (``mitdb``, ``svdb``, ``incartdb``, ...): ``.hea``, ``.dat`` and the
reference annotations (``.atr``) of every record, and optionally a ``RECORDS`` file listing them. Lead choice
and which annotations are beats: docs/datasets.md.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import not_regular, regular_file
from ecgbench.data import AAMI_CLASSES

# The one place where annotation symbols become AAMI classes (ANSI/AAMI EC57); other symbols are not beats.
AAMI_MAP: dict[str, tuple[str, ...]] = {
    "N": ("N", "L", "R", "e", "j"),  # normal, left / right bundle branch block, atrial / nodal escape
    "S": ("A", "a", "J", "S"),  # atrial, aberrated atrial, nodal and supraventricular premature
    "V": ("V", "E"),  # premature ventricular contraction, ventricular escape
    "F": ("F",),  # fusion of ventricular and normal
    "Q": ("/", "f", "Q"),  # paced, fusion of paced and normal, unclassifiable
}
SYMBOL_TO_LABEL = {symbol: AAMI_CLASSES.index(c) for c, symbols in AAMI_MAP.items() for symbol in symbols}

PREFERRED_LEADS = ("MLII", "II")  # MIT-BIH's modified lead II, else a standard lead II; else the first lead
ANNOTATOR = "atr"  # PhysioNet's reference beat annotations

# The sampling frequency each known PhysioNet database is recorded at: a header saying otherwise is refused.
EXPECTED_FS_HZ: dict[str, float] = {
    "mitdb": 360,
    "svdb": 128,
    "nstdb": 360,
    "stdb": 360,
    "incartdb": 257,
    "edb": 250,
    "ltdb": 128,
    "afdb": 250,
    "ltafdb": 128,
    "ltstdb": 250,
    "qtdb": 250,
    "sddb": 250,
    "cudb": 250,
    "vfdb": 250,
    "ptbdb": 1000,
}
PLAUSIBLE_FS_HZ = (50.0, 10_000.0)  # for every other database
DEFAULT_FS_HZ = 250.0  # WFDB's, for a header that gives none
# Bytes per sample of every WFDB signal format (212: 3 bytes per 2 samples; 310, 311: 4 per 3); None where the
# size cannot be computed (FLAC-compressed 5xx); format 0 is a null signal.
FORMAT_BYTES: dict[str, float | None] = {
    "0": 0,
    "8": 1,
    "16": 2,
    "24": 3,
    "32": 4,
    "61": 2,
    "80": 1,
    "160": 2,
    "212": 1.5,
    "310": 4 / 3,
    "311": 4 / 3,
    "508": None,
    "516": None,
    "524": None,
}


def fetch_hint(database: str) -> str:
    return f"run `python -m ecgbench data fetch {database}`"


@dataclass
class Recording:
    """One lead of a record (float64, gaps filled) at ``fs`` and its beat annotations, sorted: annotation
    ``samples``, ``symbols`` and AAMI ``labels``. ``dropped``: the beat annotations left out because no beat
    can be cut there (before the first sample or at/after the last one; counted in the provenance)."""

    signal: np.ndarray
    fs: float
    lead: str
    samples: np.ndarray
    symbols: np.ndarray
    labels: np.ndarray
    dropped: int = 0


def aami_labels(symbols) -> np.ndarray:
    """AAMI class index of every annotation symbol, -1 for annotations that are not beats."""
    return np.array([SYMBOL_TO_LABEL.get(s, -1) for s in symbols], dtype=np.int64)


def choose_lead(sig_names: list[str], preferred: tuple[str, ...] = PREFERRED_LEADS) -> int:
    """Index of the first preferred lead the record has (names compared without case), else 0."""
    upper = [name.strip().upper() for name in sig_names]
    for lead in preferred:
        if lead.upper() in upper:
            return upper.index(lead.upper())
    return 0


def fill_gaps(signal: np.ndarray) -> np.ndarray:
    """Missing samples (NaN, as wfdb reads invalid values) linearly interpolated, so filtering does not spread
    them; an all-missing lead becomes flat."""
    missing = ~np.isfinite(signal)
    if not missing.any():
        return signal
    if missing.all():
        return np.zeros_like(signal)
    positions = np.arange(len(signal))
    filled = signal.copy()
    filled[missing] = np.interp(positions[missing], positions[~missing], signal[~missing])
    return filled


def read_record(
    folder: Path, record: str, leads: tuple[str, ...] = PREFERRED_LEADS, annotator: str = ANNOTATOR
) -> Recording:
    """The preferred lead of one WFDB record and its annotated beats (the symbols of :data:`AAMI_MAP`).

    Every file is checked first (:func:`check_record`); whatever wfdb raises on reading becomes an
    :class:`EcgbenchError` naming the database, the record and the file."""
    folder = Path(folder)
    header = check_record(folder, record, annotator)
    wfdb, path = _wfdb(), str(folder / record)
    lead_index = choose_lead(header.sig_name, leads)
    signal_file = (getattr(header, "file_name", None) or [f"{record}.dat"])[lead_index]
    with wfdb_errors(folder, record, signal_file):
        signal_record = wfdb.rdrecord(path, channels=[lead_index])
        signal = fill_gaps(np.asarray(signal_record.p_signal, dtype=np.float64)[:, 0])
    with wfdb_errors(folder, record, f"{record}.{annotator}"):
        annotation = wfdb.rdann(path, annotator)
        samples = np.asarray(annotation.sample, dtype=np.int64)
        symbols = np.asarray(annotation.symbol, dtype=str)
    _check_annotations(folder, record, f"{record}.{annotator}", samples, symbols)
    labels = aami_labels(symbols)
    # Genuine PhysioNet databases annotate beats at the very last sample position (sample == the header's
    # signal length) and beyond: no beat can be cut there, so such annotations are left out and counted, never a
    # reason to refuse the record (docs/datasets.md, "Beats kept"). A record left without beats (none annotated,
    # e.g. rhythm annotations only) adds none; only a database that gives no beat at all is refused.
    cuttable = (samples >= 0) & (samples < len(signal))
    is_beat = (labels >= 0) & cuttable
    dropped = int(((labels >= 0) & ~cuttable).sum())
    order = np.argsort(samples[is_beat], kind="stable")  # annotation files are sorted; be safe, segmentation needs it
    return Recording(
        signal,
        float(signal_record.fs),
        header.sig_name[lead_index],
        samples[is_beat][order],
        symbols[is_beat][order],
        labels[is_beat][order],
        dropped,
    )


# ------------------------------------------------------------------------------------ checking the files


def record_error(folder: Path, record: str, file: str, problem: str) -> EcgbenchError:
    """The one message shape of a bad record file: database, record, file, problem, folder."""
    return EcgbenchError(f"WFDB database {Path(folder).name!r}, record {record}, file {file}: {problem} (in {folder})")


@contextmanager
def wfdb_errors(folder: Path, record: str, file: str):
    """Whatever wfdb raises while reading ``file`` (ValueError, IndexError, OSError, struct errors, its own
    syntax errors...) as an :class:`EcgbenchError` naming the record and the file."""
    try:
        yield
    except EcgbenchError:
        raise
    except Exception as exc:
        raise record_error(
            folder,
            record,
            file,
            f"cannot be read ({type(exc).__name__}: {exc}); the file is damaged or not a WFDB file",
        ) from None


def check_record(folder: Path, record: str, annotator: str = ANNOTATOR):
    """Refuse a record whose files are missing, empty, or disagree with each other, before reading it; returns
    wfdb's header. Checked: the header parses and lists signals, its sampling frequency is plausible (the
    expected one for a known database, :data:`EXPECTED_FS_HZ`), its signal formats are known, every signal file
    holds exactly the samples the header says, and the annotation file is a whole WFDB annotation file."""
    folder = Path(folder)
    header_name = f"{record}.hea"
    text = _non_empty_bytes(folder, record, header_name, "a WFDB header").decode("latin-1")
    with wfdb_errors(folder, record, header_name):
        header = _wfdb().rdheader(str(folder / record))
    _check_sampling_frequency(folder, record, header_name, _header_fs(folder, record, header_name, text))
    if not getattr(header, "seg_name", None):  # a multi-segment header names no signal files of its own
        if not header.n_sig:
            raise record_error(folder, record, header_name, "the header lists no signals")
        _check_signal_files(folder, record, header)
    _check_annotation_file(folder, record, f"{record}.{annotator}")
    return header


def _non_empty_bytes(folder: Path, record: str, name: str, what: str) -> bytes:
    path = folder / name
    if not path.is_file():
        kind = not_regular(path)
        raise record_error(
            folder,
            record,
            name,
            f"is {kind}, not a regular file" if kind else "not found" if not path.exists() else "is not a file",
        )
    data = path.read_bytes()
    if not data:
        raise record_error(folder, record, name, f"the file is empty (0 bytes), expected {what}")
    return data


def _header_fs(folder: Path, record: str, header_name: str, text: str) -> float | None:
    # Parsed here: wfdb silently takes its default of 250 Hz for a frequency it cannot parse (e.g. "-5").
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    fields = lines[0].split() if lines else []
    if len(fields) < 3:
        return None  # no frequency given: WFDB's default applies
    match = re.match(r"[^/(]+", fields[2])
    try:
        return float(match.group(0)) if match else float("nan")
    except ValueError:
        raise record_error(
            folder, record, header_name, f"the sampling frequency {fields[2]!r} is not a number"
        ) from None


def _check_sampling_frequency(folder: Path, record: str, header_name: str, fs: float | None) -> None:
    if fs is None:
        fs = DEFAULT_FS_HZ
    database = Path(folder).name
    expected = EXPECTED_FS_HZ.get(database)
    if not (math.isfinite(fs) and fs > 0):
        raise record_error(folder, record, header_name, f"the sampling frequency is {fs:g} Hz, not positive")
    if expected is not None and abs(fs - expected) > 1e-6 * expected:
        raise record_error(
            folder,
            record,
            header_name,
            f"the sampling frequency is {fs:g} Hz, but {database} is recorded at {expected:g} Hz",
        )
    low, high = PLAUSIBLE_FS_HZ
    if not low <= fs <= high:
        raise record_error(
            folder,
            record,
            header_name,
            f"the sampling frequency is {fs:g} Hz, outside the plausible {low:g}..{high:g} Hz of an ECG",
        )


def _check_signal_files(folder: Path, record: str, header) -> None:
    """Every signal file exists and holds the header's samples, no more and no fewer (a header count smaller than
    the data would silently cut the record short)."""
    by_file: dict[str, list[int]] = {}
    for i, name in enumerate(header.file_name):
        by_file.setdefault(name, []).append(i)
    for name, signals in by_file.items():
        if name == "~" or all(header.fmt[i] == "0" for i in signals):
            continue  # null signals, no file
        unknown = sorted({header.fmt[i] for i in signals} - set(FORMAT_BYTES))
        if unknown:
            raise record_error(
                folder,
                record,
                f"{record}.hea",
                f"signal file {name} has format {unknown[0]!r}, not a WFDB signal format ({', '.join(FORMAT_BYTES)})",
            )
        path = (folder / record).parent / name  # beside its header (a RECORDS entry may name a subfolder)
        if not_regular(path):
            raise record_error(folder, record, name, f"is {not_regular(path)}, not a regular file")
        if not path.is_file():
            raise record_error(folder, record, name, f"not found (the signal file that {record}.hea names)")
        size = path.stat().st_size
        if size == 0:
            raise record_error(folder, record, name, "the file is empty (0 bytes), expected the signal samples")
        per_sample = [FORMAT_BYTES[header.fmt[i]] for i in signals]
        if header.sig_len is None or any(b is None for b in per_sample):
            continue  # no length given (wfdb reads to the end), or a compressed format
        frame = sum(b * (header.samps_per_frame[i] or 1) for b, i in zip(per_sample, signals, strict=True))
        offset = (header.byte_offset[signals[0]] or 0) if header.byte_offset else 0
        expected = math.ceil(header.sig_len * frame)
        data = size - offset
        if not expected <= data < expected + max(1, math.ceil(frame)):  # a partly filled last frame is fine
            formats = "/".join(sorted({header.fmt[i] for i in signals}))
            raise record_error(
                folder,
                record,
                name,
                f"{record}.hea says {header.sig_len:,} samples of {len(signals)} signal(s) in format {formats} "
                f"({expected:,} bytes{f' after an offset of {offset}' if offset else ''}), but the file holds "
                f"{size:,} bytes ({max(0, int(data // frame)):,} samples): "
                + (
                    "the file is truncated (or the header is wrong)"
                    if data < expected
                    else "reading it would cut the record short (the header is wrong, or the file is another record's)"
                ),
            )


def _check_annotation_file(folder: Path, record: str, name: str) -> None:
    data = _non_empty_bytes(folder, record, name, "WFDB beat annotations")
    if len(data) % 2 or data[-2:] != b"\0\0":
        raise record_error(
            folder,
            record,
            name,
            f"the file ({len(data):,} bytes) does not end with the "
            "end-of-file marker of a WFDB annotation file: it is truncated or not an annotation file",
        )


def _check_annotations(folder: Path, record: str, name: str, samples: np.ndarray, symbols: np.ndarray) -> None:
    # Annotations outside the signal are not refused here: read_record drops them (real databases have them).
    # Time order is WFDB's canonical order, which its writers enforce: times that go back mean a damaged file.
    backwards = np.flatnonzero(np.diff(samples) < 0)
    if backwards.size:
        i = int(backwards[0]) + 1
        raise record_error(
            folder,
            record,
            name,
            f"annotation {i + 1} (sample {samples[i]:,}) comes before the one "
            f"preceding it (sample {samples[i - 1]:,}), {backwards.size - 1:,} more go back in time: "
            "a WFDB annotation file is in time order, so it is damaged or not an annotation file",
        )


def no_beats_reason(folder: Path, record: str, annotator: str = ANNOTATOR) -> str:
    """Why a record gave no beat (its annotation file read again: only asked when a whole database gave none)."""
    wfdb, path = _wfdb(), str(Path(folder) / record)
    with wfdb_errors(folder, record, f"{record}.{annotator}"):
        annotation = wfdb.rdann(path, annotator)
        symbols = np.asarray(annotation.symbol, dtype=str)
        n_samples = wfdb.rdheader(path).sig_len
    beats = aami_labels(symbols) >= 0
    if beats.any():
        return f"all {int(beats.sum()):,} beat annotations lie outside the signal's {n_samples:,} samples"
    found = ", ".join(sorted(set(symbols.tolist()))) or "none"
    return f"no beat annotations ({len(symbols):,} annotations, symbols: {found})"


def _wfdb():
    # Imported on use: the package registers these datasets even where wfdb is not installed.
    try:
        import wfdb
    except ImportError:
        raise EcgbenchError("reading WFDB records needs the wfdb package: pip install wfdb") from None
    return wfdb


def list_records(folder: Path) -> list[str]:
    """Record names from the folder's ``RECORDS`` file (checked: :func:`check_record_names`), else from its
    ``*.hea`` files."""
    folder = Path(folder)
    listing = regular_file(folder / "RECORDS", f"WFDB database {folder.name!r}:")
    if listing.is_file():
        records = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
        check_record_names(folder, records, f"WFDB database {folder.name!r}, file RECORDS")
        return records
    return sorted(p.stem for p in folder.glob("*.hea"))


def record_name_problem(folder: Path, records) -> str | None:
    """What is wrong with a list of record names of the database in ``folder``, or None. A record must lie inside
    its database folder (a relative path without empty, '.' or '..' parts, whose folder does not resolve outside
    through a symbolic link: PhysioNet's own RECORDS entries may name subfolders) and be listed once: a record
    named twice, or one reached from another database, would put the same beats twice into a dataset, on both
    sides of a split. The record's files themselves may be links (a shared copy of the data): what they are is
    checked by content (:mod:`ecgbench.data.leaks`)."""
    root = Path(os.path.realpath(folder))
    seen: set[str] = set()
    for name in records:
        text = str(name)
        parts = text.replace("\\", "/").split("/")
        if (
            not text
            or text.startswith(("/", "\\"))
            or re.match(r"^[A-Za-z]:", text)
            or any(part in ("", ".", "..") for part in parts)
            or text != text.strip()
        ):
            return (
                f"record {text!r} does not name a record inside the database folder (an absolute path, or a "
                "path with '..', '.' or empty parts); name records relative to the folder, e.g. '100'"
            )
        parent = Path(os.path.realpath(Path(folder) / text)).parent
        if parent != root and root not in parent.parents:
            return (
                f"record {text!r} leaves the database folder: {Path(folder) / text} resolves to {parent}, "
                f"outside {root} (a symbolic link pointing outside); a record must lie in its own database"
            )
        if text in seen:
            return f"record {text!r} is listed twice (its beats would count twice); list every record once"
        seen.add(text)
    return None


def check_record_names(folder: Path, records, where: str) -> None:
    """Refuse what :func:`record_name_problem` finds; ``where`` starts the message."""
    problem = record_name_problem(folder, records)
    if problem:
        raise EcgbenchError(f"{where}: {problem}")


def records_problem(folder: Path, records=None, annotator: str = ANNOTATOR) -> str | None:
    """What keeps ``records`` (default: :func:`list_records`) of ``folder`` from being read, found cheaply
    (the folder, and every record's header, signal and annotation file there and not empty), and how to fetch
    them; None if nothing."""
    folder = Path(folder)
    if folder.is_dir():  # a bad record name is not cured by fetching: said without the hint
        try:
            names = list_records(folder) if records is None else [str(r) for r in records]
        except EcgbenchError as exc:
            return str(exc)
        problem = record_name_problem(folder, names)
        if problem:
            return f"WFDB database {folder.name!r}: {problem}"
    problem = _first_absent(folder, records, annotator)
    return f"{problem}; {fetch_hint(folder.name)}" if problem else None


def _first_absent(folder: Path, records, annotator: str) -> str | None:
    if not folder.is_dir():
        return f"{folder} does not exist" if not folder.exists() else f"{folder} is not a folder"
    records = list_records(folder) if records is None else [str(r) for r in records]
    if not records:
        return f"{folder} holds no records (no RECORDS file, no .hea files)"
    for record in records:
        for ext in ("hea", "dat", annotator):
            path = folder / f"{record}.{ext}"
            if not path.is_file():
                kind = not_regular(path)
                problem = (
                    f"is {kind}, not a regular file" if kind else "not found" if not path.exists() else "is not a file"
                )
            elif path.stat().st_size == 0:
                problem = "the file is empty (0 bytes)"
            else:
                continue
            return f"WFDB database {folder.name!r}, record {record}, file {path.name}: {problem} (in {folder})"
    return None


def record_files(folder: Path, record: str, annotator: str = ANNOTATOR) -> list[Path]:
    """The files one record is read from, checked (:func:`check_record`): its header, the signal files the
    header names, its annotations."""
    folder = Path(folder)
    header = check_record(folder, record, annotator)
    # A multi-segment header names no signal files of its own (getattr: wfdb's MultiRecord has no file_name).
    signal_names = sorted(set(getattr(header, "file_name", None) or []) - {"~"})
    beside = (folder / record).parent  # signal files lie beside their header (a record may be in a subfolder)
    return [folder / f"{record}.hea", *(beside / name for name in signal_names), folder / f"{record}.{annotator}"]


def require_database(folder: Path, records: list[str]) -> None:
    """Refuse a database folder that is missing or lists no records, saying how to fetch it."""
    database = folder.name
    if not folder.is_dir() or not records:
        raise EcgbenchError(
            f"WFDB database {database!r} not found: {folder} does not exist or holds no records; {fetch_hint(database)}"
        )


def checksum_digest(checksums: dict[str, str]) -> str:
    """One sha256 over the per-file checksums, as ``sha256sum`` lists them sorted by file name."""
    listing = "".join(f"{checksums[name]}  {name}\n" for name in sorted(checksums))
    return hashlib.sha256(listing.encode()).hexdigest()


CHECKSUM_FILE = "SHA256SUMS.txt"  # written by `data fetch`, shipped with every PhysioNet database
VERIFY_CHECKSUMS_ENV = "ECGBENCH_VERIFY_CHECKSUMS"


def checksums_verified(verify: bool | None = None) -> bool:
    """``verify`` where given, else ``$ECGBENCH_VERIFY_CHECKSUMS`` ("0", "false", "no", "off": skip), else true."""
    if verify is not None:
        return bool(verify)
    return os.environ.get(VERIFY_CHECKSUMS_ENV, "1").strip().lower() not in ("0", "false", "no", "off")


def read_checksum_list(folder: Path) -> dict[str, str]:
    """``{file: sha256}`` from the folder's ``SHA256SUMS.txt``; empty where there is none."""
    from ecgbench.data.download import parse_checksums

    path = regular_file(Path(folder) / CHECKSUM_FILE, f"WFDB database {Path(folder).name!r}:")
    return parse_checksums(path.read_bytes(), str(path)) if path.is_file() else {}


def check_checksums(folder: Path, record: str, found: dict[str, str], expected: dict[str, str]) -> None:
    """Refuse a record file whose sha256 differs from the one ``SHA256SUMS.txt`` lists (unlisted files pass)."""
    for name, sha in found.items():
        if name in expected and expected[name] != sha:
            raise record_error(
                folder,
                record,
                name,
                f"its sha256 differs from {CHECKSUM_FILE} (expected {expected[name]}, found {sha}): the file is "
                f"damaged or was edited; {fetch_hint(Path(folder).name)} to fetch it again, or set "
                f"{VERIFY_CHECKSUMS_ENV}=0 (dataset parameter verify_checksums = false) to read it anyway",
            )
