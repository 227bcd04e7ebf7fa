"""The noise stress track ``mitdb-noise`` (evaluation **noise stress**): inter-patient models scored on noisy
copies of their test records.

Training: the DS1 records of ``mitdb-inter`` less 118 and 119 (clean), so that the same fitted models can also
score PhysioNet's 12 shipped noise stress records 118e24 ... 119e_6, which are those two records with ``em``
noise. Test: one stack of **conditions**, each a copy of the test beats, and each beat carries its condition's
name (its ``condition`` in :attr:`~ecgbench.data.Dataset.columns`, kept as the predictions' ``condition`` column):

- ``DS2/clean`` and ``DS2/<noise>/<snr>``: DS2, clean and with each noise record of ``noises`` at each SNR of
  ``snrs``, added by :func:`ecgbench.data.noise.add_noise` (nst's calibration and arithmetic, both channels, the
  noise offset drawn from the record name and ``seed``);
- ``nstdb/clean`` and ``nstdb/em/<snr>``: records 118 and 119 clean and as shipped in nstdb (24 ... -6 dB).

Only the signal changes: each condition's beats are cut again from the noisy signal at the clean record's
reference R peaks (mitdb's current annotations, which nst copies), so the beats and the context computed from the
signal see the noise; RR intervals come from the annotations and do not. With ``r_peaks = "xqrs"`` (not the
default) every test condition's R peaks are re-detected in its own signal instead (:mod:`ecgbench.data.detection`):
beats are cut at the detections, the RR intervals come from them, and the detections matched to a reference beat
are the scored beats, so conditions are then scored on different beats. Only the beats in the noisy segments
(``protocol``: nst's ``standard`` one by default, or ``whole``) are test beats, in every condition, the clean ones
included: conditions are compared on the same beats. The shipped records follow the standard protocol. One cell
fits once and predicts every condition. Noisy records are cached like clean ones
(:mod:`ecgbench.data.beat_cache`), keyed by the record's and the noise record's files and the noise settings.
docs/noise.md says more.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import Evaluation
from ecgbench.core.io import sha256_file
from ecgbench.core.params import Param
from ecgbench.data import AAMI_CLASSES, CONDITION, SAMPLE, Dataset, register_dataset
from ecgbench.data.beat_cache import beat_cache_dir, cache_key, entry_path
from ecgbench.data.context import check_groups, context_names, record_context
from ecgbench.data.detection import DETECTOR, DetectionCounts, counts, redetected
from ecgbench.data.leaks import identities, refuse_shared_records
from ecgbench.data.mitdb import DS1, DS2, MITDB
from ecgbench.data.noise import NOISE_RECORDS, NST_SNRS_DB, add_noise, protocol_segments, read_wfdb
from ecgbench.data.records import (
    PREFERRED_LEADS,
    check_checksums,
    checksum_digest,
    checksums_verified,
    choose_lead,
    read_checksum_list,
    read_record,
    record_files,
    records_problem,
)
from ecgbench.data.segmentation import RR_FACTOR, WINDOW_S
from ecgbench.data.wfdb_dataset import (
    RECORD_LIST,
    SOURCE,
    WFDB_PARAMS,
    BeatParams,
    RecordBeats,
    beats_from_recording,
    cached_record,
    dropped_annotations,
    read_records,
)

# Where `list` and `run --all` put this module's datasets (ecgbench.core.registry.listing_rank): as before discovery.
LISTED_AT = 5

NSTDB = "nstdb"
NAME = "mitdb-noise"
SHIPPED_RECORDS = ("118", "119")  # nstdb's sample records: these two with em noise at NST_SNRS_DB
TRAIN = [r for r in DS1 if r not in SHIPPED_RECORDS]
# The default grid (benchmarks/mitdb-noise.toml's cost estimate): em and ma, at 24, 12, 6 and 0 dB.
NOISES = ("em", "ma")
SNRS_DB = (24, 12, 6, 0)
R_PEAKS = ("reference", DETECTOR)  # where the test beats are cut: the annotations, or wfdb's XQRS detections
NOISE_VERSION = 1  # bump when the noisy signal changes for the same settings: old cache entries are ignored
DESCRIPTION = (
    "Noise stress: train on MIT-BIH DS1 less records 118 and 119 (clean), test on DS2 clean and with "
    "nstdb noise (params noises, snrs, protocol, seed; default em and ma at 24, 12, 6, 0 dB) and on "
    "nstdb's 12 shipped records (118 and 119 with em, 24 to -6 dB), beats cut again from the noisy "
    "signal at the reference R peaks, scored on the noisy segments' beats"
)


@dataclass(frozen=True)
class Condition:
    """One test condition: a record group (``DS2``, ``nstdb``), a noise record (None: clean) and its SNR."""

    group: str
    noise: str | None = None
    snr_db: float | None = None

    @property
    def name(self) -> str:
        return f"{self.group}/clean" if self.noise is None else f"{self.group}/{self.noise}/{self.snr_db:g}"

    @classmethod
    def parse(cls, name: str) -> Condition:
        group, _, rest = name.partition("/")
        if rest == "clean":
            return cls(group)
        noise, _, snr = rest.partition("/")
        return cls(group, noise, float(snr))


def shipped_name(record: str, snr_db: float) -> str:
    """nstdb's name of a sample record: 118e24 ... 118e00, 118e_6."""
    return f"{record}e_{-int(snr_db)}" if snr_db < 0 else f"{record}e{int(snr_db):02d}"


def _file_sums(folder: Path, record: str, annotator: str | None, expected: dict) -> dict[str, str]:
    """sha256 of a record's files (named ``<database>/<file>``), checked against the folder's list where known."""
    if annotator is None:
        files = [folder / f"{record}.hea", folder / f"{record}.dat"]
    else:
        files = record_files(folder, record, annotator)
    sums = {path.relative_to(folder).as_posix(): sha256_file(path) for path in files}
    check_checksums(folder, record, sums, expected)
    return {f"{folder.name}/{name}": digest for name, digest in sums.items()}


def noisy_lead(folder: Path, record: str, params: BeatParams, noisy_digital=None, detect: bool = False) -> RecordBeats:
    """The beats of ``record`` cut from ``noisy_digital(clean)`` (a function of the clean record as
    :func:`~ecgbench.data.noise.read_wfdb` reads it, giving the noisy signal in nst's ADC units, the ADC zero
    removed; None: the clean signal) at the clean record's reference R peaks, or (``detect``) at the R peaks
    detected in that signal (:func:`ecgbench.data.detection.redetected`); the lead is the one the clean beats use."""
    import wfdb

    recording = read_record(folder, record, params.leads, params.annotator)
    if noisy_digital is not None:
        clean = read_wfdb(folder / record, params.annotator)
        lead = choose_lead(list(clean.sig_name), params.leads)
        gain = wfdb.rdheader(str(folder / record)).adc_gain[lead]
        added = (noisy_digital(clean)[:, lead] + clean.adc_zero[lead] - clean.signal[:, lead]) / gain
        recording = dataclasses.replace(recording, signal=recording.signal + added)
    return beats_from_recording(record, redetected(recording) if detect else recording, params)


def in_segments(beats: RecordBeats, segments) -> np.ndarray:
    """Which beats (by their annotation sample) lie in the noisy segments."""
    mask = np.zeros(len(beats), dtype=bool)
    for start, stop in segments:
        mask |= (beats.samples >= start) & (beats.samples < stop)
    return mask


def _segments(folder: Path, record: str, protocol: str) -> tuple:
    import wfdb

    header = wfdb.rdheader(str(folder / record))
    return protocol_segments(header.sig_len, float(header.fs), protocol)


# The SNRs a condition may have: nst's shipped records go from 24 to -6 dB; below -20 dB the noise is ten times
# the ECG's amplitude and above 60 dB it is a thousandth of it, so conditions out there measure nothing the range
# does not (and -1000 dB, NaN or infinity are typing errors, not conditions).
SNR_RANGE_DB = (-20, 60)
PROTOCOLS = ("standard", "whole")
CALIBRATIONS = ("nst", "added")
# Every parameter of the track, each with its type and range (docs/noise.md), checked before any data loads.
PARAMS = {
    **WFDB_PARAMS,
    "noises": Param(kind="list", items=Param(choices=NOISE_RECORDS), min_items=1, unique=True),
    "snrs": Param(
        kind="list",
        items=Param(kind="float", low=SNR_RANGE_DB[0], high=SNR_RANGE_DB[1]),
        min_items=1,
        unique=True,
        check=lambda snrs: _snr_names_problem(snrs),
    ),  # defined below
    "protocol": Param(choices=PROTOCOLS),
    "seed": Param(kind="int", low=0, high=2**32 - 1),
    "calibration": Param(choices=CALIBRATIONS),
    "shipped": Param(kind="bool"),
    "r_peaks": Param(choices=R_PEAKS),
    "train_records": RECORD_LIST,
    "test_records": RECORD_LIST,
}
PARAMS.pop("drop_last_beat")  # the track keeps every beat


@register_dataset(
    NAME,
    description=DESCRIPTION,
    evaluation=Evaluation.NOISE_STRESS,
    split_protocol="predefined",
    missing=lambda data_dir, **params: _missing(data_dir, **params),  # defined below
    params=PARAMS,
)
def load_noise_track(
    data_dir: Path,
    noises=NOISES,
    snrs=SNRS_DB,
    protocol: str = "standard",
    seed: int = 0,
    calibration: str = "nst",
    shipped: bool = True,
    r_peaks: str = "reference",
    train_records=None,
    test_records=None,
    window_s: float = WINDOW_S,
    rr_factor: float = RR_FACTOR,
    context=("rr",),
    verify_checksums: bool | None = None,
) -> Dataset:
    """The noise stress track (module docstring). ``noises``/``snrs``: the grid of DS2 conditions; ``protocol``:
    which part of each record is noisy and scored (``standard`` or ``whole``); ``seed``: the noise offsets;
    ``calibration``: :func:`~ecgbench.data.noise.add_noise`'s; ``shipped``: add nstdb's 12 sample records;
    ``r_peaks``: cut the test beats at the reference R peaks or at those XQRS detects in each condition's signal;
    ``train_records`` / ``test_records``: other mitdb records than DS1 less 118, 119 / DS2 (small runs)."""
    context = check_groups(context)
    data_dir = Path(data_dir)
    mitdb, nstdb = data_dir / MITDB, data_dir / NSTDB
    train = [str(r) for r in (TRAIN if train_records is None else train_records)]
    test = [str(r) for r in (DS2 if test_records is None else test_records)]
    unknown = sorted(set(noises) - set(NOISE_RECORDS))
    if unknown or not len(noises) or not len(snrs):
        raise EcgbenchError(
            f"{NAME}: noises must name some of {', '.join(NOISE_RECORDS)} (got {list(noises)}) and "
            f"snrs at least one SNR (got {list(snrs)})"
        )
    if shipped and set(SHIPPED_RECORDS) & set(train):
        raise EcgbenchError(
            f"{NAME}: records {', '.join(SHIPPED_RECORDS)} are tested as nstdb's shipped records; "
            "leave them out of train_records (or set shipped = false)"
        )
    params = BeatParams(window_s=float(window_s), rr_factor=float(rr_factor), leads=PREFERRED_LEADS)
    verify = checksums_verified(verify_checksums)
    expected = {folder: read_checksum_list(folder) if verify else {} for folder in (mitdb, nstdb)}
    train_read = read_records(mitdb, train, params, verify_checksums)
    train_beats, checksums = train_read.beats, dict(train_read.checksums)
    parts: list[tuple[str, RecordBeats, np.ndarray]] = [("", beats, np.ones(len(beats), bool)) for beats in train_beats]

    test_read = read_records(mitdb, test, params, verify_checksums)
    clean_test = test_read.beats
    checksums.update(test_read.checksums)
    tested = identities(mitdb, test_read.signals)
    shipped_read = read_records(mitdb, list(SHIPPED_RECORDS), params, verify_checksums) if shipped else None
    if shipped_read is not None:
        tested += identities(mitdb, shipped_read.signals)
    # By what the records are, not by name (ecgbench.data.leaks): train_records and test_records may not overlap.
    refuse_shared_records(
        NAME, identities(mitdb, train_read.signals), tested, fix="give train_records and test_records disjoint records"
    )
    record_sums = {r: _file_sums(mitdb, r, params.annotator, expected[mitdb]) for r in test}
    noise_sums = {noise: _file_sums(nstdb, noise, None, expected[nstdb]) for noise in noises}  # hashed once each
    segments = {r: _segments(mitdb, r, protocol) for r in test}
    masks = {r: in_segments(b, segments[r]) for r, b in zip(test, clean_test, strict=True)}
    detect = r_peaks == DETECTOR
    detection: dict[str, DetectionCounts] = {}

    def add(condition: Condition, beats: RecordBeats, reference_mask: np.ndarray, scored) -> None:
        """One record's beats in one condition: at the reference R peaks, the reference beats in the segments;
        re-detected, the matched detections in the segments (and the detector's counts)."""
        if not detect:
            parts.append((condition.name, beats, reference_mask))
            return
        mask = in_segments(beats, scored)
        detection[condition.name] = detection.get(condition.name, DetectionCounts()) + counts(
            reference_mask.sum(), beats.labels, mask
        )
        parts.append((condition.name, beats, mask & (beats.labels >= 0)))

    conditions = [Condition("DS2")] + [Condition("DS2", n, float(s)) for n in noises for s in snrs]
    for condition in conditions:
        for record, clean in zip(test, clean_test, strict=True):
            if condition.noise is None:
                beats = _detected_record(mitdb, record, params, record_sums[record]) if detect else clean
            else:
                beats = _noisy_record(
                    mitdb,
                    nstdb,
                    record,
                    params,
                    condition,
                    protocol,
                    seed,
                    calibration,
                    {**record_sums[record], **noise_sums[condition.noise]},
                    detect,
                )
            add(condition, beats, masks[record], segments[record])
    if shipped_read is not None:
        shipped_beats = shipped_read.beats
        checksums.update(shipped_read.checksums)
        for record, clean in zip(SHIPPED_RECORDS, shipped_beats, strict=True):
            standard = _segments(mitdb, record, "standard")
            mask = in_segments(clean, standard)
            base = _file_sums(mitdb, record, params.annotator, expected[mitdb])
            add(Condition("nstdb"), _detected_record(mitdb, record, params, base) if detect else clean, mask, standard)
            for snr in NST_SNRS_DB:
                beats = _shipped_record(mitdb, nstdb, record, snr, params, base, expected, detect)
                add(Condition("nstdb", "em", float(snr)), beats, mask, standard)
    for sums in noise_sums.values():
        checksums.update(sums)

    n_train = sum(len(b) for _, b, _ in parts[: len(train_beats)])
    names = np.concatenate([np.full(int(m.sum()), name) for name, _, m in parts]).astype(str)
    provenance = {
        "source": SOURCE.format(database=MITDB, annotator=params.annotator) + "; noise from PhysioNet nstdb "
        "(nst's calibration, ecgbench.data.noise)",
        "protocol": f"noise stress: train DS1 less {', '.join(SHIPPED_RECORDS)} (clean), test DS2 "
        f"{'and nstdb ' if shipped else ''}conditions on the beats of the {protocol} protocol's noisy "
        "segments; "
        + (
            "R peaks re-detected by XQRS in every test condition (RR intervals from the "
            "detections; scored: detections matched to a reference beat)"
            if detect
            else "only the signal changes (RR intervals come from the annotations)"
        ),
        "database": MITDB,
        "train_records": train,
        "test_records": test,
        "noise": {
            "noises": list(noises),
            "snrs_db": [float(s) for s in snrs],
            "protocol": protocol,
            "seed": seed,
            "calibration": calibration,
            "shipped": bool(shipped),
            "r_peaks": r_peaks,
            "version": NOISE_VERSION,
        },
        **({"detection": {name: c.as_dict() for name, c in detection.items()}} if detect else {}),
        "conditions": {str(name): int((names == name).sum()) for name in dict.fromkeys(names[n_train:])},
        "files_sha256_digest": checksum_digest(checksums),
        "n_files": len(checksums),
        "annotations_outside_signal": dropped_annotations(
            [*train_beats, *clean_test, *(shipped_read.beats if shipped_read else [])]
        ),
        "record_signals_sha256": {
            **train_read.signals,
            **test_read.signals,
            **(shipped_read.signals if shipped_read else {}),
        },
        "params": {**params.as_dict(), "context": list(context)},
        "synthetic": False,
    }
    n = len(names)
    return Dataset(
        name=NAME,
        X=np.concatenate([b.X[m] for _, b, m in parts]),
        y=np.concatenate([b.labels[m] for _, b, m in parts]).astype(np.int64),
        classes=AAMI_CLASSES,
        groups=np.concatenate([np.full(int(m.sum()), int(b.record)) for _, b, m in parts]).astype(np.int64),
        predefined_split=(np.arange(n_train), np.arange(n_train, n)),
        provenance=provenance,
        validation_by_group=True,
        context=np.concatenate([record_context(b, context)[m] for _, b, m in parts]) if context else None,
        context_names=context_names(context),
        columns={
            SAMPLE: np.concatenate([b.samples[m] for _, b, m in parts]).astype(np.int64),
            CONDITION: np.where(np.arange(n) < n_train, "", names),
        },
    )


def _snr_names_problem(snrs) -> str | None:
    """Two SNRs that name one condition (``DS2/em/12`` for 12.000001 and 12.0000001) would pool their beats."""
    names: dict[str, float] = {}
    for snr in snrs:
        name = Condition("DS2", "em", float(snr)).name.rsplit("/", 1)[1]
        if name in names:
            return f"{names[name]!r} and {snr!r} both name the condition .../{name}; keep one"
        names[name] = snr
    return None


def _detected(detect: bool) -> dict:
    """The cache-key settings of the R peaks: none at the reference ones (the keys of earlier runs stay valid)."""
    return {"r_peaks": DETECTOR} if detect else {}


def _noisy_record(
    mitdb: Path,
    nstdb: Path,
    record: str,
    params: BeatParams,
    condition: Condition,
    protocol: str,
    seed: int,
    calibration: str,
    file_sums: dict,
    detect: bool,
) -> RecordBeats:
    """``file_sums``: the sha256 of the record's and the noise record's files (the cache key's inputs)."""
    settings = {
        "noise": condition.noise,
        "snr_db": condition.snr_db,
        "protocol": protocol,
        "seed": seed,
        "calibration": calibration,
        "noise_version": NOISE_VERSION,
        **_detected(detect),
    }
    key = cache_key(file_sums, {**params.as_dict(), **settings})
    path = entry_path(beat_cache_dir(), f"{MITDB}+{condition.noise}{condition.snr_db:g}", record, key)

    def rebuild() -> RecordBeats:
        noise = read_wfdb(nstdb / condition.noise, annotator=None).signal
        return noisy_lead(
            mitdb,
            record,
            params,
            lambda clean: (
                add_noise(
                    clean.signal,
                    clean.samples,
                    clean.symbols,
                    noise,
                    condition.snr_db,
                    fs=clean.fs,
                    protocol=protocol,
                    record=record,
                    seed=seed,
                    adc_zero=clean.adc_zero,
                    calibration=calibration,
                ).signal
            ),
            detect,
        )

    return cached_record(mitdb, record, params, path, rebuild)[0]


def _shipped_record(
    mitdb: Path,
    nstdb: Path,
    record: str,
    snr_db: float,
    params: BeatParams,
    record_sums: dict,
    expected: dict,
    detect: bool,
) -> RecordBeats:
    name = shipped_name(record, snr_db)
    sums = _file_sums(nstdb, name, None, expected[nstdb])
    key = cache_key(
        {**record_sums, **sums},
        {**params.as_dict(), "shipped": name, "noise_version": NOISE_VERSION, **_detected(detect)},
    )
    path = entry_path(beat_cache_dir(), NSTDB, name, key)
    return cached_record(
        mitdb,
        record,
        params,
        path,
        lambda: noisy_lead(mitdb, record, params, lambda clean: read_wfdb(nstdb / name, annotator=None).signal, detect),
    )[0]


def _detected_record(mitdb: Path, record: str, params: BeatParams, record_sums: dict) -> RecordBeats:
    """The clean record's beats at the R peaks XQRS detects in it."""
    key = cache_key(record_sums, {**params.as_dict(), **_detected(True)})
    path = entry_path(beat_cache_dir(), f"{MITDB}+{DETECTOR}", record, key)
    return cached_record(mitdb, record, params, path, lambda: noisy_lead(mitdb, record, params, detect=True))[0]


def _missing(data_dir, noises=NOISES, shipped=True, train_records=None, test_records=None, **params) -> str | None:
    """What keeps the track from being read (cheap file checks), or None."""
    sides = [
        TRAIN if train_records is None else train_records,
        DS2 if test_records is None else test_records,
        SHIPPED_RECORDS if shipped else [],
    ]
    for records in sides:  # side by side: a record on both sides is refused on loading, by what it is
        problem = records_problem(Path(data_dir) / MITDB, [str(r) for r in records]) if records else None
        if problem:
            return problem
    nstdb = Path(data_dir) / NSTDB
    needed = [*noises, *([shipped_name(r, s) for r in SHIPPED_RECORDS for s in NST_SNRS_DB] if shipped else [])]
    absent = [f"{name}.dat" for name in needed if not (nstdb / f"{name}.dat").is_file()]
    if absent:
        return (
            f"{nstdb} lacks {', '.join(absent[:3])}{' ...' if len(absent) > 3 else ''}; run "
            "`python -m ecgbench data fetch nstdb`"
        )
    return None
