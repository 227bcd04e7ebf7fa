"""``ecgbench predict``: a stored model on new records, its beats cut exactly as in training.

The model is a run's cell (``RUN/MODEL[/seedK]``) or a model folder; its card says how its beats were made (beat
length, sampling rate, window, RR factor, lead, context groups). A WFDB record is read at its own sampling rate,
its R peaks taken from a reference annotator (``--annotator``) or detected with XQRS (the noise track's
:mod:`ecgbench.data.detection`), and its beats and context cut by the same functions as the training data
(:func:`ecgbench.data.wfdb_dataset.beats_from_recording`, :func:`ecgbench.data.context.record_context`). A
Kaggle-layout CSV of beats is classified as it is. Output per input: a per-beat table (Parquet and CSV), for
records a WFDB annotation file with AAMI beat symbols and a PNG strip. docs/using-models.md.
"""

from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.data import AAMI_CLASSES, SAMPLING_RATE_HZ

log = logging.getLogger(__name__)

DEFAULT_ANNOTATOR = "ecgb"
PROGRESS_BEATS = 20_000  # beats per piece predicted, and per progress line on long records
DEFAULT_STRIP_S = 60.0
STRIP_ROW_S = 10.0


@dataclass
class LoadedModel:
    model: object
    folder: Path
    card: dict
    where: str  # how it was named, for messages
    threads: int  # the threads it predicts with (BLAS, numba, XGBoost, TensorFlow)
    checksums: dict | None = None  # the cell's recorded checksums of the folder's files (a Dask worker checks them)
    allow_pickle: bool = False


# ---- the model -----------------------------------------------------------------------------------------------


def resolve_model(spec: str, results_dir: Path, allow_pickle: bool = False, threads: int | None = None) -> LoadedModel:
    """The model named ``spec``: a model folder (``model.json`` in it), or ``RUN/MODEL[/seedK]`` of a run folder
    or run id under ``results_dir`` (default: the model's lowest seed). A run's model is checked against the
    checksums its cell recorded. ``threads``: the threads to predict with; default the threads its cell ran with
    (BLAS sums in another order with another thread count: the probabilities could differ in the last digits from
    the stored ones), else all CPUs."""
    from ecgbench.core.threads import current_threads, set_threads
    from ecgbench.models.cards import CARD_JSON
    from ecgbench.models.saving import load_model

    path = Path(spec)
    metrics = {}
    if (path / "model.json").is_file() or (path / "model" / "model.json").is_file():
        folder = path if (path / "model.json").is_file() else path / "model"
        if (folder.parent / "metrics.json").is_file():  # a cell's model folder: its recorded checksums apply
            metrics = _read_json(folder.parent / "metrics.json")
    else:
        folder, metrics = _cell_model(spec, results_dir)
    recorded = metrics.get("threads")
    set_threads(threads or (recorded if isinstance(recorded, int) and recorded > 0 else current_threads()))
    model = load_model(folder, allow_pickle=allow_pickle, checksums=metrics.get("model_sha256"))
    card = _read_json(folder / CARD_JSON) if (folder / CARD_JSON).is_file() else {}
    return LoadedModel(model, folder, card, spec, current_threads(), metrics.get("model_sha256"), allow_pickle)


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise EcgbenchError(f"{path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise EcgbenchError(f"{path} is damaged: not a JSON object")
    return data


def _cell_model(spec: str, results_dir: Path) -> tuple[Path, dict]:
    from ecgbench.reports.view import RunView
    from ecgbench.run.store import CellKey, resolve_run

    parts = spec.rstrip("/").split("/")
    seed = None
    if len(parts) >= 3 and parts[-1].startswith("seed") and parts[-1][4:].isdigit():
        seed, parts = int(parts[-1][4:]), parts[:-1]
    if len(parts) < 2:
        raise EcgbenchError(
            f"model {spec!r}: give RUN/MODEL[/seedK] (a run folder or run id under {results_dir}) or a model folder"
        )
    run, model = "/".join(parts[:-1]), parts[-1]
    view = RunView(resolve_run(run, results_dir))  # the run's cells listed and proven once
    store = view.store
    cells = view.cells_of(model=model, seed=seed)
    if not cells:
        models = sorted({c["model"] for c in view.cells})
        raise EcgbenchError(
            f"model {spec!r}: run {store.root} has no finished cell of model {model!r}"
            + (f" with seed {seed}" if seed is not None else "")
            + f" (its models: {', '.join(models) or 'none'})"
        )
    lowest = min(c["seed"] for c in cells)
    cells = [c for c in cells if c["seed"] == lowest]
    if len(cells) > 1:
        ids = ", ".join(CellKey.of(c).id for c in cells)
        raise EcgbenchError(
            f"model {spec!r}: run {store.root} holds several cells of it ({ids}); name one by its "
            "model folder (cells/DATASET/SPLIT/MODEL/seedK/model)"
        )
    key = CellKey.of(cells[0])
    folder = store.model_dir(key)
    if "model_sha256" not in cells[0] or not folder.is_dir():
        raise EcgbenchError(
            f"model {spec!r}: cell {key.id} of {store.root} stored no model (run with --no-models, "
            "or by an ecgbench before models were kept); to keep one, compute the cell again: "
            f"python -m ecgbench run-cell {store.root} {key.id} --force"
        )
    return folder, cells[0]


# ---- inputs --------------------------------------------------------------------------------------------------


@dataclass
class Beats:
    """What one input gives: per-beat positions, model input, reference symbols where known, and the signal."""

    name: str  # the record (or CSV) name
    source: Path
    X: np.ndarray
    samples: np.ndarray  # sample positions of the R peaks at fs (CSV: row numbers)
    fs: float | None
    reference: np.ndarray | None  # reference annotation symbols (mapped to AAMI below), where an annotator was given
    reference_labels: np.ndarray | None
    signal: np.ndarray | None = None
    lead: str | None = None


def input_kind(path: Path) -> str:
    """``csv`` or ``wfdb`` (a record path without extension: its ``.hea`` beside it)."""
    if path.suffix.lower() == ".csv":
        return "csv"
    return "wfdb"


def beat_settings(loaded: LoadedModel) -> dict:
    beats = loaded.card.get("beats") or {}
    return {
        "length": int(beats.get("length") or (loaded.model.n_columns_ - loaded.model.n_context)),
        "rate_hz": int(beats.get("sampling_rate_hz") or SAMPLING_RATE_HZ),
        "window_s": beats.get("window_s"),
        "rr_factor": beats.get("rr_factor"),
        "wfdb": bool(beats.get("wfdb")),
    }


def record_beats(loaded: LoadedModel, path: Path, lead: str | None, annotator: str | None) -> Beats:
    """The beats of WFDB record ``path`` as the model's training cut them."""
    from ecgbench.data.context import record_context
    from ecgbench.data.records import (
        PLAUSIBLE_FS_HZ,
        Recording,
        _check_signal_files,
        _header_fs,
        _non_empty_bytes,
        fill_gaps,
        read_record,
        wfdb_errors,
    )
    from ecgbench.data.wfdb_dataset import BeatParams, beats_from_recording

    settings = beat_settings(loaded)
    card = loaded.card
    if not settings["wfdb"] or settings["window_s"] is None:
        raise EcgbenchError(
            f"{path}: model {loaded.where} was not trained on beats cut from WFDB records (its card "
            "names no window or RR factor), so it cannot cut beats from a record; give a CSV of beats"
        )
    folder, record = path.parent, path.name
    header_text = _non_empty_bytes(folder, record, f"{record}.hea", "a WFDB header").decode("latin-1")
    import wfdb

    with wfdb_errors(folder, record, f"{record}.hea"):
        header = wfdb.rdheader(str(path))
    fs = _header_fs(folder, record, f"{record}.hea", header_text)
    fs = float(header.fs) if fs is None else fs
    low, high = PLAUSIBLE_FS_HZ
    if not (math.isfinite(fs) and low <= fs <= high):
        raise EcgbenchError(
            f"{path}.hea: the sampling rate {fs:g} Hz is out of range (an ECG record for this model "
            f"must be sampled at {low:g}..{high:g} Hz)"
        )
    if getattr(header, "seg_name", None):
        raise EcgbenchError(f"{path}.hea: a multi-segment record; give its segments one by one")
    _check_signal_files(folder, record, header)
    wanted = lead or card.get("lead") or "MLII"
    if isinstance(wanted, list):
        wanted = wanted[0]
    names = [n.strip().upper() for n in header.sig_name]
    if wanted.upper() not in names:
        raise EcgbenchError(
            f"{path}: the record has no lead {wanted!r} (its leads: {', '.join(header.sig_name)}); name one with --lead"
        )
    window = float(settings["window_s"])
    if header.sig_len is not None and header.sig_len < window * fs:
        raise EcgbenchError(
            f"{path}: the record is too short ({header.sig_len / fs:.1f} s); the model's beats are "
            f"cut from windows of {window:g} s, so it needs at least {window:g} s"
        )
    params = BeatParams(
        window_s=window,
        rr_factor=float(settings["rr_factor"]),
        leads=(wanted,),
        annotator=annotator or "atr",
        rate_hz=settings["rate_hz"],
        beat_length=settings["length"],
    )
    if annotator:
        recording = read_record(folder, record, (wanted,), annotator)
    else:
        from ecgbench.data.detection import detect_r_peaks

        lead_index = names.index(wanted.upper())
        with wfdb_errors(folder, record, (header.file_name or [f"{record}.dat"])[lead_index]):
            signal = fill_gaps(
                np.asarray(wfdb.rdrecord(str(path), channels=[lead_index]).p_signal, dtype=np.float64)[:, 0]
            )
        log.info("%s: detecting R peaks (XQRS) in %.0f s of lead %s", record, len(signal) / fs, wanted)
        peaks = detect_r_peaks(signal, fs)
        peaks = peaks[(peaks >= 0) & (peaks < len(signal))]
        recording = Recording(
            signal,
            fs,
            header.sig_name[lead_index],
            peaks,
            np.full(len(peaks), "?"),
            np.full(len(peaks), -1, dtype=np.int64),
        )
    if len(recording.samples) < 2:
        raise EcgbenchError(
            f"{path}: {len(recording.samples)} beat(s) "
            + (f"annotated by {annotator!r}" if annotator else "detected")
            + "; the model needs at least two (RR intervals)"
        )
    beats = beats_from_recording(record, recording, params)
    X = beats.X
    n_context = loaded.model.n_context
    groups = tuple((card.get("context") or {}).get("groups") or ())
    if n_context:
        context = record_context(beats, groups)
        if context.shape[1] != n_context:
            raise EcgbenchError(
                f"model {loaded.where}: its card's context groups give {context.shape[1]} features, "
                f"the model takes {n_context}"
            )
        X = np.hstack([X, context]).astype(np.float32)
    reference = reference_labels = None
    if annotator:
        reference, reference_labels = recording.symbols, recording.labels
    return Beats(record, path, X, recording.samples, fs, reference, reference_labels, recording.signal, recording.lead)


def csv_beats(loaded: LoadedModel, path: Path) -> Beats:
    """The beats of a Kaggle-layout CSV (one beat a row, the class label in the last column)."""
    settings = beat_settings(loaded)
    try:
        table = pd.read_csv(path, header=None, float_precision="round_trip")  # the beats exactly as written
    except FileNotFoundError:
        raise EcgbenchError(f"{path}: not found") from None
    except Exception as exc:
        raise EcgbenchError(f"{path}: cannot be read as CSV ({type(exc).__name__}: {exc})") from None
    values = table.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    if not len(values) or not np.isfinite(values).all():
        raise EcgbenchError(f"{path}: not a CSV of beats (empty, or cells that are not numbers)")
    width = values.shape[1] - 1
    if width != settings["length"]:
        raise EcgbenchError(
            f"{path}: beats of {width} samples (plus the label column), but the model takes beats "
            f"of {settings['length']} samples"
        )
    if loaded.model.n_context:
        raise EcgbenchError(
            f"{path}: model {loaded.where} takes {loaded.model.n_context} context features, which "
            "a CSV of beats does not have" + ("; give WFDB records" if settings["wfdb"] else "")
        )
    if loaded.model.uses_groups:
        raise EcgbenchError(
            f"{path}: model {loaded.where} normalises each beat by its record (record_normalisation), and a CSV "
            "of beats does not say which record a beat is from; give WFDB records"
        )
    labels = values[:, -1].astype(np.int64)
    known = (labels >= 0) & (labels < len(loaded.card.get("classes") or AAMI_CLASSES))
    symbols = np.array([AAMI_CLASSES[c] if ok else "?" for c, ok in zip(labels, known, strict=True)])
    return Beats(
        path.stem,
        path,
        values[:, :-1].astype(np.float32),
        np.arange(len(values)),
        None,
        symbols,
        np.where(known, labels, -1),
    )


def read_input(loaded: LoadedModel, path: Path, lead: str | None, annotator: str | None) -> Beats:
    if input_kind(path) == "csv":
        return csv_beats(loaded, path)
    if not Path(f"{path}.hea").is_file():
        hint = " (give the record without its extension)" if path.suffix in (".hea", ".dat", ".atr") else ""
        raise EcgbenchError(f"{path}: no WFDB record there ({path}.hea not found){hint}")
    return record_beats(loaded, path, lead, annotator)


# ---- predicting and writing ----------------------------------------------------------------------------------


def predict_beats(loaded: LoadedModel, beats: Beats) -> np.ndarray:
    from ecgbench.core.progress import duration

    started, parts = time.monotonic(), []
    if loaded.model.uses_groups:  # each beat normalised by its record: the record in one piece
        return loaded.model.predict_proba(beats.X, np.zeros(len(beats.X), dtype=np.int64))
    for begin in range(0, len(beats.X), PROGRESS_BEATS):
        parts.append(loaded.model.predict_proba(beats.X[begin : begin + PROGRESS_BEATS]))
        if len(beats.X) > PROGRESS_BEATS:
            log.info(
                "%s: %d / %d beats, elapsed %s",
                beats.name,
                min(begin + PROGRESS_BEATS, len(beats.X)),
                len(beats.X),
                duration(time.monotonic() - started),
            )
    return np.concatenate(parts)


def output_paths(output: Path, beats: Beats, out_annotator: str) -> dict[str, Path]:
    paths = {"parquet": output / f"{beats.name}.predictions.parquet", "csv": output / f"{beats.name}.predictions.csv"}
    if beats.fs is not None:
        paths["annotations"] = output / f"{beats.name}.{out_annotator}"
        paths["strip"] = output / f"{beats.name}.predictions.png"
    return paths


def beat_table(beats: Beats, proba: np.ndarray, classes) -> pd.DataFrame:
    predicted = proba.argmax(axis=1)
    table = pd.DataFrame({"record": beats.name, "sample": beats.samples})
    table["time_s"] = beats.samples / beats.fs if beats.fs else np.nan
    table["predicted"] = np.asarray(classes)[predicted]
    if beats.reference is not None:
        table["reference_symbol"] = beats.reference
        labels = beats.reference_labels
        table["reference"] = np.where(labels >= 0, np.asarray(classes)[np.clip(labels, 0, len(classes) - 1)], "")
    for i, name in enumerate(classes):
        table[f"p_{name}"] = proba[:, i].astype(np.float32)
    return table


def write_outputs(
    beats: Beats, table: pd.DataFrame, paths: dict[str, Path], out_annotator: str, strip_s: float
) -> None:
    from ecgbench.core.io import atomic_write

    atomic_write(paths["parquet"], lambda tmp: table.to_parquet(tmp, index=False))
    atomic_write(paths["csv"], lambda tmp: table.to_csv(tmp, index=False))
    if "annotations" in paths:
        write_annotations(paths["annotations"], beats, table, out_annotator)
        write_strip(paths["strip"], beats, table, strip_s)


def write_annotations(path: Path, beats: Beats, table: pd.DataFrame, out_annotator: str) -> None:
    """AAMI beat symbols (N, S, V, F, Q) at the beats' samples, as a WFDB annotation file (``wfdb.wrann``)."""
    import tempfile

    import wfdb

    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".wrann.") as tmp:
        wfdb.wrann(
            beats.name,
            out_annotator,
            np.asarray(beats.samples, dtype=np.int64),
            symbol=table["predicted"].tolist(),
            write_dir=tmp,
            fs=beats.fs,
        )
        Path(tmp, f"{beats.name}.{out_annotator}").replace(path)


def write_strip(path: Path, beats: Beats, table: pd.DataFrame, strip_s: float) -> None:
    """The first ``strip_s`` seconds of the lead in rows of 10 s, each beat's predicted class above it, the
    reference class below it where known, disagreements in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecgbench.core.io import atomic_write

    fs, signal = beats.fs, beats.signal
    seconds = min(strip_s, len(signal) / fs)
    rows = max(1, math.ceil(seconds / STRIP_ROW_S))
    fig, axes = plt.subplots(rows, 1, figsize=(14, 1.9 * rows), squeeze=False)
    has_reference = "reference" in table
    disagree = (table["reference"] != "") & (table["reference"] != table["predicted"]) if has_reference else None
    for r, ax in enumerate(axes[:, 0]):
        a, b = int(r * STRIP_ROW_S * fs), int(min((r + 1) * STRIP_ROW_S, seconds) * fs)
        t = np.arange(a, b) / fs
        ax.plot(t, signal[a:b], color="black", linewidth=0.6)
        top, bottom = (signal[a:b].max(), signal[a:b].min()) if b > a else (1, 0)
        span = (top - bottom) or 1.0
        ax.set_ylim(bottom - 0.35 * span, top + 0.35 * span)
        ax.set_xlim(r * STRIP_ROW_S, (r + 1) * STRIP_ROW_S)
        inside = (table["sample"] >= a) & (table["sample"] < b)
        for i in np.flatnonzero(inside.to_numpy()):
            x = table["sample"].iat[i] / fs
            wrong = bool(disagree.iat[i]) if disagree is not None else False
            ax.text(
                x,
                top + 0.15 * span,
                table["predicted"].iat[i],
                ha="center",
                fontsize=7,
                color="red" if wrong else "tab:blue",
            )
            if has_reference and table["reference"].iat[i]:
                ax.text(
                    x,
                    bottom - 0.3 * span,
                    table["reference"].iat[i],
                    ha="center",
                    fontsize=7,
                    color="red" if wrong else "dimgray",
                )
        ax.set_yticks([])
        ax.tick_params(labelsize=7)
    axes[-1, 0].set_xlabel("time (s)")
    title = f"{beats.name}, lead {beats.lead}: predicted class above each beat"
    if has_reference:
        title += f", reference below; red: disagreement ({int(disagree.sum())} of {len(table)} beats in the record)"
    axes[0, 0].set_title(title, fontsize=9)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)


def predict_inputs(
    loaded: LoadedModel,
    inputs: list[Path],
    output: Path,
    lead: str | None = None,
    annotator: str | None = None,
    out_annotator: str = DEFAULT_ANNOTATOR,
    overwrite: bool = False,
    strip_s: float = DEFAULT_STRIP_S,
    workers: int | None = None,
    scheduler: str | None = None,
) -> list[dict[str, Path]]:
    """Predict every input; every input is read and checked, and every output file checked as a command's
    output (:func:`ecgbench.core.io.output_file`: an existing one replaced only with ``overwrite``), before anything
    is written. With ``workers`` (a local Dask cluster) or ``scheduler``, the inputs are predicted in parallel as
    Dask tasks."""
    from ecgbench.core.io import output_file, writable_folder
    from ecgbench.data import resolve_data_dir

    if not out_annotator.isalnum():
        raise EcgbenchError(f"--out-annotator {out_annotator!r}: letters and digits only (a file extension)")
    if annotator is not None and annotator == out_annotator:
        raise EcgbenchError(
            f"--out-annotator {out_annotator!r} is the reference annotator: its file would be overwritten"
        )
    writable_folder(output, "--output")
    classes = loaded.card.get("classes") or list(AAMI_CLASSES[: loaded.model.n_classes])
    if len(classes) != loaded.model.n_classes:
        raise EcgbenchError(
            f"model {loaded.where}: its card names {len(classes)} classes, the model predicts {loaded.model.n_classes}"
        )
    read = [read_input(loaded, Path(path), lead, annotator) for path in inputs]
    names = [beats.name for beats in read]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise EcgbenchError(f"inputs {', '.join(twice)} are named twice: their outputs would overwrite each other")
    plans = [output_paths(output, beats, out_annotator) for beats in read]
    sources = [p for path in inputs for p in Path(path).parent.glob(f"{Path(path).name}.*")]  # never replaced
    for paths in plans:
        for path in paths.values():
            output_file(path, "--output", overwrite, inputs=sources, data_dir=resolve_data_dir(None))
    output.mkdir(parents=True, exist_ok=True)
    if any("annotations" in paths for paths in plans) and not set(classes) <= set(AAMI_CLASSES):
        raise EcgbenchError(
            f"model {loaded.where}: its classes {classes} are not AAMI beat classes; no WFDB "
            "annotation file can say them"
        )
    if workers is None and scheduler is None:
        for beats, paths in zip(read, plans, strict=True):
            predict_one(loaded, beats, paths, classes, out_annotator, strip_s)
        return plans
    return _predict_on_dask(loaded, read, plans, classes, out_annotator, strip_s, workers, scheduler)


def predict_one(
    loaded: LoadedModel, beats: Beats, paths: dict[str, Path], classes, out_annotator: str, strip_s: float
) -> None:
    """Predict one read input and write its outputs (in this process, or as a Dask task: :func:`_worker_task`)."""
    from ecgbench.core.threads import pinned

    with pinned(loaded.threads):
        proba = predict_beats(loaded, beats)
    table = beat_table(beats, proba, classes)
    write_outputs(beats, table, paths, out_annotator, strip_s)
    log.info("%s: %d beats predicted -> %s", beats.name, len(table), ", ".join(str(p) for p in paths.values()))


_WORKER_MODELS: dict = {}  # a worker process's loaded models, by folder and threads


def _worker_task(
    folder: str,
    checksums: dict | None,
    allow_pickle: bool,
    threads: int,
    card: dict,
    where: str,
    beats: Beats,
    paths: dict[str, Path],
    classes,
    out_annotator: str,
    strip_s: float,
) -> str:
    """On a Dask worker: load the model from its folder (its checksums checked, once per worker process) and
    predict one input. Only plain arguments travel; the model never does."""
    from ecgbench.core.threads import set_threads
    from ecgbench.models.saving import load_model

    set_threads(threads)
    key = (folder, threads)
    if key not in _WORKER_MODELS:
        _WORKER_MODELS[key] = load_model(Path(folder), allow_pickle=allow_pickle, checksums=checksums)
    loaded = LoadedModel(_WORKER_MODELS[key], Path(folder), card, where, threads, checksums, allow_pickle)
    predict_one(loaded, beats, paths, classes, out_annotator, strip_s)
    return beats.name


def _predict_on_dask(
    loaded: LoadedModel,
    read: list[Beats],
    plans: list[dict[str, Path]],
    classes,
    out_annotator: str,
    strip_s: float,
    workers: int | None,
    scheduler: str | None,
) -> list[dict[str, Path]]:
    """Every input as a Dask task on ``--workers N`` local processes (executors.local_cluster, TLS) or on the
    cluster at ``--scheduler``; an input that fails there is named, and the others' outputs stay."""
    from ecgbench.run import executors

    connect = executors.local_cluster(workers, loaded.threads) if workers else executors.scheduler(scheduler)
    done, failed = [], []
    with connect() as client:
        from distributed import as_completed

        futures = {
            client.submit(
                _worker_task,
                str(loaded.folder),
                loaded.checksums,
                loaded.allow_pickle,
                loaded.threads,
                loaded.card,
                loaded.where,
                beats,
                paths,
                classes,
                out_annotator,
                strip_s,
                key=f"predict-{i}-{beats.name}",
                pure=False,
                retries=0,
            ): (beats, paths)
            for i, (beats, paths) in enumerate(zip(read, plans, strict=True))
        }
        for future in as_completed(futures):
            beats, paths = futures[future]
            try:
                future.result()
            except Exception as exc:
                failed.append(beats.name)
                log.error("%s: failed on a worker: %s: %s", beats.name, type(exc).__name__, exc)
            else:
                done.append(paths)
                log.info("%s: predicted on a worker -> %s", beats.name, ", ".join(str(p) for p in paths.values()))
    if failed:
        raise EcgbenchError(
            f"predict: {len(failed)} input(s) failed on the workers ({', '.join(failed)}); "
            f"the outputs of the other {len(done)} are written"
        )
    return plans
