"""Run reports. A run folder ``results/<run-id>/`` holds:

- ``manifest.json``: command, suite, commit, Python and library versions, data checksums, seeds, machine, status;
- ``splits/<dataset>.npz``: the indices of every split's train, validation and test parts;
- ``cells/<dataset>/<split>/<model>/seed<k>/``: ``predictions.csv`` (beat index, record or patient id where the
  dataset has one, true label, predicted label, one probability column per class) and ``metrics.json`` (written
  last: its presence marks the cell finished);
- ``results.csv``: the flat table, one row per cell (columns documented in the README);
- ``metrics.json``: every cell's metrics in one file;
- ``summary.md``: per dataset, one table of accuracy / macro-F1 / per-class F1 per model, readable on GitHub, and
  where beats carry record ids, the records that hold most of each class's missed beats;
- ``confusion/<dataset>_<split>_<model>_seed<k>.png``: confusion-matrix heatmaps.

Every file is written atomically; the report files are derived from the cell files alone, so they can be rebuilt.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

import ecgbench
from ecgbench.data import AAMI_CLASSES
from ecgbench.errors import EcgbenchError
from ecgbench.io import atomic_write, write_json, write_text

LIBRARIES = ("numpy", "pandas", "scipy", "scikit-learn", "xgboost", "tsfresh", "sktime", "numba", "tensorflow",
             "keras", "seaborn", "matplotlib")
SCORE_COLUMNS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")
COST_COLUMNS = ("fit_seconds", "predict_seconds", "beats_per_second", "peak_memory_mb")


# ---- manifest ---------------------------------------------------------------------------------------------------

CODE_PATHS = ("ecgbench", "benchmarks", "pyproject.toml")


def git_commit() -> dict:
    """The checked-out commit, and whether the code (``CODE_PATHS``) differs from it."""
    repo = Path(ecgbench.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True,
                                check=True).stdout.strip()
        # Only the code counts: the run's own report files under results/ change while it runs.
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
                               cwd=repo, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown (not a git checkout)", "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


def _versions() -> dict:
    versions = {"python": sys.version.split()[0], "ecgbench": ecgbench.__version__}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def _machine() -> dict:
    from ecgbench.threads import current_threads

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpu_count": os.cpu_count(), "threads_per_cell": current_threads(), "accelerator": _accelerator()}


def _accelerator() -> str:
    """The GPUs that ``nvidia-smi`` lists (what TensorFlow would use), else "none (CPU)"."""
    import shutil

    if not shutil.which("nvidia-smi"):
        return "none (CPU)"
    try:
        listing = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
                                 capture_output=True, text=True, timeout=20, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "none (CPU)"
    return "; ".join(listing.splitlines()) or "none (CPU)"


def environment() -> dict:
    """Commit, library versions and machine: what a benchmark records beside its numbers."""
    return {**git_commit(), "versions": _versions(), "machine": _machine()}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def start_manifest(run_dir: Path, suite, command: str) -> dict:
    """Create the manifest, or reopen it when resuming a run with the same suite."""
    path = run_dir / "manifest.json"
    if path.exists():
        manifest = json.loads(path.read_text())
        if manifest["suite_fingerprint"] != suite.fingerprint():
            raise EcgbenchError(
                f"{run_dir} holds a run of another suite (different datasets, models, seeds or parameters); "
                "choose another --run-id, or delete that folder to start it over"
            )
    else:
        manifest = {"run_id": run_dir.name, "suite": suite.to_dict(), "suite_fingerprint": suite.fingerprint(),
                    "started": _now(), "datasets": {}}
    code = git_commit()
    manifest.setdefault("invocations", []).append({"command": command, "started": _now(), **code})
    manifest.update(status="running", command=command, versions=_versions(), machine=_machine(), **code)
    write_json(path, manifest)
    return manifest


def record_dataset(manifest: dict, dataset, splits) -> None:
    manifest["datasets"][dataset.name] = {
        "n_beats": len(dataset.y), "classes": list(dataset.classes), "class_counts": dataset.class_counts(),
        "synthetic": dataset.synthetic, "provenance": dataset.provenance,
        "context_features": list(dataset.context_names),
        "splits": {s.name: {"protocol": s.protocol, "train": len(s.train), "val": len(s.val), "test": len(s.test)}
                   for s in splits},
    }


def finish_manifest(run_dir: Path, manifest: dict, failures: list[str]) -> None:
    manifest.update(status="failed cells" if failures else "complete", finished=_now(), failures=failures)
    write_json(run_dir / "manifest.json", manifest)


# ---- cells ------------------------------------------------------------------------------------------------------

def cell_folder(run_dir: Path, dataset: str, split: str, model: str, seed: int) -> Path:
    return run_dir / "cells" / dataset / split / model / f"seed{seed}"


def cell_finished(folder: Path) -> bool:
    return (folder / "metrics.json").exists()


def write_cell(folder: Path, index, y_true, proba, classes, metrics: dict, groups=None) -> None:
    predictions = pd.DataFrame({"index": index})
    if groups is not None:  # record ids: the summary shows which records hold the missed beats
        predictions["group"] = groups
    predictions["y_true"] = y_true
    predictions["y_pred"] = proba.argmax(axis=1)
    for i, name in enumerate(classes):
        predictions[f"p_{name}"] = proba[:, i]
    atomic_write(folder / "predictions.csv", lambda tmp: predictions.to_csv(tmp, index=False, float_format="%.6g"))
    (folder / "error.txt").unlink(missing_ok=True)
    write_json(folder / "metrics.json", metrics)  # last: marks the cell finished


def write_cell_failure(folder: Path, exc: BaseException) -> None:
    import traceback

    write_text(folder / "error.txt", "".join(traceback.format_exception(exc)))


def load_cells(run_dir: Path) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted((run_dir / "cells").glob("*/*/*/seed*/metrics.json"))]


def missed_by_group(run_dir: Path, cells: list[dict]) -> pd.DataFrame:
    """Per cell, true class and record (group): how many test beats there are and how many were misclassified.

    No rows where no cell's predictions carry record ids (datasets without them, cells written before they were kept).
    """
    frames = []
    for cell in cells:
        folder = cell_folder(run_dir, cell["dataset"], cell["split"], cell["model"], cell["seed"])
        predictions = pd.read_csv(folder / "predictions.csv", dtype={"group": str})
        if "group" not in predictions:
            continue
        predictions["missed"] = predictions["y_true"] != predictions["y_pred"]
        counts = predictions.groupby(["y_true", "group"])["missed"].agg(beats="size", missed="sum").reset_index()
        counts["class"] = [cell["classes"][i] for i in counts["y_true"]]
        frames.append(counts.drop(columns="y_true").assign(
            dataset=cell["dataset"], model=cell["model"], seed=cell["seed"]))
    if not frames:
        return pd.DataFrame(columns=["group", "beats", "missed", "class", "dataset", "model", "seed"])
    return pd.concat(frames, ignore_index=True)


# ---- saved probabilities, rescored (benchmarks/soft_vote.py, benchmarks/prior_weights.py) -----------------------

def pooled_probabilities(run_dir: Path) -> tuple[dict[str, np.ndarray], np.ndarray, tuple[str, ...]]:
    """Per model, the saved probabilities of every split's test beats in one (beats, classes) array, and the labels.

    Seed 0 of each model; the beats are in the same order for every model. For a ``group-kfold`` run this is one
    out-of-fold prediction per beat, by models that never saw the beat's patient.
    """
    cells = [c for c in load_cells(run_dir) if c["seed"] == 0]
    if not cells:
        raise EcgbenchError(f"{run_dir} holds no finished seed-0 cells")
    by_model: dict[str, list[pd.DataFrame]] = {}
    for cell in cells:
        folder = cell_folder(run_dir, cell["dataset"], cell["split"], cell["model"], cell["seed"])
        by_model.setdefault(cell["model"], []).append(
            pd.read_csv(folder / "predictions.csv").assign(split=cell["split"]))
    frames = {m: pd.concat(parts).sort_values(["split", "index"], ignore_index=True) for m, parts in by_model.items()}
    first = next(iter(frames.values()))
    for model, frame in frames.items():
        if not frame[["split", "index"]].equals(first[["split", "index"]]):
            raise EcgbenchError(f"{model} has not finished the same splits as the other models in {run_dir}")
    columns = [c for c in first.columns if c.startswith("p_")]
    classes = tuple(c[2:] for c in columns)
    return {m: f[columns].to_numpy() for m, f in frames.items()}, first["y_true"].to_numpy(), classes


def rescoring_header(title: str, command: str, run_dir: Path, manifest: dict) -> list[str]:
    """The opening lines of a report rescored from a run's saved probabilities: what made it, from which run.

    The title says SYNTHETIC where any of the run's datasets is, as every report of synthetic numbers must.
    """
    synthetic = any(info.get("synthetic") for info in manifest.get("datasets", {}).values())
    return [f"# {title}" + (" (SYNTHETIC data)" if synthetic else ""), "",
            f"- command: `{command}`", f"- commit: `{git_commit()['commit']}`",
            f"- run: `{run_dir.name}` (`{manifest['command']}`, commit `{manifest['commit']}`)"]


# ---- the flat table, the summary, the heatmaps ----------------------------------------------------------------

def flat_row(cell: dict) -> dict:
    row = {key: cell[key] for key in ("dataset", "synthetic", "split", "protocol", "model", "seed", "n_train",
                                      "n_val", "n_test")}
    row.update({key: cell[key] for key in SCORE_COLUMNS})
    for name, scores in cell["per_class"].items():
        row.update({f"{metric}_{name}": scores[metric] for metric in ("precision", "recall", "f1", "support")})
    row.update({key: cell.get(key) for key in COST_COLUMNS})  # .get: cells from before peak memory was recorded
    row["baseline_f1_macro"] = cell.get("baseline_f1_macro")
    row["commit"] = cell.get("commit")  # .get: cells from before the commit was recorded per cell
    return row


def results_table(run_dir: Path) -> pd.DataFrame:
    cells = load_cells(run_dir)
    if not cells:
        raise EcgbenchError(f"{run_dir} holds no finished cells")
    table = pd.DataFrame([flat_row(c) for c in cells])
    table.insert(0, "run_id", run_dir.name)
    return table


def write_report(run_dir: Path) -> None:
    cells = load_cells(run_dir)
    if not cells:
        return
    table = results_table(run_dir)
    atomic_write(run_dir / "results.csv", lambda tmp: table.to_csv(tmp, index=False, float_format="%.6g"))
    write_json(run_dir / "metrics.json", cells)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    write_text(run_dir / "summary.md", summary_markdown(manifest, table, missed_by_group(run_dir, cells)))
    for cell in cells:
        name = f"{cell['dataset']}_{cell['split']}_{cell['model']}_seed{cell['seed']}.png"
        write_heatmap(run_dir / "confusion" / name, cell)


def _mean_std(values: pd.Series, digits: int = 4) -> str:
    if len(values) == 1 or values.std() == 0 or np.isnan(values.std()):
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def summary_markdown(manifest: dict, table: pd.DataFrame, missed: pd.DataFrame) -> str:
    lines = [f"# ecgbench run `{manifest['run_id']}`", ""]
    dirty = " (with uncommitted changes)" if manifest.get("dirty") else ""
    lines += [f"- command: `{manifest['command']}`", f"- commit: `{manifest['commit']}`{dirty}",
              f"- finished: {manifest.get('finished', 'not yet')}; status: {manifest['status']}",
              f"- machine: {manifest['machine']['processor']}, {manifest['machine']['cpu_count']} CPUs, "
              f"{manifest['machine']['threads_per_cell']} threads per cell",
              "- full versions, checksums and parameters: `manifest.json`; every cell: `results.csv`", ""]
    invocations = manifest.get("invocations", [])
    if len(invocations) > 1:  # a resumed run: each invocation ran only the cells not yet finished
        lines += ["Resumed run; its invocations, each of which ran the cells not finished before it (a cell's "
                  "`commit` column in `results.csv` names the code that ran it, where recorded):", ""]
        lines += [f"- {i['started']}: `{i['command']}` at commit `{i['commit']}`"
                  f"{' (with uncommitted changes)' if i.get('dirty') else ''}" for i in invocations]
        lines += [""]
    if manifest["suite"].get("quick"):
        lines += ["> **Quick run** (`--quick`): smoke-sized data and models. These numbers only show that the "
                  "harness works.", ""]
    order = {name: i for i, name in enumerate(manifest["suite"]["models"])}  # the suite's order, not the alphabet
    table = table.sort_values("model", key=lambda models: models.map(order), kind="stable")
    for dataset, rows in table.groupby("dataset", sort=False):
        lines += _dataset_section(dataset, rows, manifest["datasets"].get(dataset, {}))
        missed_here = missed[missed["dataset"] == dataset]
        if not missed_here.empty:
            lines += _missed_by_group_table(missed_here, list(rows["model"].unique()),
                                            manifest["datasets"][dataset]["classes"])
    return "\n".join(lines) + "\n"


def _dataset_section(dataset: str, rows: pd.DataFrame, info: dict) -> list[str]:
    classes = info.get("classes", [])
    title = f"## {dataset}"
    if info.get("synthetic"):
        title += " (SYNTHETIC data: simulated beats; these numbers say nothing about real ECGs)"
    splits = info.get("splits", {})
    split_text = "; ".join(f"{name}: train {s['train']} / val {s['val']} / test {s['test']} beats"
                           for name, s in splits.items())
    protocol = rows["protocol"].iloc[0]
    seeds = sorted(rows["seed"].unique())
    lines = [title, ""]
    evaluation = info.get("provenance", {}).get("protocol")
    if evaluation:
        warning = " **Optimistic**: the same patients' beats train and test the models." if is_intra(info) else ""
        lines += [f"Evaluation: {evaluation}.{warning}", ""]
    if info.get("context_features"):
        lines += [f"Per-beat context given to the models that take it: {', '.join(info['context_features'])}.", ""]
    lines += [f"Split protocol: **{protocol}** ({split_text}); seeds: {', '.join(map(str, seeds))}. "
              "With several seeds or folds a cell shows mean ± standard deviation.", ""]
    header = ["model", "seeds", "accuracy", "balanced acc.", "macro-F1", "weighted-F1"] + [
        f"F1 {c}" for c in classes] + ["fit (s)", "test beats/s", "peak MB"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, group in rows.groupby("model", sort=False):
        cells = [model, str(group["seed"].nunique())] + [_mean_std(group[c]) for c in SCORE_COLUMNS]
        cells += [_mean_std(group[f"f1_{c}"]) for c in classes]
        cells += [_mean_std(group["fit_seconds"], 1), f"{group['beats_per_second'].mean():,.0f}",
                  f"{group['peak_memory_mb'].max():,.0f}" if group["peak_memory_mb"].notna().any() else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    if rows["baseline_f1_macro"].notna().any():
        lines += ["", f"Majority-class baseline macro-F1: {rows['baseline_f1_macro'].iloc[0]:.4f}."]
    if tuple(classes) == AAMI_CLASSES:
        lines += ["", *_aami_table(rows, classes)]
    return lines + [""]


def is_intra(info: dict) -> bool:
    """Whether a dataset's evaluation puts one patient's beats on both sides (the manifest's protocol text)."""
    return str(info.get("provenance", {}).get("protocol", "")).startswith("intra-patient")


def _aami_table(rows: pd.DataFrame, classes) -> list[str]:
    """The AAMI EC57 view: sensitivity (Se, recall) and positive predictivity (+P, precision) per class."""
    header = ["model"] + [f"{kind} {c}" for c in classes for kind in ("Se", "+P")]
    lines = ["AAMI EC57 per-class sensitivity (Se) and positive predictivity (+P):", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, group in rows.groupby("model", sort=False):
        cells = [model] + [_mean_std(group[f"{metric}_{c}"]) for c in classes for metric in ("recall", "precision")]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _missed_by_group_table(missed: pd.DataFrame, models: list[str], classes: list[str], top: int = 3) -> list[str]:
    """Per model and true class, the records that hold the most missed beats: one record can sink a class."""
    # Mean over seeds per (model, class, record); the beats per record are the same for every seed of a split.
    per_record = missed.groupby(["model", "class", "group"], sort=False)[["beats", "missed"]].mean().reset_index()
    header = ["model"] + [f"missed {c}" for c in classes]
    lines = [f"Where the missed beats are: per true class, the missed beats of all records (mean over seeds) and the "
             f"{top} records (or patients) that hold the most, as record: missed / beats of that class in it.", "",
             "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model in models:
        cells = [model]
        for name in classes:
            rows = per_record[(per_record["model"] == model) & (per_record["class"] == name)]
            worst = rows[rows["missed"] > 0].sort_values("missed", ascending=False, kind="stable").head(top)
            records = "; ".join(f"{r.group}: {r.missed:.0f} / {r.beats:.0f}" for r in worst.itertuples())
            total = f"{rows['missed'].sum():.0f} / {rows['beats'].sum():.0f}"
            cells.append(f"{total} ({records})" if records else total)
        lines.append("| " + " | ".join(cells) + " |")
    return ["", *lines, ""]


def write_heatmap(path: Path, cell: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    counts = np.array(cell["confusion"])
    normalized = np.array(cell["confusion_normalized"])
    labels = [f"{n:,}\n{p:.1%}" for n, p in zip(counts.ravel(), normalized.ravel(), strict=True)]
    fig, ax = plt.subplots(figsize=(1.2 * len(counts) + 2, 1.1 * len(counts) + 1.5))
    sns.heatmap(normalized, annot=np.array(labels).reshape(counts.shape), fmt="", cmap="Blues", vmin=0, vmax=1,
                xticklabels=cell["classes"], yticklabels=cell["classes"], cbar_kws={"label": "share of true class"},
                ax=ax)
    synthetic = " (SYNTHETIC)" if cell.get("synthetic") else ""
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"{cell['model']} on {cell['dataset']}{synthetic}\n{cell['split']}, seed {cell['seed']}: "
                 f"accuracy {cell['accuracy']:.3f}, macro-F1 {cell['f1_macro']:.3f}")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


# ---- compare ----------------------------------------------------------------------------------------------------

def resolve_run(name: str, results_dir: Path) -> Path:
    for candidate in (Path(name), results_dir / name):
        if (candidate / "results.csv").is_file():
            return candidate
    raise EcgbenchError(f"no run report found at {name!r} or {results_dir / name} (expected a results.csv in it)")


def compare_runs(run_a: Path, run_b: Path) -> pd.DataFrame:
    """Long table (dataset, model, metric, A, B, difference) over the (dataset, model) pairs both runs share.

    Seeds and folds are averaged first, so runs with different seeds still compare.
    """
    tables = []
    for run in (run_a, run_b):
        table = pd.read_csv(run / "results.csv")
        metrics = [c for c in table.columns if c in SCORE_COLUMNS or c.startswith("f1_") and c not in SCORE_COLUMNS
                   or c in ("fit_seconds", "beats_per_second")]
        tables.append(table.groupby(["dataset", "model"], sort=False)[metrics].mean())
    a, b = tables
    shared = a.index.intersection(b.index)
    if shared.empty:
        raise EcgbenchError(f"{run_a.name} and {run_b.name} share no (dataset, model) pair to compare")
    rows = []
    for dataset, model in shared:
        for metric in a.columns.intersection(b.columns):
            va, vb = a.loc[(dataset, model), metric], b.loc[(dataset, model), metric]
            if pd.notna(va) or pd.notna(vb):
                rows.append({"dataset": dataset, "model": model, "metric": metric, "a": va, "b": vb,
                             "difference": vb - va})
    return pd.DataFrame(rows)


def comparison_markdown(diff: pd.DataFrame, name_a: str, name_b: str) -> str:
    lines = [f"# ecgbench: `{name_a}` (A) vs `{name_b}` (B)", "",
             "Means over seeds and folds; difference = B − A.", ""]
    for dataset, rows in diff.groupby("dataset", sort=False):
        lines += [f"## {dataset}", "", "| model | metric | A | B | B − A |", "|---|---|---|---|---|"]
        for r in rows.itertuples():
            lines.append(f"| {r.model} | {r.metric} | {_fmt(r.a)} | {_fmt(r.b)} | {_fmt(r.difference, sign=True)} |")
        lines.append("")
    return "\n".join(lines)


def _fmt(value: float, sign: bool = False) -> str:
    if pd.isna(value):
        return "–"
    text = f"{value:+.4f}" if sign else f"{value:.4f}"
    return text if abs(value) < 1000 else (f"{value:+,.0f}" if sign else f"{value:,.0f}")
