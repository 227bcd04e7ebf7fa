"""Beats rebuilt from a WFDB database the way the Kaggle MIT-BIH beats were built (Kachuee et al. 2018), as a
:class:`~ecgbench.data.Dataset`: float32 beats of 187 samples at 125 Hz in [0, 1], classes N S V F Q,
``groups`` = record id, optional per-beat context.

Per record (:func:`rebuild_record`): one lead and its annotated beats (:mod:`ecgbench.data.records`), the
Kachuee segmentation (:mod:`ecgbench.data.segmentation`) and the context of :mod:`ecgbench.data.context`; rebuilt
records are cached (:mod:`ecgbench.data.beat_cache`). The datasets built on it: :mod:`ecgbench.data.mitdb`,
:mod:`ecgbench.data.cross_database`. Choices and counts: docs/datasets.md.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import sha256_file
from ecgbench.core.params import Param
from ecgbench.data import AAMI_CLASSES, BEAT_LENGTH, SAMPLE, SAMPLING_RATE_HZ, Dataset
from ecgbench.data.beat_cache import beat_cache_dir, cache_key, entry_path, read_entry, write_entry
from ecgbench.data.context import (
    CONTEXT_GROUPS,
    check_groups,
    context_names,
    groups_problem,
    neighbour_correlations,
    pre_r_samples,
    qrs_measures,
    record_context,
)
from ecgbench.data.leaks import identities, refuse_duplicates
from ecgbench.data.records import (
    AAMI_MAP,
    ANNOTATOR,
    PREFERRED_LEADS,
    Recording,
    check_checksums,
    check_record_names,
    checksum_digest,
    checksums_verified,
    list_records,
    no_beats_reason,
    read_checksum_list,
    read_record,
    record_files,
    require_database,
)
from ecgbench.data.segmentation import (
    RR_FACTOR,
    WINDOW_S,
    resample_to,
    resampled_positions,
    scale_windows,
    segment_beats,
    window_samples,
)

log = logging.getLogger(__name__)

EXTRACTION_VERSION = 4  # bump when the extraction code changes what it produces: old cache entries are ignored
SOURCE = "PhysioNet {database} (WFDB records, annotator '{annotator}'), beats rebuilt after Kachuee et al. 2018"


@dataclass(frozen=True)
class BeatParams:
    """Everything that decides the beats of a record; part of the cache key and of the provenance."""

    window_s: float = WINDOW_S
    rr_factor: float = RR_FACTOR
    leads: tuple[str, ...] = PREFERRED_LEADS
    annotator: str = ANNOTATOR
    rate_hz: int = SAMPLING_RATE_HZ
    beat_length: int = BEAT_LENGTH

    def __post_init__(self):
        if not (self.window_s > 0 and self.rr_factor > 0):  # also rejects NaN
            raise EcgbenchError(f"window_s and rr_factor must be positive (got {self.window_s}, {self.rr_factor})")
        if self.window_samples < 2:
            raise EcgbenchError(f"window_s = {self.window_s} is shorter than two samples at {self.rate_hz} Hz")

    def as_dict(self) -> dict:
        return {
            **asdict(self),
            "leads": list(self.leads),
            "extraction_version": EXTRACTION_VERSION,
            "aami_map": {c: list(symbols) for c, symbols in AAMI_MAP.items()},
        }

    @property
    def window_samples(self) -> int:
        return window_samples(self.window_s, self.rate_hz)


@dataclass
class RecordBeats:
    """The beats of one record: ``X`` (n, 187) float32, AAMI ``labels``, annotation ``samples`` at ``fs``, the
    signal before every R peak (``pre_r``, :func:`ecgbench.data.context.pre_r_samples`), the QRS measures of the
    unscaled signal (``qrs``, :func:`ecgbench.data.context.qrs_measures`) and every beat's correlation with the
    previous and the next one (``neighbours``, :func:`ecgbench.data.context.neighbour_correlations`)."""

    record: str
    X: np.ndarray
    labels: np.ndarray
    samples: np.ndarray
    symbols: np.ndarray
    lead: str
    fs: float
    pre_r: np.ndarray
    qrs: np.ndarray
    neighbours: np.ndarray
    dropped: int = 0  # beat annotations outside the signal, left out (records.Recording.dropped)

    def __len__(self) -> int:
        return len(self.labels)

    @classmethod
    def stored_fields(cls) -> tuple[str, ...]:
        """The fields a cache entry holds (all but ``record``, which names the entry)."""
        return tuple(f.name for f in fields(cls) if f.name != "record")

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.asarray(getattr(self, name)) for name in self.stored_fields()}

    @classmethod
    def from_arrays(cls, record: str, arrays: dict[str, np.ndarray]) -> RecordBeats:
        values = {**arrays, "lead": str(arrays["lead"]), "fs": float(arrays["fs"]), "dropped": int(arrays["dropped"])}
        return cls(record, **values)

    def is_consistent(self, beat_length: int) -> bool:
        """Whether every per-beat array has one row per beat and the beats ``beat_length`` samples (a cache entry
        that is not is rebuilt)."""
        n = len(self.labels)
        per_beat = (self.X, self.samples, self.symbols, self.pre_r, self.qrs, self.neighbours)
        return (
            self.X.ndim == 2
            and self.X.shape[1] == beat_length
            and all(len(a) == n for a in per_beat)
            and math.isfinite(self.fs)
            and self.fs > 0
        )


def rebuild_record(folder: Path, record: str, params: BeatParams = BeatParams()) -> RecordBeats:
    """Read one WFDB record and cut its annotated beats (every choice made: docs/datasets.md)."""
    return beats_from_recording(record, read_record(folder, record, params.leads, params.annotator), params)


def beats_from_recording(record: str, recording: Recording, params: BeatParams = BeatParams()) -> RecordBeats:
    """The beats of one lead already read: resampled, cut at the annotated R peaks, with their context. The noise
    track (:mod:`ecgbench.data.noise_track`) passes a noisy signal with the clean record's annotations."""
    signal_125 = resample_to(recording.signal, recording.fs, params.rate_hz)
    r_peaks = resampled_positions(recording.samples, recording.fs, len(signal_125), params.rate_hz)
    X = segment_beats(signal_125, r_peaks, params.window_samples, params.rr_factor, params.beat_length)
    pre_r = pre_r_samples(scale_windows(signal_125, params.window_samples), r_peaks)
    return RecordBeats(
        record,
        X,
        recording.labels.astype(np.int8),
        recording.samples,
        recording.symbols,
        recording.lead,
        recording.fs,
        pre_r,
        qrs_measures(signal_125, r_peaks),
        neighbour_correlations(signal_125, r_peaks),
        recording.dropped,
    )


# ------------------------------------------------------------------------------------------ databases


@dataclass
class DatabaseRead:
    """What :func:`read_records` read: every record's beats, the sha256 of every file they come from (by file
    name), and each record's identity, the sha256 of its signal files (:mod:`ecgbench.data.leaks`)."""

    beats: list[RecordBeats]
    checksums: dict[str, str]
    signals: dict[str, list[str]]


def read_records(
    folder: Path, records: list[str], params: BeatParams, verify_checksums: bool | None = None
) -> DatabaseRead:
    """The beats of ``records`` (from the cache where possible), the sha256 of every file they come from and the
    identity of every record.

    The names must lie inside the folder, each once (:func:`~ecgbench.data.records.check_record_names`), and no
    two records may be one recording (:func:`~ecgbench.data.leaks.refuse_duplicates`). Every record's files are
    checked before use (:func:`~ecgbench.data.records.check_record`) and, unless ``verify_checksums`` is false
    (default: ``$ECGBENCH_VERIFY_CHECKSUMS``, else true), compared with the folder's ``SHA256SUMS.txt`` where
    there is one (the hashes are those of the cache key, computed once)."""
    folder = Path(folder)
    require_database(folder, records)
    check_record_names(folder, records, f"WFDB database {folder.name!r}")
    expected_sums = read_checksum_list(folder) if checksums_verified(verify_checksums) else {}
    cache_dir = beat_cache_dir()
    started = time.perf_counter()
    all_beats, checksums, signals, n_rebuilt = [], {}, {}, 0
    for record in records:
        files = record_files(folder, record, params.annotator)
        record_sums = {path.relative_to(folder).as_posix(): sha256_file(path) for path in files}
        check_checksums(folder, record, record_sums, expected_sums)
        checksums.update(record_sums)
        names = list(record_sums)
        signals[record] = [record_sums[name] for name in names[1:-1]] or [record_sums[names[0]]]  # else the header
        path = entry_path(cache_dir, folder.name, record, cache_key(record_sums, params.as_dict()))
        beats, rebuilt = cached_record(folder, record, params, path)
        n_rebuilt += rebuilt
        all_beats.append(beats)
    refuse_duplicates(identities(folder, signals), f"WFDB database {folder.name!r}")
    empty = [beats.record for beats in all_beats if len(beats) == 0]
    if empty and len(empty) == len(all_beats):
        more = f"; {len(empty) - 1} more record(s) without beats" if len(empty) > 1 else ""
        raise EcgbenchError(
            f"WFDB database {folder.name!r}: no record gives a beat (record {empty[0]}, file "
            f"{empty[0]}.{params.annotator}: {no_beats_reason(folder, empty[0], params.annotator)}"
            f"{more}); there are no beats to use"
        )
    for record in empty:  # a record without beats adds none (rhythm annotations only, say): said, and in provenance
        log.warning(
            "WFDB database %s, record %s: no beat annotation inside the signal; it adds no beats", folder.name, record
        )
    _log_summary(folder.name, all_beats, n_rebuilt, time.perf_counter() - started, cache_dir)
    return DatabaseRead(all_beats, checksums, signals)


def read_database(
    folder: Path, records: list[str], params: BeatParams, verify_checksums: bool | None = None
) -> tuple[list[RecordBeats], dict]:
    """The beats of ``records`` and the sha256 of every file they come from (:func:`read_records`)."""
    read = read_records(folder, records, params, verify_checksums)
    return read.beats, read.checksums


def cached_record(folder: Path, record: str, params: BeatParams, path: Path, rebuild=None) -> tuple[RecordBeats, bool]:
    """The record's beats from cache entry ``path``, else rebuilt (``rebuild()`` where given, else
    :func:`rebuild_record`) and cached; and whether they were rebuilt. Other tracks (the noise track's noisy
    records) cache their beats through it with their own ``rebuild``."""
    arrays = read_entry(path, RecordBeats.stored_fields())
    if arrays is not None:
        try:
            beats = RecordBeats.from_arrays(record, arrays)
            consistent = beats.is_consistent(params.beat_length)
        except (TypeError, ValueError):  # e.g. an array where a scalar belongs
            consistent = False
        if consistent:
            log.debug("%s/%s: %s beats from the cache", folder.name, record, f"{len(beats):,}")
            return beats, False
        log.warning("ignoring inconsistent cache file %s (arrays of different lengths or shapes); rebuilding", path)
    started = time.perf_counter()
    beats = rebuild() if rebuild is not None else rebuild_record(folder, record, params)
    write_entry(path, beats.arrays())
    log.debug(
        "%s/%s: rebuilt %s beats (lead %s, %g Hz) in %.2f s",
        folder.name,
        record,
        f"{len(beats):,}",
        beats.lead,
        beats.fs,
        time.perf_counter() - started,
    )
    return beats, True


def _log_summary(database: str, all_beats: list[RecordBeats], n_rebuilt: int, seconds: float, cache_dir: Path):
    n_beats = f"{sum(len(b) for b in all_beats):,}"
    n_records = len(all_beats)
    if n_rebuilt == 0:
        log.info(
            "%s: loaded %s beats of %d records from the cache in %.1f s (%s)",
            database,
            n_beats,
            n_records,
            seconds,
            cache_dir,
        )
    else:
        from_cache = f" ({n_records - n_rebuilt} more from the cache)" if n_rebuilt < n_records else ""
        log.info(
            "%s: rebuilt %s beats from %d records in %.1f s%s; cached in %s",
            database,
            n_beats,
            n_rebuilt,
            seconds,
            from_cache,
            cache_dir,
        )


def dropped_annotations(all_beats: list[RecordBeats]) -> dict[str, int]:
    """``{record: n}`` of the records whose beat annotations outside the signal were left out (provenance)."""
    return {beats.record: int(beats.dropped) for beats in all_beats if beats.dropped}


def record_groups(records: list[str]) -> np.ndarray:
    """One int per record: the record number where every name is a number (MIT-BIH's 100..234), else its
    position in ``records``."""
    if all(r.isdigit() for r in records) and len({int(r) for r in records}) == len(records):
        return np.array([int(r) for r in records], dtype=np.int64)
    return np.arange(len(records), dtype=np.int64)


# The options of every dataset rebuilt from WFDB records (register_dataset's params). Every number has both
# bounds: a window shorter than 1 s holds no RR interval and one over 10 minutes scales the whole record at once;
# the beat is 187 samples (1.5 s) long whatever rr_factor says, so a factor over 5 only pads.
WFDB_PARAMS = {
    "window_s": Param(low=1.0, high=600.0),
    "rr_factor": Param(above=0, high=5.0),
    "drop_last_beat": Param(kind="bool"),
    "context": Param(kind="list", items=Param(choices=tuple(CONTEXT_GROUPS)), check=groups_problem),
    "verify_checksums": Param(kind="bool", optional=True),
}


def load_wfdb_database(
    folder: str | Path,
    records=None,
    *,
    name: str | None = None,
    window_s: float = WINDOW_S,
    rr_factor: float = RR_FACTOR,
    leads: tuple[str, ...] = PREFERRED_LEADS,
    annotator: str = ANNOTATOR,
    drop_last_beat: bool = False,
    context=("rr",),
    verify_checksums: bool | None = None,
) -> Dataset:
    """All annotated beats of ``records`` (default: the folder's ``RECORDS`` file, else its ``*.hea`` files) of
    one WFDB database, rebuilt the Kaggle way; ``groups`` from :func:`record_groups`, no split of its own.

    ``drop_last_beat`` leaves out the last beat of every record, as the Kaggle CSVs do. ``context`` names the
    groups of per-beat context features (:mod:`ecgbench.data.context`; each from the beat's own record) that
    become the dataset's context; ``[]`` gives the beats alone, as in the Kaggle files. ``verify_checksums``:
    as :func:`read_database` takes it.
    """
    context = check_groups(context)
    folder = Path(folder)
    records = list_records(folder) if records is None else [str(r) for r in records]
    leads = (leads,) if isinstance(leads, str) else tuple(leads)  # a suite file may name a single lead
    params = BeatParams(window_s=float(window_s), rr_factor=float(rr_factor), leads=leads, annotator=annotator)
    read = read_records(folder, records, params, verify_checksums)
    all_beats, checksums = read.beats, read.checksums
    keep = [_kept_rows(len(beats), drop_last_beat) for beats in all_beats]
    groups = record_groups(records)
    provenance = {
        "source": SOURCE.format(database=folder.name, annotator=annotator),
        "database": folder.name,
        "records": records,
        "files_sha256_digest": checksum_digest(checksums),
        "n_files": len(checksums),
        "params": {**params.as_dict(), "drop_last_beat": drop_last_beat, "context": list(context)},
        "leads_used": {beats.record: beats.lead for beats in all_beats},
        "fs_used": {beats.record: float(beats.fs) for beats in all_beats},
        "annotations_outside_signal": dropped_annotations(all_beats),
        "records_without_beats": [beats.record for beats in all_beats if len(beats) == 0],
        # What each record is (the sha256 of its signal files): how train and test sides are kept apart
        # (ecgbench.data.leaks), whatever the records are called.
        "record_signals_sha256": read.signals,
        "synthetic": False,
    }
    return Dataset(
        name=name or folder.name,
        X=_concat([b.X[k] for b, k in zip(all_beats, keep, strict=True)], (0, params.beat_length), np.float32),
        y=_concat([b.labels[k] for b, k in zip(all_beats, keep, strict=True)], (0,), np.int64),
        classes=AAMI_CLASSES,
        groups=_concat([np.full(len(k), g) for g, k in zip(groups, keep, strict=True)], (0,), np.int64),
        provenance=provenance,
        context=_concat(
            [record_context(b, context)[k] for b, k in zip(all_beats, keep, strict=True)],
            (0, len(context_names(context))),
            np.float32,
        )
        if context
        else None,
        context_names=context_names(context),
        columns={SAMPLE: _concat([b.samples[k] for b, k in zip(all_beats, keep, strict=True)], (0,), np.int64)},
    )


def _kept_rows(n: int, drop_last_beat: bool) -> np.ndarray:
    return np.arange(n - 1 if drop_last_beat and n else n)


def _concat(parts: list[np.ndarray], empty_shape: tuple, dtype) -> np.ndarray:
    return np.concatenate(parts).astype(dtype) if parts else np.zeros(empty_shape, dtype=dtype)


def database_name_problem(name) -> str | None:
    """A database is a folder of the data directory, named by itself: a path would read records from elsewhere
    (and a second name for the training database would hide that train and test are one)."""
    if not name or "/" in name or "\\" in name or name in (".", "..") or name != name.strip():
        return 'must be the name of a database folder in the data directory (no path), e.g. "mitdb"'
    return None


DATABASE = Param(kind="str", check=database_name_problem)
# A list of record names of one database (None: its RECORDS file, else its headers): at least one, each once.
RECORD_LIST = Param(kind="list", optional=True, items=Param(kind="str"), min_items=1, unique=True)
