"""WFDB records on disk: which records a database folder holds, their files, one lead and its beat annotations
(read with ``wfdb``), and the one map from annotation symbols to AAMI classes.

A database lives in ``data_dir / <name>`` (``mitdb``, ``svdb``, ``incartdb``, ...): ``.hea``, ``.dat`` and the
reference annotations (``.atr``) of every record, and optionally a ``RECORDS`` file listing them. Lead choice
and which annotations are beats: docs/datasets.md.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.data import AAMI_CLASSES
from ecgbench.errors import EcgbenchError

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


def fetch_hint(database: str) -> str:
    return f"run `python -m ecgbench data fetch {database}`"


@dataclass
class Recording:
    """One lead of a record (float64, gaps filled) at ``fs`` and its beat annotations, sorted: annotation
    ``samples``, ``symbols`` and AAMI ``labels``."""

    signal: np.ndarray
    fs: float
    lead: str
    samples: np.ndarray
    symbols: np.ndarray
    labels: np.ndarray


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


def read_record(folder: Path, record: str, leads: tuple[str, ...] = PREFERRED_LEADS,
                annotator: str = ANNOTATOR) -> Recording:
    """The preferred lead of one WFDB record and its annotated beats (the symbols of :data:`AAMI_MAP`)."""
    wfdb = _wfdb()
    path = str(Path(folder) / record)
    header = wfdb.rdheader(path)
    lead_index = choose_lead(header.sig_name, leads)
    signal_record = wfdb.rdrecord(path, channels=[lead_index])
    signal = fill_gaps(signal_record.p_signal[:, 0].astype(np.float64))
    annotation = wfdb.rdann(path, annotator)
    samples, symbols = np.asarray(annotation.sample, dtype=np.int64), np.asarray(annotation.symbol, dtype=str)
    labels = aami_labels(symbols)
    is_beat = (labels >= 0) & (samples >= 0) & (samples < len(signal))
    order = np.argsort(samples[is_beat], kind="stable")  # annotation files are sorted; be safe, segmentation needs it
    return Recording(signal, float(signal_record.fs), header.sig_name[lead_index], samples[is_beat][order],
                     symbols[is_beat][order], labels[is_beat][order])


def _wfdb():
    # Imported on use: the package registers these datasets even where wfdb is not installed.
    try:
        import wfdb
    except ImportError:
        raise EcgbenchError("reading WFDB records needs the wfdb package: pip install wfdb") from None
    return wfdb


def list_records(folder: Path) -> list[str]:
    """Record names from the folder's ``RECORDS`` file, else from its ``*.hea`` files."""
    folder = Path(folder)
    listing = folder / "RECORDS"
    if listing.is_file():
        return [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    return sorted(p.stem for p in folder.glob("*.hea"))


def has_records(folder: Path, records, annotator: str = ANNOTATOR) -> bool:
    """Whether every record has its header, signal (``.dat``) and annotation files in ``folder``."""
    folder = Path(folder)
    return folder.is_dir() and all(
        (folder / f"{record}.{ext}").is_file() for record in records for ext in ("hea", "dat", annotator)
    )


def has_database(folder: Path) -> bool:
    """Whether ``folder`` holds WFDB records (the cross-database loader names what is missing otherwise)."""
    return folder.is_dir() and any(folder.glob("*.hea"))


def record_files(folder: Path, record: str, annotator: str = ANNOTATOR) -> list[Path]:
    """The files one record is read from: its header, the signal files the header names, its annotations."""
    header = Path(folder) / f"{record}.hea"
    annotation = Path(folder) / f"{record}.{annotator}"
    for path in (header, annotation):
        if not path.is_file():
            raise EcgbenchError(f"record {record}: {path.name} not found in {folder}")
    # A multi-segment header names no signal files of its own (getattr: wfdb's MultiRecord has no file_name).
    signal_names = sorted(set(getattr(_wfdb().rdheader(str(Path(folder) / record)), "file_name", None) or []))
    signals = [header.parent / name for name in signal_names]
    for path in signals:
        if not path.is_file():
            raise EcgbenchError(f"record {record}: signal file {path.name} (named in {header.name}) not found")
    return [header, *signals, annotation]


def require_database(folder: Path, records: list[str]) -> None:
    """Refuse a database folder that is missing or lists no records, saying how to fetch it."""
    database = folder.name
    if not folder.is_dir() or not records:
        raise EcgbenchError(
            f"WFDB database {database!r} not found: {folder} does not exist or holds no records; "
            f"{fetch_hint(database)}"
        )


def checksum_digest(checksums: dict[str, str]) -> str:
    """One sha256 over the per-file checksums, as ``sha256sum`` lists them sorted by file name."""
    listing = "".join(f"{checksums[name]}  {name}\n" for name in sorted(checksums))
    return hashlib.sha256(listing.encode()).hexdigest()
