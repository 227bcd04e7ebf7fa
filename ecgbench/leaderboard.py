"""The results leaderboard: committed run reports set beside published numbers, written as one Markdown page.

``python -m ecgbench leaderboard RUN [RUN ...] --out results/README.md`` reads each run's manifest and flat table
through its store (never a typed number), groups the real-data datasets by the evaluation their manifest records
(:class:`~ecgbench.evaluation.Evaluation`: intra-patient, inter-patient, cross-database, cross-validation by
record), and writes per dataset one table of our models (mean ± standard
deviation over seeds and folds) followed by the published anchors of ``benchmarks/published.toml`` for that
protocol, then checks the targets listed there. Intra-patient tables are labelled optimistic; cross-validation by
record (model selection on training patients) has no anchors or targets. Synthetic runs are listed with their
commands but kept out of the tables.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from ecgbench.errors import EcgbenchError
from ecgbench.evaluation import Evaluation
from ecgbench.reports import mean_std
from ecgbench.store import RunStore

CLASSES = ("N", "S", "V", "F", "Q")
COLUMNS = ("accuracy", "f1_macro") + tuple(f"f1_{c}" for c in CLASSES) + ("recall_S", "recall_V")
HEADINGS = ("accuracy", "macro-F1") + tuple(f"F1 {c}" for c in CLASSES) + ("Se S", "Se V")
SECTION_TITLES = {
    Evaluation.INTRA_PATIENT: "Intra-patient (random beat split) -- OPTIMISTIC: the same patients' beats train and "
                              "test the models",
    Evaluation.INTER_PATIENT: "Inter-patient (de Chazal et al. 2004: train DS1, test DS2)",
    Evaluation.CROSS_DATABASE: "Cross-database (train on one database, test on another, each at its own sampling "
                               "rate)",
    Evaluation.RECORD_CV: "Cross-validation by record (group-kfold: each fold tests on patients its models never saw; "
                          "for choosing settings, not comparable with published numbers)",
}


def load_published(path: Path) -> dict:
    try:
        published = tomllib.loads(Path(path).read_text())
    except FileNotFoundError:
        raise EcgbenchError(f"published numbers file {path} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise EcgbenchError(f"{path}: not valid TOML: {exc}") from None
    for key in ("anchor", "target"):
        for i, entry in enumerate(published.get(key, []), 1):
            if entry.get("evaluation") not in set(Evaluation):
                raise EcgbenchError(f"{path}: {key} #{i}: evaluation must be one of {', '.join(Evaluation)}")
    return published


def load_run(store: RunStore) -> tuple[dict, pd.DataFrame]:
    return store.read_manifest(), store.read_results()


def model_rows(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Mean over seeds per model (the suite's order), with the formatted ``mean ± std`` cells."""
    rows = []
    for model in [m for m in models if m in set(table["model"])]:
        group = table[table["model"] == model]
        row = {"model": model, "seeds": group["seed"].nunique()}  # k-fold runs: several rows per seed
        row.update({c: group[c].mean() for c in COLUMNS if c in group})
        row.update({f"text_{c}": mean_std(group[c]) for c in COLUMNS if c in group})
        row["fit_seconds"] = group["fit_seconds"].mean()
        row["peak_memory_mb"] = group["peak_memory_mb"].max() if "peak_memory_mb" in group else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def check_targets(targets: list[dict], rows: pd.DataFrame) -> list[str]:
    """One line per target: met, or which models fall short and on what."""
    lines = []
    for target in targets:
        thresholds = {k: v for k, v in target.items() if k in COLUMNS}
        wanted = ", ".join(f"{k} >= {v}" for k, v in thresholds.items())
        present = rows[rows["model"].isin(target["models"])]
        short = {r["model"]: [f"{k} {r[k]:.4f}" for k, v in thresholds.items() if not r[k] >= v]
                 for _, r in present.iterrows()}
        if target.get("rule") == "every":
            failing = {m: s for m, s in short.items() if s}
            verdict = "met" if not failing and len(present) == len(target["models"]) else "**not met**: " + "; ".join(
                f"{m} ({', '.join(s)})" for m, s in failing.items())
            lines.append(f"- every one of {', '.join(target['models'])} at {wanted}: {verdict}")
        else:
            best = [m for m, s in short.items() if not s]
            verdict = f"met by {', '.join(best)}" if best else "**not met** by any model"
            lines.append(f"- the best model at {wanted}: {verdict}")
    return lines


def dataset_section(dataset: str, run_id: str, rows: pd.DataFrame, evaluation: Evaluation,
                    published: dict) -> list[str]:
    lines = [f"### `{dataset}` (run `{run_id}`)", ""]
    header = ["", "seeds", *HEADINGS, "fit (s)", "peak MB"]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, row in rows.iterrows():
        cells = [row["model"], str(row["seeds"])] + [row.get(f"text_{c}", "-") for c in COLUMNS]
        peak = row["peak_memory_mb"]
        cells += [f"{row['fit_seconds']:.0f}", "-" if pd.isna(peak) else f"{peak:.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    for anchor in published.get("anchor", []):
        if anchor["evaluation"] == evaluation:
            cells = [f"*published: {anchor['source']}*", ""] + [anchor.get(c, "") for c in COLUMNS] + ["", ""]
            lines.append("| " + " | ".join(cells) + " |")
    targets = [t for t in published.get("target", []) if t["evaluation"] == evaluation]
    if targets:
        lines += ["", "Targets:", "", *check_targets(targets, rows)]
    return lines + [""]


def leaderboard_markdown(stores: list[RunStore], published: dict, command: str) -> str:
    runs = [(store.root, *load_run(store)) for store in stores]
    lines = ["# Results", "",
             f"Generated by `{command}` from the run folders below; do not edit by hand. Every number in the tables "
             "comes from a run's `results.csv`; each run's `manifest.json` records its command, commit, library "
             "versions, data checksums and machine, and its `summary.md` has the full tables (with, where beats carry "
             "record ids, the records that hold each model's missed beats). Published numbers "
             "are quoted from the papers named (see `benchmarks/published.toml`), not rerun here.", ""]
    lines += ["## Runs", "", "| run | data | command | commit | machine |", "|---|---|---|---|---|"]
    for run_dir, manifest, _ in runs:
        data = ", ".join(f"{name}{' (SYNTHETIC)' if info.get('synthetic') else ''}"
                         for name, info in manifest["datasets"].items())
        machine = manifest["machine"]
        where = f"{machine['cpu_count']} CPUs, {machine.get('accelerator', 'none (CPU)')}"
        dirty = " (uncommitted changes)" if manifest.get("dirty") else ""
        lines.append(f"| [`{run_dir.name}`]({run_dir.name}/summary.md) | {data} | `{manifest['command']}` | "
                     f"`{manifest['commit'][:10]}`{dirty} | {where} |")
    lines.append("")
    for evaluation, title in SECTION_TITLES.items():
        sections = []
        for run_dir, manifest, table in runs:
            for dataset, info in manifest["datasets"].items():
                if info["synthetic"] or Evaluation(info["evaluation"]) is not evaluation:
                    continue
                rows = model_rows(table[table["dataset"] == dataset], manifest["suite"]["models"])
                sections += dataset_section(dataset, run_dir.name, rows, evaluation, published)
        if sections:
            lines += [f"## {title}", "", *sections]
    lines += ["Se = sensitivity (recall). Seeds: model seeds; with more than one seed or fold, a cell shows mean ± "
              "standard deviation. fit (s): mean training time per cell, feature extraction included; peak MB: the "
              "largest peak resident memory of a cell.", ""]
    return "\n".join(lines)
