"""A study's report: ``summary.md`` and ``expected-max.png`` in the study folder, and the tuned suite file.

Per family, the expected best validation score as a function of the number of trials (Dodge et al. 2019, "Show
Your Work: Improved Reporting of Experimental Results"): with the ``N`` completed trials' scores sorted,
``v_1 <= ... <= v_N``, the best of ``n`` trials drawn from them with replacement has the expectation
``sum_i v_i ((i/N)^n - ((i-1)/N)^n)``, and its standard deviation from the same weights. Pruned and failed trials
are left out (a pruned trial has no score over all folds); the trials of a TPE search are not independent draws,
so the curve describes the trials made, not a random search.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ecgbench.core.io import atomic_write, write_text
from ecgbench.core.params import show

log = logging.getLogger(__name__)


def expected_max(scores, n: int) -> tuple[float, float]:
    """Expected maximum of ``n`` draws with replacement from ``scores``, and its standard deviation."""
    v = np.sort(np.asarray(scores, dtype=float))
    big_n = len(v)
    i = np.arange(1, big_n + 1)
    weights = (i / big_n) ** n - ((i - 1) / big_n) ** n
    mean = float(weights @ v)
    return mean, float(np.sqrt(max(weights @ v**2 - mean**2, 0.0)))


def family_rows(folder, family: str) -> dict:
    records = folder.records(family)
    complete = [r for r in records.values() if r["state"] == "complete"]
    states = {s: sum(r["state"] == s for r in records.values()) for s in ("complete", "pruned", "failed")}
    best = max(complete, key=lambda r: (r["value"], -r["number"])) if complete else None
    curve = [expected_max([r["value"] for r in complete], n) for n in range(1, len(complete) + 1)]
    return {
        "records": records,
        "complete": complete,
        "states": states,
        "best": best,
        "curve": curve,
        "seconds": sum(r["seconds"] for r in records.values()),
    }


def importances(tuner, family: str, n_complete: int) -> dict | str:
    if n_complete < 2:
        return "needs at least 2 completed trials"
    try:
        import optuna

        evaluator = optuna.importance.FanovaImportanceEvaluator(seed=0)  # seeded: the report is reproducible
        return optuna.importance.get_param_importances(tuner.study(family), evaluator=evaluator)
    except Exception as exc:  # e.g. every completed trial has the same parameters or the same score
        return f"not computable ({type(exc).__name__}: {exc})"


def write_figure(path: Path, rows: dict, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for family, row in rows.items():
        if not row["curve"]:
            ax.plot([], [], label=f"{family} (no completed trial)")
            continue
        n = np.arange(1, len(row["curve"]) + 1)
        mean = np.array([m for m, _ in row["curve"]])
        std = np.array([s for _, s in row["curve"]])
        ax.plot(n, mean, marker="o", ms=3, label=family)
        ax.fill_between(n, mean - std, mean + std, alpha=0.2)
    ax.set(xlabel="trials (hyperparameter assignments)", ylabel="expected best validation score", title=title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def partial_note(manifest: dict, rows: dict) -> list[str]:
    """A banner over the report of a study that has not used its budget (interrupted, to be resumed)."""
    if manifest.get("status") == "complete":
        return []
    done = {family: sum(row["states"].values()) for family, row in rows.items()}
    return [
        f"**Partial:** the study was {manifest.get('status', 'stopped')} at {manifest.get('stopped', '?')} with "
        + ", ".join(f"{family} {n}" for family, n in done.items())
        + f" of {manifest['budget']['trials_per_family']} trials; its numbers change as it resumes (the same "
        "command); a family's columns beyond its completed trials stay empty.",
        "",
    ]


def write_report(folder, tuner) -> Path:
    manifest = tuner.manifest
    rows = {family: family_rows(folder, family) for family in manifest["families"]}
    synthetic = (
        " (SYNTHETIC: simulated beats, the numbers say nothing about real ECGs)" if manifest["synthetic"] else ""
    )
    budget = manifest["budget"]
    timeout = budget["timeout_per_family_s"]
    lines = [
        f"# Tuning study {folder.root.name}{synthetic}",
        "",
        *partial_note(manifest, rows),
        f"- **Suite:** `{manifest['suite_file']}`, dataset `{manifest['dataset']}`; development set: "
        f"{manifest['development']['part']} ({manifest['development']['n_beats']:,} beats, "
        f"{len(manifest['development']['records'])} records).",
        f"- **Objective** (maximised): {manifest['objective']['text']}; here the F1 of "
        f"{', '.join(manifest['objective']['classes']) or 'macro-F1'} "
        f"([decision](../../docs/decisions.md#tune-objective)). {len(manifest['folds'])} folds by record.",
        f"- **Budget per family:** {budget['trials_per_family']} trials"
        + (f", {timeout:g} s (trials started before it ran out finish)" if timeout else ", no time limit")
        + ".",
        f"- **Sampler:** Optuna TPE, seed {manifest['sampler']['seed']} ({manifest['sampler']['n_startup_trials']} "
        f"random trials first); pruner: median of the running mean fold score, from the second fold on, after "
        f"{manifest['pruner']['n_startup_trials']} trials.",
        f"- **Commit** `{manifest['commit']}`{' (with local changes)' if manifest.get('dirty') else ''}; command: "
        f"`{manifest['command']}`.",
        "",
        "## Best validation score against the number of trials",
        "",
        "Expected maximum over n of the completed trials, drawn with replacement (Dodge et al. 2019), +- its "
        "standard deviation; pruned and failed trials are left out.",
        "",
    ]
    width = max([len(r["curve"]) for r in rows.values()] + [0])
    marks = [n for n in (1, 2, 3, 5, 10, 20, 50, 100, 200) if n <= width] or [1]
    if width and marks[-1] != width:
        marks.append(width)
    lines += [
        "| family | trials (complete / pruned / failed) | time (s) | " + " | ".join(f"n = {n}" for n in marks) + " |",
        "|---|---|---|" + "---|" * len(marks),
    ]
    for family, row in rows.items():
        s = row["states"]
        cells = [
            f"{row['curve'][n - 1][0]:.4f} +- {row['curve'][n - 1][1]:.4f}" if n <= len(row["curve"]) else ""
            for n in marks
        ]
        lines.append(
            f"| {family} | {sum(s.values())} ({s['complete']} / {s['pruned']} / {s['failed']}) | "
            f"{row['seconds']:.0f} | " + " | ".join(cells) + " |"
        )
    lines += ["", "![expected best validation score](expected-max.png)", "", "## Chosen configurations", ""]
    for family, row in rows.items():
        lines.append(f"### {family}")
        lines.append("")
        if row["best"] is None:
            lines += ["No completed trial.", ""]
            continue
        best = row["best"]
        fixed = manifest.get("fixed_params", {}).get(family)
        if fixed:
            lines += [
                "Fixed by the suite in every trial: " + ", ".join(f"`{k} = {show(v)}`" for k, v in fixed.items()) + ".",
                "",
            ]
        lines.append(
            f"Trial {best['number']}: objective **{best['value']:.4f}** (fold scores "
            + ", ".join(f"{f['score']:.3f}" for f in best["folds"])
            + f"; {best['seconds']:.0f} s)."
        )
        lines.append("")
        lines += ["| parameter | value | importance |", "|---|---|---|"]
        imp = importances(tuner, family, len(row["complete"]))
        for name, value in best["params"].items():
            weight = f"{imp[name]:.3f}" if isinstance(imp, dict) and name in imp else ""
            lines.append(f"| {name} | {show(value)} | {weight} |")
        lines.append("")
        if not isinstance(imp, dict):
            lines += [f"Parameter importances: {imp}.", ""]
        else:
            lines += ["Parameter importances: `optuna.importance`, fANOVA (seed 0), over the completed trials.", ""]
    write_figure(
        folder.root / "expected-max.png",
        rows,
        f"{manifest['dataset']}{' (SYNTHETIC)' if manifest['synthetic'] else ''}: expected best validation score",
    )
    path = folder.root / "summary.md"
    write_text(path, "\n".join(lines))
    log.info("report: %s", path)
    return path


# ---- the tuned suite ---------------------------------------------------------------------------------------------


def toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, str)):
        return show(value) if not isinstance(value, float) else repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} in a suite file")


def toml_key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else show(key)


def write_tuned_suite(folder, tuner, suite_file: Path, path: Path) -> Path:
    """The tuned suite with ``[model_params.NAME]`` set to each family's best configuration (the suite's own
    values where a family has no completed trial)."""
    from ecgbench.run.suite import load_suite

    suite = tuner.suite
    model_params = {name: dict(params) for name, params in suite.model_params.items()}
    chosen = {}
    for family in tuner.manifest["families"]:
        best = family_rows(folder, family)["best"]
        if best is not None:
            model_params[family] = {**model_params.get(family, {}), **best["params"]}
            chosen[family] = best["number"]
    lines = [
        f"# Written by `{tuner.manifest['command']}` from {suite_file}: [model_params] set to the best trial of",
        f"# each family in study {folder.root.name} ({', '.join(f'{f} trial {n}' for f, n in chosen.items())};",
        f"# {folder.root / 'summary.md'}). Chosen on the development set only (docs/tuning.md).",
        f"description = {show(suite.description or 'tuned by ecgbench tune')}",
        f"datasets = {toml_value(suite.datasets)}",
        f"models = {toml_value(suite.models)}",
        f"seeds = {toml_value(suite.seeds)}",
    ]
    if suite.max_beats:
        lines.append(f"max_beats = {suite.max_beats}")
    tables = [("model_seeds", suite.model_seeds)] if suite.model_seeds else []
    tables.append(("split", suite.split))
    tables += [(f"dataset_params.{toml_key(n)}", p) for n, p in suite.dataset_params.items()]
    tables += [(f"model_params.{toml_key(n)}", p) for n, p in model_params.items()]
    if suite.cluster:
        tables.append(("cluster", suite.cluster))
    for name, table in tables:
        lines += ["", f"[{name}]"] + [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items() if v is not None]
    write_text(path, "\n".join(lines) + "\n")
    load_suite(path)  # what was written reads back as a suite
    log.info("tuned suite: %s", path)
    return path
