"""Run reports, rendered from the cells of a :class:`~ecgbench.run.store.RunStore`: the flat table (``results.csv``,
one row per cell; columns in docs/results-format.md) and ``summary.md`` (per dataset, the evaluation, a table of
accuracy / macro-F1 / per-class F1 per model, the AAMI Se and +P, their patient-level bootstrap intervals, the
ranking over folds or test patients where at least 3 models are scored on at least 5, and where beats carry record
ids, the average (per-record mean) Se and +P of V and S beside the gross ones and the records that hold most of each
class's missed beats)."""

from __future__ import annotations

import logging

import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import Evaluation
from ecgbench.data import AAMI_CLASSES
from ecgbench.reports.markdown import mean_std
from ecgbench.run.records import DatasetRecord, Manifest
from ecgbench.run.store import RESULTS_FLOAT_FORMAT, SCHEMA_VERSION, CellKey, RunStore

log = logging.getLogger(__name__)

SCORE_COLUMNS = ("accuracy", "balanced_accuracy", "f1_macro", "f1_weighted")
COST_COLUMNS = ("fit_seconds", "predict_seconds", "beats_per_second", "peak_memory_mb")
BINARY_COLUMNS = ("sensitivity", "specificity", "roc_auc")  # class 1 (abnormal) is the positive class


def missed_by_group(store: RunStore, cells: list[dict]) -> pd.DataFrame:
    """Per cell, true class and record (group): how many test beats there are and how many were misclassified.

    No rows where no cell's predictions carry record ids (datasets without them, cells written before they were kept).
    """
    frames = []
    for cell in cells:
        predictions = store.predictions(CellKey.of(cell))
        if "group" not in predictions:
            continue
        predictions["group"] = predictions["group"].astype(str)  # record ids as names: ties sort as text
        predictions["missed"] = predictions["y_true"] != predictions["y_pred"]
        counts = predictions.groupby(["y_true", "group"])["missed"].agg(beats="size", missed="sum").reset_index()
        counts["class"] = [cell["classes"][i] for i in counts["y_true"]]
        frames.append(
            counts.drop(columns="y_true").assign(dataset=cell["dataset"], model=cell["model"], seed=cell["seed"])
        )
    if not frames:
        return pd.DataFrame(columns=["group", "beats", "missed", "class", "dataset", "model", "seed"])
    return pd.concat(frames, ignore_index=True)


def flat_row(cell: dict) -> dict:
    row = {
        key: cell[key]
        for key in ("dataset", "synthetic", "split", "protocol", "model", "seed", "n_train", "n_val", "n_test")
    }
    row.update({key: cell[key] for key in SCORE_COLUMNS})
    for name, scores in cell["per_class"].items():
        row.update({f"{metric}_{name}": scores[metric] for metric in ("precision", "recall", "f1", "support")})
    row.update({key: cell[key] for key in (*COST_COLUMNS, "baseline_f1_macro", "commit")})
    row.update({key: cell[key] for key in BINARY_COLUMNS if key in cell})  # two-class datasets only
    return row


def results_table(cells: list[dict], run_id: str) -> pd.DataFrame:
    table = pd.DataFrame([flat_row(c) for c in cells])
    table.insert(0, "run_id", run_id)
    return table


def proven_results(store: RunStore) -> pd.DataFrame:
    """The run's flat table as readers use it (``compare``'s means, the leaderboard): rebuilt from the cells that
    their predictions prove (:meth:`RunStore.cells`), never taken from ``results.csv`` as written. A results.csv
    that is damaged is named (:meth:`RunStore.read_results`); one that disagrees with the cells (altered, or
    stale beside a cell left out) gets a warning, and its numbers are not used."""
    import io

    on_disk = store.read_results()
    partial = store.read_manifest().partial_report
    if partial:
        log.warning(
            "%s holds a PARTIAL report (finish --partial): %d of %d cells finished",
            store.root,
            partial["finished_cells"],
            partial["planned_cells"],
        )
    cells = store.cells()
    if not cells:
        raise EcgbenchError(f"{store.root} holds no finished cell that its predictions prove (see the warnings)")
    table = results_table(cells, store.root.name).assign(schema_version=SCHEMA_VERSION)
    # through the CSV text, as results.csv holds it, so that means match those of the written report exactly
    table = pd.read_csv(io.StringIO(table.to_csv(index=False, float_format=RESULTS_FLOAT_FORMAT)))
    if not table.equals(on_disk):
        log.warning(
            "%s does not match the run's cells (altered, or stale beside a cell left out): its numbers are "
            "not used, the cells' are; `python -m ecgbench upgrade %s` rewrites it",
            store.results_path,
            store.root,
        )
    return table


def write_report(store: RunStore, manifest: Manifest | None = None) -> None:
    """results.csv, metrics.json, summary.md and the heatmaps, from the cell files alone (and the manifest:
    ``manifest`` where the caller is about to write a new one)."""
    from ecgbench.reports.plots import write_heatmap

    cells = store.cells()
    if not cells:  # no proven cell: an earlier report would show numbers nothing stored proves any more
        for name in ("results.csv", "metrics.json", "summary.md"):
            (store.root / name).unlink(missing_ok=True)
        for stale in (store.root / "confusion").glob("*.png"):
            stale.unlink()
        return
    table = results_table(cells, store.root.name)
    store.write_results(table, cells)
    manifest = manifest or store.read_manifest()
    store.write_summary(
        summary_markdown(manifest, table, missed_by_group(store, cells), evidence_sections(store, manifest, cells))
    )
    for cell in cells:
        write_heatmap(store.heatmap_path(CellKey.of(cell)), cell)
    # the heatmap of a cell no longer in the report (damaged, outside the plan) must not stand beside it
    shown = {store.heatmap_path(CellKey.of(cell)) for cell in cells}
    for stale in sorted((store.root / "confusion").glob("*.png")):
        if stale not in shown:
            stale.unlink()


def evidence_sections(store: RunStore, manifest: Manifest, cells: list[dict]) -> dict[str, list[str]]:
    """Per dataset, the uncertainty table and, where it applies, the ranking over folds or patients
    (:mod:`ecgbench.reports.evidence`), models in the suite's order."""
    from ecgbench.reports.evidence import average_statistics_section, ranking_section, uncertainty_table

    sections = {}
    for dataset in dict.fromkeys(c["dataset"] for c in cells):
        present = {c["model"] for c in cells if c["dataset"] == dataset}
        models = [m for m in manifest.suite["models"] if m in present]
        evaluation = manifest.datasets.get(dataset, DatasetRecord()).evaluation or ""
        sections[dataset] = [
            *uncertainty_table(store, dataset, models, cells),
            *average_statistics_section(store, dataset, models, cells),
            *ranking_section(store, dataset, models, cells, evaluation),
        ]
        if evaluation == Evaluation.NOISE_STRESS:  # the noise track: every condition scored on its own
            from ecgbench.reports.noise_report import summary_section

            sections[dataset] += summary_section(store, dataset, manifest.datasets[dataset], models, cells)
    return sections


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
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for model, group in rows.groupby("model", sort=False):
        cells = [model, str(group["seed"].nunique())] + [mean_std(group[c]) for c in SCORE_COLUMNS]
        cells += [mean_std(group[f"f1_{c}"]) for c in classes]
        cells += [
            mean_std(group["fit_seconds"], 1),
            f"{group['beats_per_second'].mean():,.0f}",
            f"{group['peak_memory_mb'].max():,.0f}" if group["peak_memory_mb"].notna().any() else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
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
        lines.append("| " + " | ".join([model, *(mean_std(group[c]) for c in BINARY_COLUMNS)]) + " |")
    return lines


def _aami_table(rows: pd.DataFrame, classes) -> list[str]:
    """The AAMI EC57 view: sensitivity (Se, recall) and positive predictivity (+P, precision) per class."""
    header = ["model"] + [f"{kind} {c}" for c in classes for kind in ("Se", "+P")]
    lines = [
        "AAMI EC57 per-class sensitivity (Se) and positive predictivity (+P):",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for model, group in rows.groupby("model", sort=False):
        cells = [model] + [mean_std(group[f"{metric}_{c}"]) for c in classes for metric in ("recall", "precision")]
        lines.append("| " + " | ".join(cells) + " |")
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
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
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
