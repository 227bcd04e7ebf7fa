"""``ecgbench gallery``: the misclassified beats of one (true, predicted) pair of a run's model, drawn with the
record and the time of each, so that any of them can be found in its record (docs/using-models.md)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.reports.view import RunView

COLUMNS = 6


def _clock(seconds: float) -> str:
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}:{rest:06.3f}"


def selected_beats(view: RunView, model: str, true: str, pred: str, seed: int | None):
    """The cells of ``model`` (its lowest seed unless ``seed``), their classes, and the predictions of every one of
    their test beats of true class ``true`` predicted ``pred``, most confident first."""
    from ecgbench.run.store import CellKey

    cells = view.cells_of(model=model)
    if not cells:
        models = sorted({c["model"] for c in view.cells})
        raise EcgbenchError(
            f"run {view.root} has no finished cell of model {model!r} (its models: {', '.join(models) or 'none'})"
        )
    seeds = sorted({c["seed"] for c in cells})
    chosen = seeds[0] if seed is None else seed
    if chosen not in seeds:
        raise EcgbenchError(
            f"model {model!r} of run {view.root} has no seed {seed} (its seeds: {', '.join(map(str, seeds))})"
        )
    cells = [c for c in cells if c["seed"] == chosen]
    classes = list(cells[0]["classes"])
    for name, value in (("--true", true), ("--pred", pred)):
        if value not in classes:
            raise EcgbenchError(f"{name} {value!r} is not a class of the run (its classes: {', '.join(classes)})")
    if true == pred:
        raise EcgbenchError(f"--true and --pred are both {true!r}: those beats are not misclassified")
    t, p = classes.index(true), classes.index(pred)
    frames = []
    for cell in cells:
        key = CellKey.of(cell)
        frame = view.predictions(cell)
        frame = frame[(frame["y_true"] == t) & (frame["y_pred"] == p)]
        frames.append(frame.assign(cell=key.id, dataset=key.dataset, split=key.split))
    chosen_rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if chosen_rows.empty:
        raise EcgbenchError(
            f"model {model!r} (seed {chosen}) of run {view.root} predicted no beat of true class "
            f"{true} as {pred}: nothing to draw"
        )
    chosen_rows = chosen_rows.sort_values(f"p_{pred}", ascending=False, kind="stable", ignore_index=True)
    return cells, classes, chosen_rows, chosen


def write_gallery(
    run: str,
    results_dir: Path,
    model: str,
    true: str,
    pred: str,
    seed: int | None,
    most: int,
    output: Path,
    data_dir: Path | None = None,
    overwrite: bool = False,
) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ecgbench.core.io import atomic_write, output_file
    from ecgbench.data import SAMPLE, SAMPLING_RATE_HZ, resolve_data_dir
    from ecgbench.run.runner import cell_dataset, suite_dataset
    from ecgbench.run.store import CellKey, resolve_run
    from ecgbench.run.suite import Suite

    if most < 1:
        raise EcgbenchError(f"--max must be at least 1 (got {most})")
    output_file(output, "--output", overwrite, data_dir=resolve_data_dir(data_dir))
    store = resolve_run(run, results_dir)
    view = RunView(store)
    cells, classes, rows, chosen = selected_beats(view, model, true, pred, seed)
    total = len(rows)
    rows = rows.head(most)
    manifest = view.manifest
    data_dir = resolve_data_dir(data_dir)
    datasets = {}
    for dataset in rows["dataset"].unique():  # the beats as the cell saw them (the run's data, checked)
        key = CellKey.of(next(c for c in cells if c["dataset"] == dataset))
        record = manifest.datasets.get(dataset)
        if record is not None and record.fingerprint:
            datasets[dataset] = cell_dataset(store, key, data_dir, manifest)
        else:  # a run from before fingerprints: the beats' labels must at least be the ones it scored
            datasets[dataset] = suite_dataset(Suite(**manifest.suite), dataset, data_dir)
        mine = rows[rows["dataset"] == dataset]
        index = mine["index"].to_numpy()
        loaded = datasets[dataset]
        if index.max() >= len(loaded.y) or not np.array_equal(loaded.y[index], mine["y_true"].to_numpy()):
            raise EcgbenchError(
                f"dataset {dataset!r} as loaded from {data_dir} is not the data run {store.root} "
                "scored (its beats' labels differ); point --data-dir at the run's data"
            )
    if "sample" not in rows or rows["sample"].isna().any():  # a run from before the column: the data know it
        positions = [
            datasets[d].columns[SAMPLE][int(i)] if SAMPLE in datasets[d].columns else np.nan
            for d, i in zip(rows["dataset"], rows["index"], strict=True)
        ]
        rows = rows.assign(sample=rows["sample"].fillna(pd.Series(positions)) if "sample" in rows else positions)
    n = len(rows)
    n_rows = math.ceil(n / COLUMNS)
    fig, axes = plt.subplots(n_rows, min(COLUMNS, n), figsize=(2.6 * min(COLUMNS, n), 2.1 * n_rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for i, row in rows.iterrows():
        dataset = datasets[row["dataset"]]
        beat = dataset.X[int(row["index"])]
        ax = axes.ravel()[i]
        ax.axis("on")
        ax.plot(np.arange(len(beat)) / SAMPLING_RATE_HZ, beat, color="black", linewidth=0.8)
        ax.set_xticks([])
        ax.set_yticks([])
        # the run's record of the data, else (a run from before fs_used) what the data say now
        record = manifest.datasets.get(row["dataset"])
        provenance = {**dataset.provenance, **((record and record.provenance) or {})}
        lines = [where(row, provenance)]
        if row.get("condition"):
            lines.append(str(row["condition"]))
        lines.append(f"p({pred}) {row[f'p_{pred}']:.2f}, p({true}) {row[f'p_{true}']:.2f}")
        ax.set_xlabel("\n".join(lines), fontsize=7)
    fig.suptitle(
        f"{store.root.name}: {model} seed {chosen}, true {true} predicted {pred}: {n} of {total} beats, "
        "most confident first",
        fontsize=9,
    )
    fig.tight_layout()
    atomic_write(output, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
    return output


def where(row, provenance: dict) -> str:
    """``record 100, 12:34.567`` where the beat's record and sample are known, else its index in the dataset."""
    record = row.get("group")
    if record is None or (isinstance(record, float) and math.isnan(record)):
        return f"beat {int(row['index'])}"
    record = str(int(record)) if isinstance(record, (int, np.integer, float)) else str(record)
    sample = row.get("sample")
    if sample is None or (isinstance(sample, float) and math.isnan(sample)):
        return f"record {record}, beat {int(row['index'])}"
    fs = (provenance.get("fs_used") or {}).get(record)
    names = provenance.get("groups")  # wfdb-cross: groups are positions in its list of DATABASE/RECORD names
    if isinstance(names, dict) and (names.get(record) or names.get(int(record) if record.isdigit() else None)):
        record = names.get(record) or names.get(int(record))
        database, _, base = record.partition("/")
        sides = [provenance.get(side) or {} for side in ("train", "test")]
        fs = next(((side.get("fs_used") or {}).get(base) for side in sides if side.get("database") == database), None)
    if fs is None:
        return f"record {record}, sample {int(sample)}"
    return f"record {record}, {_clock(int(sample) / fs)} (sample {int(sample)})"
