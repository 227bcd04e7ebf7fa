"""Evidence from a run's saved predictions: the statistics of :mod:`ecgbench.core.statistics` on one (dataset,
model) pooled by :meth:`RunView.pooled <ecgbench.reports.view.RunView.pooled>`, and the Markdown that every report
shows of it (docs/evidence.md explains it)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecgbench.core import statistics as st
from ecgbench.core.evaluation import Evaluation
from ecgbench.reports import ec57
from ecgbench.reports import markdown as md
from ecgbench.reports.plots import write_critical_difference
from ecgbench.reports.view import Pooled, RunView

N_RESAMPLES = st.DEFAULT_RESAMPLES
SEED = st.DEFAULT_SEED
# The metrics shown with intervals: (bootstrap name, heading); per-class ones only where the class exists.
SHOWN = (
    ("accuracy", "accuracy"),
    ("f1_macro", "macro-F1"),
    ("recall:S", "Se S"),
    ("precision:S", "+P S"),
    ("recall:V", "Se V"),
    ("precision:V", "+P V"),
)
LEADERBOARD_METRICS = {
    "accuracy": "accuracy",
    "f1_macro": "f1_macro",
    "recall_S": "recall:S",
    "recall_V": "recall:V",
    **{f"f1_{c}": f"f1:{c}" for c in "NSVFQ"},
}


def intervals(g: Pooled) -> st.BootstrapResult:
    return st.cluster_bootstrap(g.y_true, g.y_pred, g.groups, classes=g.classes, n_resamples=N_RESAMPLES, seed=SEED)


def binary_intervals(g: Pooled) -> st.BootstrapResult:
    """Sensitivity, specificity and ROC AUC of a two-class cell (class 1 positive), resampled as :func:`intervals`."""
    return st.binary_bootstrap(g.y_true, g.y_pred, g.scores, g.groups, n_resamples=N_RESAMPLES, seed=SEED)


def paired(a: Pooled, b: Pooled, pred_a: np.ndarray | None = None, pred_b: np.ndarray | None = None) -> st.PairedResult:
    """B − A on the same beats (patient-level where record ids are known); ``pred_*`` replace the cells' labels."""
    return st.paired_bootstrap(
        a.y_true,
        a.y_pred if pred_a is None else pred_a,
        b.y_pred if pred_b is None else pred_b,
        a.groups,
        classes=a.classes,
        n_resamples=N_RESAMPLES,
        seed=SEED,
    )


BINARY_SHOWN = (("sensitivity", "sensitivity"), ("specificity", "specificity"), ("roc_auc", "ROC AUC"))


def paired_with_binary(a: Pooled, b: Pooled) -> tuple[st.PairedResult, list[tuple[str, str]]]:
    """:func:`paired`, and for two-class cells with saved probabilities on both sides also sensitivity,
    specificity and ROC AUC (the same resampling seed and units); with the metrics to show."""
    result, metrics = paired(a, b), shown_metrics(a.classes)
    if a.scores is None or b.scores is None:
        return result, metrics
    binary = st.binary_paired_bootstrap(
        a.y_true, a.y_pred, a.scores, b.y_pred, b.scores, a.groups, n_resamples=N_RESAMPLES, seed=SEED
    )
    return (
        st.PairedResult({**result.differences, **binary.differences}, {**result.samples, **binary.samples}),
        [*metrics, *BINARY_SHOWN],
    )


def shown_metrics(classes) -> list[tuple[str, str]]:
    return [(name, heading) for name, heading in SHOWN if ":" not in name or name.split(":")[1] in classes]


def fmt(i: st.Interval | st.Difference, digits: int = 3) -> str:
    """``0.966 [0.951, 0.978]``; a difference with its sign; ``–`` where undefined (absent class)."""
    value = i.difference if isinstance(i, st.Difference) else i.estimate
    if np.isnan(value):
        return "–"
    sign = "+" if isinstance(i, st.Difference) else ""
    return f"{value:{sign}.{digits}f} [{i.low:{sign}.{digits}f}, {i.high:{sign}.{digits}f}]"


def unit_text(g: Pooled) -> str:
    return f"{g.n_units} patients" if g.unit == "patient" else f"{g.n_units:,} beats (no record ids saved)"


# ---- the summary's uncertainty table -----------------------------------------------------------------------------


def uncertainty_table(view: RunView, dataset: str, models: list[str]) -> list[str]:
    """Per model, the intervals of :data:`SHOWN` (and for two classes :func:`binary_uncertainty_table`)."""
    pooled = [view.pooled(dataset, m) for m in models]
    metrics = shown_metrics(pooled[0].classes)
    g0 = pooled[0]
    n_splits = g0.beats["split"].nunique()
    splits_note = (
        f" The {n_splits} splits' test beats are pooled (each scored by its own split's model), so the "
        "estimates are of the pooled beats, not the means over splits above."
        if n_splits > 1
        else ""
    )
    lines = [
        f"Uncertainty: 95% intervals, resampling {g0.unit}s ({unit_text(g0)}), {N_RESAMPLES:,} resamples, "
        "percentile; with several seeds the interval covers patients and training together; seed SD beside "
        f"(docs/evidence.md). A class with no test beats has no interval (–).{splits_note}",
        "",
    ]
    header = ["model", "seeds"] + [h for _, h in metrics]
    lines += md.table(header)
    for g in pooled:
        result = intervals(g)
        cells_text = [g.model, str(len(g.seeds))]
        for name, _ in metrics:
            i = result[name]
            sd = f" (SD {i.seed_sd:.3f})" if i.n_seeds > 1 and not np.isnan(i.seed_sd) else ""
            cells_text.append(fmt(i) + sd)
        lines.append(md.row(cells_text))
        if g.dropped_seeds:
            lines.append(
                f"| ({g.model}: seed(s) {', '.join(map(str, g.dropped_seeds))} scored other beats; left out "
                "of the interval) |" + " |" * (len(header) - 1)
            )
    binary = [g for g in pooled if g.scores is not None]
    if binary:
        lines += ["", *binary_uncertainty_table(binary)]
    return [*lines, ""]


def binary_uncertainty_table(pooled: list[Pooled]) -> list[str]:
    """Two classes: sensitivity, specificity and ROC AUC with their intervals, resampled as the table above."""
    negative, positive = pooled[0].classes
    lines = [
        f"Two classes, `{positive}` the positive one: sensitivity (recall of {positive}), specificity (recall "
        f"of {negative}) and ROC AUC of the {positive} probability, 95% intervals resampling {pooled[0].unit}s "
        f"as above:",
        "",
        "| model | seeds | sensitivity | specificity | ROC AUC |",
        "|---|---|---|---|---|",
    ]
    for g in pooled:
        result = binary_intervals(g)
        texts = []
        for name in st.BINARY_METRICS:
            i = result[name]
            sd = f" (SD {i.seed_sd:.3f})" if i.n_seeds > 1 and not np.isnan(i.seed_sd) else ""
            texts.append(fmt(i) + sd)
        lines.append(f"| {g.model} | {len(g.seeds)} | " + " | ".join(texts) + " |")
    return lines


# ---- average (per-record mean) statistics, as EC57's sumstats averages -------------------------------------------

# (statistic of ecgbench.reports.ec57, heading, the records its average leaves out)
AVERAGED = (
    ("v_se", "Se V", "no reference V beat"),
    ("v_pp", "+P V", "no V predicted on a reference N, S or V beat"),
    ("s_se", "Se S", "no reference S beat"),
    ("s_pp", "+P S", "no S predicted on a reference N, S or V beat"),
)


def record_statistics(g: Pooled, seed_row: int) -> ec57.Evaluation:
    """One seed's beats as EC57 records: per record (group), the counts of (reference class, predicted class) pairs
    as bxb's table (``ec57.counted_record``), summarized as sumstats does (gross and average, the records left out of
    each average). Every scored beat is a matched pair: no learning period, no missed or extra beats."""
    k = len(g.classes)
    frame = pd.DataFrame({"record": g.groups, "pair": g.y_true * k + g.y_pred[seed_row]})
    counts = frame.groupby(["record", "pair"], sort=False).size()
    records = [
        ec57.counted_record(
            record, {g.classes[pair // k] + g.classes[pair % k].lower(): int(n) for pair, n in counts[record].items()}
        )
        for record in pd.unique(frame["record"])
    ]
    return ec57.summarize(records)


def averages_apply(g: Pooled) -> bool:
    """Record ids saved, and the classes EC57's (with V and S among them)."""
    return g.groups is not None and {"V", "S"} <= set(g.classes) and set(g.classes) <= set(ec57.BEATS)


def average_statistics_table(pooled: list[Pooled]) -> list[str]:
    """Per model, the gross (pooled) and average (per-record mean) Se and +P of V and S by EC57's sumstats
    rules (:mod:`ecgbench.reports.ec57`), each the mean over seeds (± SD over seeds), and a line per statistic
    naming the records left out of its average. No lines unless every model's predictions carry record ids and the
    classes are EC57's with V and S among them."""
    from ecgbench.reports.markdown import mean_std

    if not pooled or not all(averages_apply(g) for g in pooled):
        return []
    n_records = pooled[0].n_units
    header = ["model", "seeds"] + [f"{heading} {kind}" for _, heading, _ in AVERAGED for kind in ("gross", "average")]
    lines = [
        f"Average statistics (per-record mean) beside the gross (pooled) ones, for V and S over the {n_records} "
        "test records, by the rules of EC57's `sumstats` (`ecgbench/reports/ec57.py`, docs/ec57.md): a record "
        "enters the "
        "Se average only if it holds reference beats of the class, the +P average only if the model predicted "
        "the class on at least one of its reference N, S or V beats (a V or S predicted on a reference F or Q "
        "beat is not a false positive for EC57, so +P gross can exceed the +P of the AAMI table above). Each "
        "value is the mean over seeds (± SD over seeds). These are the statistics of the scored beats, which "
        "are cut at the reference R peaks (no learning period, no missed or extra beats): comparable to EC57's "
        "averages, but not an EC57 run; `python -m ecgbench ec57` compares annotation files (docs/ec57.md).",
        "",
        *md.table(header),
    ]
    left_out: dict[str, dict[str, list[tuple[int, list[str]]]]] = {key: {} for key, _, _ in AVERAGED}
    for g in pooled:
        evaluations = [record_statistics(g, row) for row in range(len(g.seeds))]
        texts = [g.model, str(len(g.seeds))]
        for key, _, _ in AVERAGED:
            for values in ("gross", "average"):
                # sumstats' percentages as fractions, as the tables above; undefined in a seed: left out of the mean
                per_seed = pd.Series([getattr(e, values)[key] for e in evaluations], dtype=float) / 100.0
                texts.append("–" if per_seed.isna().all() else mean_std(per_seed.dropna()))
            for seed, e in zip(g.seeds, evaluations, strict=True):
                left_out[key].setdefault(g.model, []).append((seed, e.excluded[key]))
        lines.append(md.row(texts))
    lines.append("")
    for key, heading, why in AVERAGED:
        lines.append(f"- {heading} average leaves out the records with {why}: {_left_out_text(left_out[key])}.")
    return [*lines, ""]


def _record_order(record: str) -> tuple:
    """Numeric record ids by number (2 before 13), any other after them as text."""
    return (0, int(record), "") if record.isdigit() else (1, 0, record)


def _left_out_text(by_model: dict[str, list[tuple[int, list[str]]]]) -> str:
    """The records left out of one average, once where every model and seed leaves out the same, else per model;
    a record left out in some seeds only is named with those seeds."""

    def one(seeds: list[tuple[int, list[str]]]) -> str:
        every = sorted((r for r in seeds[0][1] if all(r in records for _, records in seeds)), key=_record_order)
        some = sorted({r for _, records in seeds for r in records} - set(every), key=_record_order)
        if not every and not some:
            return "none"
        texts = [f"{len(every)} record(s){' in every seed' if some else ''}: {', '.join(every)}"] if every else []
        texts += [f"{r} (seed(s) {', '.join(str(s) for s, records in seeds if r in records)} only)" for r in some]
        return "; ".join(texts)

    texts = {model: one(seeds) for model, seeds in by_model.items()}
    if len(set(texts.values())) == 1:
        return next(iter(texts.values()))
    return "; ".join(f"{model}: {text}" for model, text in texts.items())


def average_statistics_section(view: RunView, dataset: str, models: list[str]) -> list[str]:
    """The summary's average statistics of ``dataset`` (:func:`average_statistics_table`), from the stored
    predictions; no lines for a dataset without record ids or without EC57's V and S classes."""
    return average_statistics_table([view.pooled(dataset, m) for m in models])


# ---- ranking over blocks -------------------------------------------------------------------------------------------


def block_scores(pooled: list[Pooled], by: str) -> pd.DataFrame:
    """Rows = blocks (``split``: the folds, scored by balanced accuracy; ``group``: the test patients, scored by
    accuracy), columns = models; each model's score is its mean over seeds."""
    columns = {}
    for g in pooled:
        block = g.beats["split"].to_numpy() if by == "split" else g.groups
        scores = {}
        for name in pd.unique(block):
            mask = block == name
            k = len(g.classes)
            cm = np.stack([np.bincount(g.y_true[mask] * k + p[mask], minlength=k * k).reshape(k, k) for p in g.y_pred])
            metric = "balanced_accuracy" if by == "split" else "accuracy"
            scores[name] = float(st.metrics_from_confusion(cm)[metric].mean())
        columns[g.model] = pd.Series(scores)
    return pd.DataFrame(columns)


def ranking_section(view: RunView, dataset: str, models: list[str]) -> list[str]:
    """Friedman, Wilcoxon-Holm and the critical-difference diagram (``ranks/<dataset>.png``) where at least 3
    models are scored on at least 5 blocks: the folds of a run of several splits, else the test patients of an
    inter-patient or cross-database evaluation. No lines where neither applies."""
    if len(models) < 3:
        return []
    pooled = [view.pooled(dataset, m) for m in models]
    if not all(g.same_beats(pooled[0]) for g in pooled):
        return []
    n_splits = pooled[0].beats["split"].nunique()
    if n_splits >= 5:
        by, what = "split", f"the {n_splits} folds (balanced accuracy per fold)"
    elif (
        pooled[0].groups is not None
        and view.evaluation(dataset) in (Evaluation.INTER_PATIENT, Evaluation.CROSS_DATABASE)
        and pooled[0].n_units >= 5
    ):
        by, what = "group", f"the {pooled[0].n_units} test patients (accuracy per patient)"
    else:
        return []
    scores = block_scores(pooled, by)
    result = st.rank_models(scores)
    png = view.store.figure("ranks", dataset)
    write_critical_difference(view.root / png, result)
    lines = [
        f"Ranking over {what}, mean over seeds: Friedman chi-square {result.friedman_statistic:.2f}, "
        f"p = {result.friedman_p:.3g}; average rank (1 = best) and pairwise Wilcoxon signed-rank p-values, "
        f"Holm-adjusted; critical-difference diagram: [{png.as_posix()}]({png.as_posix()}).",
        "",
    ]
    if result.n_blocks <= 5:
        lines += [
            f"With {result.n_blocks} blocks no pairwise Wilcoxon test can reach 0.05 (the smallest exact "
            "two-sided p-value with 5 blocks is 2/32 = 0.0625): the pairwise tests cannot separate models "
            "here; the patient-level intervals above and `compare` can.",
            "",
        ]
    order = list(result.average_ranks.index)
    header = ["model", "average rank", *order]
    lines += md.table(header)
    for model in order:
        ps = ["–" if model == other else f"{result.wilcoxon_p.loc[model, other]:.3g}" for other in order]
        lines.append(f"| {model} | {result.average_ranks[model]:.2f} | " + " | ".join(ps) + " |")
    return [*lines, ""]


# ---- paired rows (compare, rescoring) ------------------------------------------------------------------------------


def paired_table(
    rows: list[tuple[str, str, st.PairedResult, McNemar | None]], metrics: list[tuple[str, str]], alpha: float = 0.05
) -> list[str]:
    """One Markdown row per (label, metric): A, B, B − A [interval], bootstrap p, Holm-adjusted verdict over every
    row shown, McNemar's exact p beside the accuracy row. ``rows``: (label, unit text, paired result, McNemar: one
    result, or one per seed pair from :func:`mcnemar`, each named)."""
    flat = [
        (label, unit, r[name], heading, mc if name == "accuracy" else None)
        for label, unit, r, mc in rows
        for name, heading in metrics
        if name in r.differences and not np.isnan(r[name].difference)
    ]
    verdicts = st.paired_verdicts(
        [d.difference for _, _, d, _, _ in flat], [d.p_value for _, _, d, _, _ in flat], alpha=alpha
    )
    adjusted = st.holm([d.p_value for _, _, d, _, _ in flat])
    per_seed = any(isinstance(mc, list) for *_, mc in rows)
    lines = [
        "| comparison | metric | A | B | B − A [95% interval] | p (bootstrap) | p (Holm) | verdict | "
        f"McNemar exact p{', each seed' if per_seed else ''} (assumes independent beats) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for (label, _, d, heading, mc), verdict, p_holm in zip(flat, verdicts, adjusted, strict=True):
        if isinstance(mc, list):
            mcnemar = "; ".join(f"{seeds}: {_mcnemar_text(result)}" for seeds, result in mc)
        else:
            mcnemar = _mcnemar_text(mc) if mc else ""
        lines.append(
            f"| {label} | {heading} | {d.a:.3f} | {d.b:.3f} | {fmt(d)} | {d.p_value:.3g} | {p_holm:.3g} | "
            f"**{verdict}** | {mcnemar} |"
        )
    return lines


def _mcnemar_text(mc: st.McNemarResult) -> str:
    p_text = f"{mc.p_value:.3g}" if mc.p_value > 0 else "< 1e-300"  # 0: below the float range
    return f"{p_text} ({mc.only_a_correct} vs {mc.only_b_correct} beats right only)"


McNemar = st.McNemarResult | list[tuple[str, st.McNemarResult]]


def seed_pairs(a: Pooled, b: Pooled) -> list[tuple[int, int]]:
    """The (seed of A, seed of B) pairs that McNemar's test is run on: every seed both sides have (the same seed
    against itself); where they share none (two models with other seeds), the seeds in order, as many as the side
    with fewer has."""
    shared = [s for s in a.seeds if s in b.seeds]
    return [(s, s) for s in shared] if shared else list(zip(a.seeds, b.seeds, strict=False))


def mcnemar(a: Pooled, b: Pooled) -> list[tuple[str, st.McNemarResult]]:
    """McNemar's exact test for every seed pair of :func:`seed_pairs`, each named (``seed 0``, or ``A seed 0 / B
    seed 1``). One test per seed, not one on pooled seeds: the seeds' predictions of one beat are not independent
    pieces of evidence, so their discordant beats cannot be added up. Not corrected for multiplicity: a
    beat-level view beside the verdict, which never rests on it (docs/evidence.md)."""
    out = []
    for seed_a, seed_b in seed_pairs(a, b):
        pa, pb = a.y_pred[a.seeds.index(seed_a)], b.y_pred[b.seeds.index(seed_b)]
        name = f"seed {seed_a}" if seed_a == seed_b else f"A seed {seed_a} / B seed {seed_b}"
        out.append((name, st.mcnemar_exact(a.y_true, pa, pb)))
    return out


VERDICT_NOTE = (
    "Verdict: B better / A better where the Holm-adjusted bootstrap p-value (over every row of this "
    "table) is at most 0.05, else no detectable difference (which is not evidence of equality). McNemar's "
    "test treats beats as independent, which beats of one patient are not: a beat-level view only."
)


# ---- rescoring: the rescored predictions against the model alone ---------------------------------------------------


def rescored_table(
    comparisons: list[tuple[str, np.ndarray, np.ndarray]], y: np.ndarray, groups: np.ndarray | None, classes
) -> list[str]:
    """Paired differences of rescored predictions B against the model alone A: ``comparisons`` are (label, A's
    labels, B's labels) on the pooled beats ``y``; verdicts Holm-corrected over every row shown."""
    rows = [
        (
            label,
            "",
            st.paired_bootstrap(y, a, b, groups, classes=classes, n_resamples=N_RESAMPLES, seed=SEED),
            st.mcnemar_exact(y, a, b),
        )
        for label, a, b in comparisons
    ]
    unit = (
        f"patients ({len(np.unique(groups))} records)"
        if groups is not None
        else f"beats ({len(y):,}; no record ids saved)"
    )
    return [
        f"Differences against the model alone: paired bootstrap resampling {unit}, {N_RESAMPLES:,} resamples, "
        "95% percentile interval of B − A (docs/evidence.md).",
        "",
        *paired_table(rows, shown_metrics(classes)),
        "",
        VERDICT_NOTE,
    ]
