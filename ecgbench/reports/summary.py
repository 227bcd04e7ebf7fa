"""Run reports, rendered from the cells of a run read once (:class:`~ecgbench.reports.view.RunView`): the flat
table (``results.csv``, one row per cell; columns in docs/results-format.md) and ``summary.md`` (per dataset, the
evaluation, a table of accuracy / macro-F1 / per-class F1 per model, the AAMI Se and +P, then the sections registered
for its evaluation in :mod:`ecgbench.reports.sections`: their patient-level bootstrap intervals, the ranking over
folds or test patients where at least 3 models are scored on at least 5, where beats carry record ids the average
(per-record mean) Se and +P of V and S beside the gross ones, the noise track's scores per condition; and the records
that hold most of each class's missed beats)."""

from __future__ import annotations

import pandas as pd

from ecgbench.core.evaluation import Evaluation
from ecgbench.data import AAMI_CLASSES
from ecgbench.reports import markdown as md
from ecgbench.reports.markdown import mean_std
from ecgbench.reports.plots import write_heatmap
from ecgbench.reports.results import BINARY_COLUMNS, SCORE_COLUMNS, results_table
from ecgbench.reports.sections import summary_sections
from ecgbench.reports.view import RunView
from ecgbench.run.records import DatasetRecord, Manifest
from ecgbench.run.store import CellKey, RunStore


def missed_by_group(view: RunView) -> pd.DataFrame:
    """Per cell, true class and record (group): how many test beats there are and how many were misclassified.

    No rows where no cell's predictions carry record ids (datasets without them, cells written before they were kept).
    """
    frames = []
    for cell in view.cells:
        predictions = view.predictions(cell)
        if "group" not in predictions:
            continue
        beats = pd.DataFrame(
            {
                "y_true": predictions["y_true"],
                "group": predictions["group"].astype(str),  # record ids as names: ties sort as text
                "missed": predictions["y_true"] != predictions["y_pred"],
            }
        )
        counts = beats.groupby(["y_true", "group"])["missed"].agg(beats="size", missed="sum").reset_index()
        counts["class"] = [cell["classes"][i] for i in counts["y_true"]]
        frames.append(
            counts.drop(columns="y_true").assign(dataset=cell["dataset"], model=cell["model"], seed=cell["seed"])
        )
    if not frames:
        return pd.DataFrame(columns=["group", "beats", "missed", "class", "dataset", "model", "seed"])
    return pd.concat(frames, ignore_index=True)


def write_report(store: RunStore, manifest: Manifest | None = None) -> None:
    """results.csv, metrics.json, summary.md and the heatmaps, from the cell files alone (and the manifest:
    ``manifest`` where the caller is about to write a new one)."""
    view = RunView(store, manifest)
    cells = view.cells
    if not cells:  # no proven cell: an earlier report would show numbers nothing stored proves any more
        for name in ("results.csv", "metrics.json", "summary.md"):
            (store.root / name).unlink(missing_ok=True)
        for stale in (store.root / "confusion").glob("*.png"):
            stale.unlink()
        return
    flat = results_table(cells, store.root.name)
    store.write_results(flat, cells)
    store.write_summary(summary_markdown(view.manifest, flat, missed_by_group(view), evidence_sections(view)))
    for cell in cells:
        write_heatmap(store.heatmap_path(CellKey.of(cell)), cell)
    # the heatmap of a cell no longer in the report (damaged, outside the plan) must not stand beside it
    shown = {store.heatmap_path(CellKey.of(cell)) for cell in cells}
    for stale in sorted((store.root / "confusion").glob("*.png")):
        if stale not in shown:
            stale.unlink()


def evidence_sections(view: RunView) -> dict[str, list[str]]:
    """Per dataset, the lines of every report section registered for its evaluation
    (:mod:`ecgbench.reports.sections`), models in the suite's order."""
    return {
        dataset: [
            line
            for section in summary_sections(view.evaluation(dataset))
            for line in section(view, dataset, view.models(dataset))
        ]
        for dataset in dict.fromkeys(c["dataset"] for c in view.cells)
    }


def summary_markdown(
    manifest: Manifest, table: pd.DataFrame, missed: pd.DataFrame, evidence: dict[str, list[str]] | None = None
) -> str:
    lines = [f"# ecgbench run `{manifest.run_id}`", ""]
    partial = manifest.partial_report
    if partial:  # finish --partial: the run stopped; these tables hold only the cells that finished
        lines += [
            f"> **PARTIAL report**: {partial['finished_cells']} of {partial['planned_cells']} cells finished "
            f"(written {partial['at']}; the run's status: {manifest.status}). Means, intervals and rankings "
            "below rest on the finished cells only; resume the run to complete it.",
            "",
        ]
    if manifest.suite.get("description"):  # .get: runs planned before suites had descriptions
        lines += [manifest.suite["description"], ""]
    dirty = " (with uncommitted changes)" if manifest.dirty else ""
    lines += [
        f"- command: `{manifest.command}`",
        f"- commit: `{manifest.commit}`{dirty}",
        f"- finished: {manifest.finished or 'not yet'}; status: {manifest.status}",
        f"- machine: {manifest.machine['processor']}, {manifest.machine['cpu_count']} CPUs, "
        f"{manifest.machine['threads_per_cell']} threads per cell",
        "- full versions, checksums and parameters: `manifest.json`; every cell: `results.csv`",
        "",
    ]
    invocations = manifest.invocations
    if len(invocations) > 1:  # a resumed run: each invocation ran only the cells not yet finished
        lines += [
            "Resumed run; its invocations, each of which ran the cells not finished before it (a cell's "
            "`commit` column in `results.csv` names the code that ran it, where recorded):",
            "",
        ]
        lines += [
            f"- {i.started}: `{i.command}` at commit `{i.commit}`{' (with uncommitted changes)' if i.dirty else ''}"
            for i in invocations
        ]
        lines += [""]
    if manifest.suite.get("quick"):
        lines += [
            "> **Quick run** (`--quick`): smoke-sized data and models. These numbers only show that the harness works.",
            "",
        ]
    order = {name: i for i, name in enumerate(manifest.suite["models"])}  # the suite's order, not the alphabet
    table = table.sort_values("model", key=lambda models: models.map(order), kind="stable")
    for dataset, rows in table.groupby("dataset", sort=False):
        lines += _dataset_section(dataset, rows, manifest.datasets.get(dataset, DatasetRecord()))
        lines += (evidence or {}).get(dataset, [])
        missed_here = missed[missed["dataset"] == dataset]
        if not missed_here.empty:
            lines = lines[:-1] if lines[-1] == "" else lines  # the table below opens with its own blank line
            lines += _missed_by_group_table(
                missed_here, list(rows["model"].unique()), manifest.datasets[dataset].classes
            )
    return "\n".join(lines) + "\n"


def _dataset_section(dataset: str, rows: pd.DataFrame, info: DatasetRecord) -> list[str]:
    classes = info.classes or []
    title = f"## {dataset}"
    if info.synthetic:
        title += " (SYNTHETIC data: simulated beats; these numbers say nothing about real ECGs)"
    splits = info.splits
    split_text = "; ".join(
        f"{name}: train {s['train']} / val {s['val']} / test {s['test']} beats" for name, s in splits.items()
    )
    protocol = rows["protocol"].iloc[0]
    seeds = sorted(rows["seed"].unique())
    lines = [title, ""]
    evaluation = Evaluation(info.evaluation)
    warning = " **Optimistic**: the same patients' beats train and test the models." if evaluation.optimistic else ""
    provenance = info.provenance or {}
    described = provenance.get("protocol")
    lines += [f"Evaluation: **{evaluation.title}**.{warning}" + (f" Data: {described}." if described else ""), ""]
    if provenance.get("note"):  # e.g. Kaggle-layout files that are not the published ones
        lines += [f"> **Data: {provenance['note']}.**", ""]
    if info.context_features:
        lines += [f"Per-beat context given to the models that take it: {', '.join(info.context_features)}.", ""]
    lines += [
        f"Split protocol: **{protocol}** ({split_text}); seeds: {', '.join(map(str, seeds))}. "
        "With several seeds or folds a cell shows mean ± standard deviation.",
        "",
    ]
    header = (
        ["model", "seeds", "accuracy", "balanced acc.", "macro-F1", "weighted-F1"]
        + [f"F1 {c}" for c in classes]
        + ["fit (s)", "test beats/s", "peak MB"]
    )
    lines += md.table(header)
    for model, group in rows.groupby("model", sort=False):
        cells = [model, str(group["seed"].nunique())] + [mean_std(group[c]) for c in SCORE_COLUMNS]
        cells += [mean_std(group[f"f1_{c}"]) for c in classes]
        cells += [
            mean_std(group["fit_seconds"], 1),
            f"{group['beats_per_second'].mean():,.0f}",
            f"{group['peak_memory_mb'].max():,.0f}" if group["peak_memory_mb"].notna().any() else "-",
        ]
        lines.append(md.row(cells))
    if rows["baseline_f1_macro"].notna().any():
        lines += ["", f"Majority-class baseline macro-F1: {rows['baseline_f1_macro'].iloc[0]:.4f}."]
    if tuple(classes) == AAMI_CLASSES:
        lines += ["", *_aami_table(rows, classes)]
    if len(classes) == 2 and all(c in rows for c in BINARY_COLUMNS):
        lines += ["", *_binary_table(rows, classes)]
    return lines + [""]


def _binary_table(rows: pd.DataFrame, classes) -> list[str]:
    """Two classes: sensitivity (the abnormal class found), specificity (the normal class kept) and ROC AUC."""
    lines = [
        f"Two classes, `{classes[1]}` the positive one: sensitivity (recall of {classes[1]}), specificity "
        f"(recall of {classes[0]}) and ROC AUC of the {classes[1]} probability:",
        "",
        "| model | sensitivity | specificity | ROC AUC |",
        "|---|---|---|---|",
    ]
    for model, group in rows.groupby("model", sort=False):
        lines.append(md.row([model, *(mean_std(group[c]) for c in BINARY_COLUMNS)]))
    return lines


def _aami_table(rows: pd.DataFrame, classes) -> list[str]:
    """The AAMI EC57 view: sensitivity (Se, recall) and positive predictivity (+P, precision) per class."""
    header = ["model"] + [f"{kind} {c}" for c in classes for kind in ("Se", "+P")]
    lines = [
        "AAMI EC57 per-class sensitivity (Se) and positive predictivity (+P):",
        "",
        *md.table(header),
    ]
    for model, group in rows.groupby("model", sort=False):
        cells = [model] + [mean_std(group[f"{metric}_{c}"]) for c in classes for metric in ("recall", "precision")]
        lines.append(md.row(cells))
    return lines


def _missed_by_group_table(missed: pd.DataFrame, models: list[str], classes: list[str], top: int = 3) -> list[str]:
    """Per model and true class, the records that hold the most missed beats: one record can sink a class."""
    # Mean over seeds per (model, class, record); the beats per record are the same for every seed of a split.
    per_record = missed.groupby(["model", "class", "group"], sort=False)[["beats", "missed"]].mean().reset_index()
    header = ["model"] + [f"missed {c}" for c in classes]
    lines = [
        f"Where the missed beats are: per true class, the missed beats of all records (mean over seeds) and the "
        f"{top} records (or patients) that hold the most, as record: missed / beats of that class in it.",
        "",
        *md.table(header),
    ]
    for model in models:
        cells = [model]
        for name in classes:
            rows = per_record[(per_record["model"] == model) & (per_record["class"] == name)]
            worst = rows[rows["missed"] > 0].sort_values("missed", ascending=False, kind="stable").head(top)
            records = "; ".join(f"{r.group}: {r.missed:.0f} / {r.beats:.0f}" for r in worst.itertuples())
            total = f"{rows['missed'].sum():.0f} / {rows['beats'].sum():.0f}"
            cells.append(f"{total} ({records})" if records else total)
        lines.append(md.row(cells))
    return ["", *lines, ""]
