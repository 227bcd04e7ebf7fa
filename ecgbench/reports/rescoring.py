"""Rescoring a finished run from the class probabilities its cells saved (nothing is refitted): soft votes of its
models, and the choice of a model's ``prior_weights``. Both score the test beats of all the run's splits pooled,
seed 0 of each model: for a ``group-kfold`` run such as ``mitdb-ds1-cv`` that is one out-of-fold prediction per
beat, by models that never saw the beat's patient.

``python -m ecgbench soft-vote RUN VOTE [VOTE ...]`` and ``python -m ecgbench prior-weights RUN MODEL`` write the
reports; the rule that chooses prior weights was fixed before it was first run (docs/decisions.md).
"""

from __future__ import annotations

import itertools

import numpy as np

from ecgbench.core.environment import git_commit
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.metrics import classification_metrics
from ecgbench.models.base import shift_priors
from ecgbench.reports.evidence import rescored_table
from ecgbench.reports.view import Pooled, RunView

PRIOR_WEIGHT_GRID = {"S": (0.5, 1, 1.5, 2, 3), "V": (1, 1.5, 2, 3, 4, 6, 8), "F": (1, 0.3, 0.1)}
PRIOR_WEIGHT_RULE = (
    "of the weights whose pooled accuracy is at least the unweighted accuracy, the highest mean of S and V sensitivity"
)


def header(title: str, command: str, view: RunView) -> list[str]:
    """The opening lines of a rescored report: what made it, from which run; SYNTHETIC in the title where the run's
    data is, as every report of synthetic numbers must say."""
    synthetic = any(view.dataset_info(d).synthetic for d in view.datasets())
    return [
        f"# {title}" + (" (SYNTHETIC data)" if synthetic else ""),
        "",
        f"- command: `{command}`",
        f"- commit: `{git_commit()['commit']}`",
        f"- run: `{view.root.name}` (`{view.manifest.command}`, commit `{view.manifest.commit}`)",
    ]


def seed_zero(view: RunView) -> dict[str, Pooled]:
    """Per model with a finished seed 0 (in the order of the run's cell folders), its test beats of every split
    pooled; the run must hold one dataset, and every model must have scored the same beats."""
    datasets = list(dict.fromkeys(c["dataset"] for c in view.cells_of(seed=0)))
    if not datasets:
        raise EcgbenchError(f"{view.root} holds no finished seed-0 cells")
    if len(datasets) > 1:
        raise EcgbenchError(f"{view.root} holds several datasets ({', '.join(datasets)}); rescoring takes a run of one")
    models = dict.fromkeys(c["model"] for c in view.cells_of(seed=0))
    pooled = {m: view.pooled(datasets[0], m) for m in models}
    first = next(iter(pooled.values()))
    for model, g in pooled.items():
        if 0 not in g.seeds or not g.same_beats(first):
            raise EcgbenchError(f"{model} has not finished the same splits as the other models in {view.root}")
    return pooled


def seed_zero_probabilities(pooled: dict[str, Pooled]) -> dict[str, np.ndarray]:
    return {model: g.probabilities(0) for model, g in pooled.items()}


# ---- soft votes ------------------------------------------------------------------------------------------------------


def vote_members(vote: str, models: list[str]) -> list[str]:
    """The models of a vote: names joined by ``+``, or ``all``."""
    members = list(models) if vote == "all" else vote.split("+")
    unknown = [m for m in members if m not in models]
    if unknown:
        raise EcgbenchError(f"vote {vote!r} names {', '.join(unknown)}, not in the run ({', '.join(models)})")
    return members


def vote_rows(votes: list[str], proba: dict[str, np.ndarray], y: np.ndarray, classes) -> list[str]:
    """One Markdown row per model alone, then per vote: accuracy, macro-F1, S and V Se and +P."""
    rows = []
    for vote in [*proba, *votes]:
        members = vote_members(vote, list(proba))
        scores = classification_metrics(y, np.mean([proba[m] for m in members], axis=0).argmax(1), classes)
        per_class = scores["per_class"]
        cells = [scores["accuracy"], scores["f1_macro"]] + [
            per_class[c][metric] for c in ("S", "V") for metric in ("recall", "precision")
        ]
        rows.append(f"| {vote.replace('+', ' + ')} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    return rows


def vote_comparisons(
    votes: list[str], proba: dict[str, np.ndarray], y: np.ndarray, classes
) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Per vote: (label, the labels of its best member alone by pooled macro-F1, the vote's labels)."""
    out = []
    for vote in votes:
        members = vote_members(vote, list(proba))
        best = max(members, key=lambda m: classification_metrics(y, proba[m].argmax(1), classes)["f1_macro"])
        vote_labels = np.mean([proba[m] for m in members], axis=0).argmax(1)
        out.append((f"{vote.replace('+', ' + ')} vs {best}", proba[best].argmax(1), vote_labels))
    return out


# ---- prior weights ---------------------------------------------------------------------------------------------------


def score_prior_weights(proba: np.ndarray, y: np.ndarray, classes: tuple[str, ...]) -> list[dict]:
    """One row per combination of the grid: the weights (one per class) and the pooled scores they give."""
    missing = [c for c in PRIOR_WEIGHT_GRID if c not in classes]
    if missing:
        raise EcgbenchError(f"the run's classes {', '.join(classes)} lack {', '.join(missing)}")
    rows = []
    for combination in itertools.product(*PRIOR_WEIGHT_GRID.values()):
        factors = dict(zip(PRIOR_WEIGHT_GRID, combination, strict=True))
        weights = [factors.get(c, 1) for c in classes]
        scores = classification_metrics(y, shift_priors(proba, weights).argmax(1), classes)
        per_class = scores["per_class"]
        rows.append(
            {
                "weights": weights,
                "accuracy": scores["accuracy"],
                "f1_macro": scores["f1_macro"],
                **{f"{m} {c}": per_class[c][m] for c in ("S", "V") for m in ("recall", "precision")},
                "mean_se": (per_class["S"]["recall"] + per_class["V"]["recall"]) / 2,
            }
        )
    return rows


def unweighted(rows: list[dict]) -> dict:
    """The grid's row of all-ones weights: the model as it was fitted."""
    return next(r for r in rows if all(w == 1 for w in r["weights"]))


def choose_prior_weights(rows: list[dict]) -> dict:
    """``PRIOR_WEIGHT_RULE``; ties: higher accuracy, then the earlier row. The unweighted row always qualifies."""
    base = unweighted(rows)
    admissible = [r for r in rows if r["accuracy"] >= base["accuracy"]]
    return max(admissible, key=lambda r: (r["mean_se"], r["accuracy"], -rows.index(r)))


def prior_weight_table(rows: list[dict], chosen: dict, classes) -> list[str]:
    base = unweighted(rows)
    header_row = (
        "| "
        + " | ".join(f"w {c}" for c in PRIOR_WEIGHT_GRID)
        + " | accuracy | macro-F1 | Se S | +P S | Se V | +P V | |"
    )
    lines = [header_row, "|" + "---|" * (len(PRIOR_WEIGHT_GRID) + 7)]
    for row in rows:
        weights = dict(zip(classes, row["weights"], strict=True))
        note = (
            "chosen"
            if row is chosen
            else ("unweighted" if row is base else ("" if row["accuracy"] >= base["accuracy"] else "loses accuracy"))
        )
        values = [
            row["accuracy"],
            row["f1_macro"],
            row["recall S"],
            row["precision S"],
            row["recall V"],
            row["precision V"],
        ]
        lines.append(
            "| "
            + " | ".join(f"{weights[c]:g}" for c in PRIOR_WEIGHT_GRID)
            + " | "
            + " | ".join(f"{v:.4f}" for v in values)
            + f" | {note} |"
        )
    return lines


# ---- the reports -----------------------------------------------------------------------------------------------------


def soft_vote_report(view: RunView, votes: list[str], command: str) -> str:
    """Markdown: every model alone and every vote on the pooled test beats, then each vote against its best member
    alone with paired patient-level intervals."""
    pooled = seed_zero(view)
    proba, first = seed_zero_probabilities(pooled), next(iter(pooled.values()))
    y, classes = first.y_true, first.classes
    rows = vote_rows(votes, proba, y, classes)
    lines = [
        *header("Soft votes, scored from saved probabilities", command, view),
        f"- beats: {len(y):,}, the test beats of every split pooled (seed 0 of each model)",
        "",
        "| model or vote | accuracy | macro-F1 | Se S | +P S | Se V | +P V |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Each vote (B) against its best member alone (A, the highest pooled macro-F1):",
        "",
        *rescored_table(vote_comparisons(votes, proba, y, classes), y, first.groups, classes),
        "",
    ]
    return "\n".join(lines)


def prior_weights_report(view: RunView, model: str, command: str) -> str:
    """Markdown: every row of the prior-weight grid, the chosen row by ``PRIOR_WEIGHT_RULE``, and the chosen weights
    against the model unweighted with paired patient-level intervals."""
    pooled = seed_zero(view)
    if model not in pooled:
        raise EcgbenchError(f"model {model!r} is not in {view.root} ({', '.join(pooled)})")
    proba, first = seed_zero_probabilities(pooled), next(iter(pooled.values()))
    y, classes = first.y_true, first.classes
    rows = score_prior_weights(proba[model], y, classes)
    chosen = choose_prior_weights(rows)
    head = [
        *header(f"Prior weights for {model}, chosen on saved probabilities", command, view),
        f"- beats: {len(y):,}, the test beats of every split pooled (seed 0)",
        f"- rule: {PRIOR_WEIGHT_RULE}",
        "",
        f"chosen: `prior_weights = [{', '.join(f'{w:g}' for w in chosen['weights'])}]` (classes {', '.join(classes)})",
    ]
    alone = proba[model].argmax(1)
    weighted = shift_priors(proba[model], chosen["weights"]).argmax(1)
    evidence = [
        "The chosen weights (B) against the model alone, unweighted (A):",
        "",
        *rescored_table([(f"{model} chosen weights", alone, weighted)], y, first.groups, classes),
    ]
    return "\n".join([*head, "", *prior_weight_table(rows, chosen, classes), "", *evidence, ""])
