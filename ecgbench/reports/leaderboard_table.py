"""One dataset's table on the leaderboard (:mod:`ecgbench.reports.leaderboard`): our models (mean ± standard
deviation over seeds and folds) beside the published anchors of ``benchmarks/published.toml`` for its evaluation,
then the evidence read from the saved predictions: each model's patient-level 95% intervals, the best model and
those statistically indistinguishable from it, each published value against our best model and each target met,
missed or not resolved."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import Evaluation
from ecgbench.core.io import os_error_text, regular_file
from ecgbench.core.statistics import BINARY_METRICS, BootstrapResult, anchor_verdict, paired_verdicts, target_verdict
from ecgbench.reports import markdown as md
from ecgbench.reports.evidence import (
    LEADERBOARD_METRICS,
    N_RESAMPLES,
    binary_intervals,
    fmt,
    intervals,
    paired,
    unit_text,
)
from ecgbench.reports.markdown import mean_std
from ecgbench.reports.results import BINARY_COLUMNS
from ecgbench.reports.view import Pooled, RunView

CLASSES = ("N", "S", "V", "F", "Q")
COLUMNS = ("accuracy", "f1_macro") + tuple(f"f1_{c}" for c in CLASSES) + ("recall_S", "recall_V")
HEADINGS = ("accuracy", "macro-F1") + tuple(f"F1 {c}" for c in CLASSES) + ("Se S", "Se V")


def load_published(path: Path) -> dict:
    """``benchmarks/published.toml``, every entry checked: a damaged file or a bad entry is one error naming it."""
    regular_file(path, "published numbers file")
    try:
        published = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EcgbenchError(f"published numbers file {path} not found") from None
    except UnicodeDecodeError as exc:
        raise EcgbenchError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise EcgbenchError(f"published numbers file {path} cannot be read: {os_error_text(exc, file=False)}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EcgbenchError(f"{path}: not valid TOML: {exc}") from None
    for key in ("anchor", "target"):
        entries = published.get(key, [])
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise EcgbenchError(f"{path}: {key} must be a list of [[{key}]] tables")
        for i, entry in enumerate(entries, 1):
            problem = _entry_problem(key, entry)
            if problem:
                raise EcgbenchError(f"{path}: {key} #{i}: {problem}")
    return published


def _entry_problem(key: str, entry: dict) -> str | None:
    """What is wrong with one [[anchor]] or [[target]] entry, or None."""
    if entry.get("evaluation") not in set(Evaluation):
        return f"evaluation must be one of {', '.join(Evaluation)}"
    if key == "anchor":
        if not isinstance(entry.get("source"), str):
            return "source (the paper quoted) is missing or not a string"
        for column in [c for c in COLUMNS if c in entry]:
            try:
                _anchor_range(entry[column])
            except (TypeError, ValueError):
                return f'{column} = {entry[column]!r} is not a fraction or a range "low-high"'
        return None
    models = entry.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        return "models must be a non-empty list of model names"
    if entry.get("rule", "any") not in ("any", "every"):
        return f'rule = {entry["rule"]!r}: use "any" or "every"'
    thresholds = {k: v for k, v in entry.items() if k in COLUMNS}
    if not thresholds:
        return f"no threshold (one of {', '.join(COLUMNS)})"
    for column, value in thresholds.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"{column} = {value!r} is not a number"
    return None


def model_rows(table: pd.DataFrame, models: list[str]) -> pd.DataFrame:
    """Mean over seeds per model (the suite's order), with the formatted ``mean ± std`` cells."""
    rows = []
    for model in [m for m in models if m in set(table["model"])]:
        group = table[table["model"] == model]
        row = {"model": model, "seeds": group["seed"].nunique()}  # k-fold runs: several rows per seed
        scored = [c for c in group.columns if c in COLUMNS or c.startswith("f1_") or c in BINARY_COLUMNS]
        row.update({c: group[c].mean() for c in scored})
        row.update({f"text_{c}": mean_std(group[c]) for c in scored})
        row["fit_seconds"] = group["fit_seconds"].mean()
        row["peak_memory_mb"] = group["peak_memory_mb"].max() if "peak_memory_mb" in group else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)


def model_evidence(view: RunView, dataset: str, models: list[str]) -> dict[str, tuple[Pooled, BootstrapResult]]:
    """Per model with saved predictions on ``dataset``: its pooled beats and bootstrap intervals."""
    present = set(view.models(dataset))
    return {m: (view.pooled(dataset, m), intervals(view.pooled(dataset, m))) for m in models if m in present}


def _interval_text(result: BootstrapResult, column: str) -> str:
    return fmt(result[LEADERBOARD_METRICS[column]])


def check_targets(targets: list[dict], evidence: dict[str, tuple[Pooled, BootstrapResult]]) -> list[str]:
    """One line per target: "met" (every threshold's interval lies above it: for rule "any" in some model, for
    "every" in each model), "missed" (for "any": every model has an interval below a threshold; for "every": some
    model has), else "not resolved"; with each model's verdicts."""
    lines = []
    for target in targets:
        thresholds = {k: v for k, v in target.items() if k in COLUMNS}
        wanted = ", ".join(f"{k} >= {v}" for k, v in thresholds.items())
        models = [m for m in target["models"] if m in evidence]
        per_model = {
            m: {
                k: target_verdict(
                    evidence[m][1][LEADERBOARD_METRICS[k]].low, evidence[m][1][LEADERBOARD_METRICS[k]].high, v
                )
                for k, v in thresholds.items()
            }
            for m in models
        }
        met = [m for m in models if all(v == "met" for v in per_model[m].values())]
        missed = [m for m in models if "missed" in per_model[m].values()]
        if target.get("rule") == "every":
            complete = len(models) == len(target["models"])
            verdict = "met" if complete and len(met) == len(models) else "missed" if missed else "not resolved"
            what = f"every one of {', '.join(target['models'])}"
        else:
            verdict = "met" if met else "missed" if models and len(missed) == len(models) else "not resolved"
            what = "the best model"
        details = [
            f"{m}: " + ", ".join(f"{k} {_interval_text(evidence[m][1], k)} {v}" for k, v in per_model[m].items())
            for m in models
        ]
        absent = [m for m in target["models"] if m not in evidence]
        if absent:
            details.append(f"{', '.join(absent)}: not in this run (no saved predictions)")
        lines.append(f"- {what} at {wanted}: **{verdict}** ({'; '.join(details)})")
    return lines


def _anchor_range(value: str) -> tuple[float, float]:
    low, _, high = str(value).partition("-")
    return float(low), float(high or low)


def check_anchors(anchors: list[dict], evidence: dict[str, tuple[Pooled, BootstrapResult]]) -> list[str]:
    """Per published value: our best model on that metric (highest estimate) "above" (its interval lies above the
    value, or above a range's top), "below" (below it, or below a range's bottom) or "indistinguishable"."""
    lines = []
    for anchor in anchors:
        parts = []
        for column in [c for c in COLUMNS if c in anchor]:
            low_anchor, high_anchor = _anchor_range(anchor[column])
            name = LEADERBOARD_METRICS[column]
            best = max(evidence, key=lambda m: evidence[m][1][name].estimate)
            i = evidence[best][1][name]
            verdict = (
                "above"
                if anchor_verdict(i.low, i.high, high_anchor) == "above"
                else "below"
                if anchor_verdict(i.low, i.high, low_anchor) == "below"
                else "indistinguishable"
            )
            parts.append(f"{column} {anchor[column]} vs {best} {fmt(i)}: **{verdict}**")
        if parts:
            lines.append(f"- {anchor['source']}: " + "; ".join(parts))
    return lines


def best_and_tied(evidence: dict[str, tuple[Pooled, BootstrapResult]], metric: str = "f1_macro") -> str:
    """The best model on ``metric`` and those not told apart from it (paired bootstrap, Holm over the comparisons)."""
    best = max(evidence, key=lambda m: evidence[m][1][metric].estimate)
    g_best = evidence[best][0]
    others = [m for m in evidence if m != best and evidence[m][0].same_beats(g_best)]
    differences = [paired(g_best, evidence[m][0])[metric] for m in others]
    verdicts = paired_verdicts([d.difference for d in differences], [d.p_value for d in differences])
    tied = [
        f"{m} ({fmt(d)})"
        for m, d, v in zip(others, differences, verdicts, strict=True)
        if v == "no detectable difference"
    ]
    # a model scored on other beats (another split, a seed that covered others) cannot be paired: say so
    unpaired = [m for m in evidence if m != best and m not in others]
    left = (
        f" Not compared with it (scored other test beats, so no paired difference): {', '.join(unpaired)}."
        if unpaired
        else ""
    )
    return (
        f"Best macro-F1: **{best}** {fmt(evidence[best][1][metric])}; statistically indistinguishable from it "
        f"(paired {g_best.unit}-level bootstrap of the difference, Holm over {len(others)} comparisons, alpha "
        f"0.05): {', '.join(tied) if tied else 'none'}.{left}"
    )


def dataset_section(view: RunView, dataset: str, results: pd.DataFrame, published: dict) -> list[str]:
    """The dataset's table (``results``: the run's proven flat table), anchors, intervals and targets."""
    info = view.dataset_info(dataset)
    rows = model_rows(results[results["dataset"] == dataset], view.suite_models())
    evaluation, classes, note = (
        view.evaluation(dataset),
        tuple(info.classes or CLASSES),
        (info.provenance or {}).get("note"),
    )
    # The published anchors and targets are five-class AAMI numbers: a task of other classes (normal/abnormal)
    # is shown on its own, with its two-class measures, and set beside none of them.
    aami = classes == CLASSES
    lines = [f"### `{dataset}` (run `{view.root.name}`)", ""]
    if note:  # files that are not the published ones (a subset, test files): not comparable with the anchors
        lines += [f"> **Data: {note}.** No published anchor or target is set beside it.", ""]
    if not aami:
        lines += [
            f"Classes {', '.join(classes)}: the published anchors and targets (five AAMI classes) are not "
            "set beside this task.",
            "",
        ]
    if aami:
        columns, headings = COLUMNS, HEADINGS
    else:
        two = [c for c in BINARY_COLUMNS if f"text_{c}" in rows]
        columns = ("accuracy", "f1_macro", *(f"f1_{c}" for c in classes), *two)
        headings = (
            "accuracy",
            "macro-F1",
            *(f"F1 {c}" for c in classes),
            *("ROC AUC" if c == "roc_auc" else c for c in two),
        )
    lines += md.table(["", "seeds", *headings, "fit (s)", "peak MB"])
    for _, model in rows.iterrows():
        cells = [model["model"], str(model["seeds"])] + [model.get(f"text_{c}", "-") for c in columns]
        peak = model["peak_memory_mb"]
        cells += [f"{model['fit_seconds']:.0f}", "-" if pd.isna(peak) else f"{peak:.0f}"]
        lines.append(md.row(cells))
    anchors = [a for a in published.get("anchor", []) if a["evaluation"] == evaluation and aami and not note]
    for anchor in anchors:
        cells = [f"*published: {anchor['source']}*", ""] + [anchor.get(c, "") for c in columns] + ["", ""]
        lines.append(md.row(cells))
    evidence = model_evidence(view, dataset, list(rows["model"]))
    if evidence:
        g = next(iter(evidence.values()))[0]
        shown = ("accuracy", "f1_macro", "recall_S", "recall_V") if aami else ("accuracy", "f1_macro")
        binary = len(g.classes) == 2 and all(p.scores is not None for p, _ in evidence.values())
        extra = ["sensitivity", "specificity", "ROC AUC"] if binary else []
        headings = [HEADINGS[COLUMNS.index(c)] for c in shown] + extra
        lines += [
            "",
            f"95% intervals (resampling {g.unit}s: {unit_text(g)}; {N_RESAMPLES:,} resamples, "
            "percentile; several seeds or folds: their predictions pooled, see docs/evidence.md):",
            "",
            "| | " + " | ".join(headings) + " |",
            "|---|" + "---|" * len(headings),
        ]
        for m, (pooled, r) in evidence.items():
            texts = [_interval_text(r, c) for c in shown]
            if binary:
                two = binary_intervals(pooled)
                texts += [fmt(two[name]) for name in BINARY_METRICS]
            lines.append(f"| {m} | " + " | ".join(texts) + " |")
        lines += ["", best_and_tied(evidence)]
        if anchors:
            lines += [
                "",
                "Published values against our best model on each metric:",
                "",
                *check_anchors(anchors, evidence),
            ]
    targets = [t for t in published.get("target", []) if t["evaluation"] == evaluation and aami and not note]
    if targets:
        lines += [
            "",
            "Targets (met: the interval lies above the threshold; missed: below it; not resolved: it contains it):",
            "",
            *check_targets(targets, evidence),
        ]
    return lines + [""]
