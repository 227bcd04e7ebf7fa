"""Choose a model's ``prior_weights`` from a finished run's saved out-of-fold probabilities (nothing is refitted).

    python benchmarks/prior_weights.py results/mitdb-ds1-cv tsfresh-xgboost

Every combination of the S, V and F weights in ``GRID`` (N and Q keep 1) shifts the model's saved probabilities
(``ecgbench.models.base.shift_priors``) on the test beats of all the run's splits pooled, seed 0: for a
``group-kfold`` run such as ``mitdb-ds1-cv`` one out-of-fold prediction per beat, by models that never saw the
beat's patient. The rule, fixed before it was run: of the weights whose pooled accuracy is at least the unweighted
accuracy, take those with the highest mean of S and V sensitivity (ties: higher accuracy, then the earlier row).
Sensitivity to S and V is what the inter-patient protocol asks for; this buys it with positive predictivity and
never with accuracy. The unweighted row always qualifies, so there is always a choice. Writes ``<run>-<model>.md``
into ``--out`` (default results/prior-weights) with the command, this commit, the run's, and every row of the grid.
A benchmark: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import itertools
import shlex
import sys
from pathlib import Path

import numpy as np

from ecgbench.errors import EcgbenchError
from ecgbench.io import write_text
from ecgbench.leaderboard import load_run
from ecgbench.metrics import classification_metrics
from ecgbench.models.base import shift_priors
from ecgbench.reports import pooled_probabilities, rescoring_header

GRID = {"S": (0.5, 1, 1.5, 2, 3), "V": (1, 1.5, 2, 3, 4, 6, 8), "F": (1, 0.3, 0.1)}


def score_grid(proba: np.ndarray, y: np.ndarray, classes: tuple[str, ...]) -> list[dict]:
    """One row per combination of the grid: the weights (one per class) and the pooled scores they give."""
    missing = [c for c in GRID if c not in classes]
    if missing:
        raise EcgbenchError(f"the run's classes {', '.join(classes)} lack {', '.join(missing)}")
    rows = []
    for combination in itertools.product(*GRID.values()):
        factors = dict(zip(GRID, combination, strict=True))
        weights = [factors.get(c, 1) for c in classes]
        scores = classification_metrics(y, shift_priors(proba, weights).argmax(1), classes)
        per_class = scores["per_class"]
        rows.append({"weights": weights, "accuracy": scores["accuracy"], "f1_macro": scores["f1_macro"],
                     **{f"{m} {c}": per_class[c][m] for c in ("S", "V") for m in ("recall", "precision")},
                     "mean_se": (per_class["S"]["recall"] + per_class["V"]["recall"]) / 2})
    return rows


def unweighted(rows: list[dict]) -> dict:
    """The grid's row of all-ones weights: the model as it was fitted."""
    return next(r for r in rows if all(w == 1 for w in r["weights"]))


def choose(rows: list[dict]) -> dict:
    """The rule of the module docstring."""
    base = unweighted(rows)
    admissible = [r for r in rows if r["accuracy"] >= base["accuracy"]]
    return max(admissible, key=lambda r: (r["mean_se"], r["accuracy"], -rows.index(r)))


def grid_table(rows: list[dict], chosen: dict, classes) -> list[str]:
    base = unweighted(rows)
    header = "| " + " | ".join(f"w {c}" for c in GRID) + " | accuracy | macro-F1 | Se S | +P S | Se V | +P V | |"
    lines = [header, "|" + "---|" * (len(GRID) + 7)]
    for row in rows:
        weights = dict(zip(classes, row["weights"], strict=True))
        note = "chosen" if row is chosen else ("unweighted" if row is base else
                                               ("" if row["accuracy"] >= base["accuracy"] else "loses accuracy"))
        values = [row["accuracy"], row["f1_macro"], row["recall S"], row["precision S"], row["recall V"],
                  row["precision V"]]
        lines.append("| " + " | ".join(f"{weights[c]:g}" for c in GRID) + " | "
                     + " | ".join(f"{v:.4f}" for v in values) + f" | {note} |")
    return lines


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run folder, e.g. results/mitdb-ds1-cv")
    parser.add_argument("model", help="a model of the run, e.g. tsfresh-xgboost")
    parser.add_argument("--out", type=Path, default=Path("results/prior-weights"))
    args = parser.parse_args(argv)
    try:
        manifest, _ = load_run(args.run)
        proba, y, classes = pooled_probabilities(args.run)
        if args.model not in proba:
            raise EcgbenchError(f"model {args.model!r} is not in {args.run} ({', '.join(proba)})")
        rows = score_grid(proba[args.model], y, classes)
    except EcgbenchError as exc:
        raise SystemExit(f"error: {exc}") from None
    chosen = choose(rows)
    command = "python benchmarks/prior_weights.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    title = f"Prior weights for {args.model}, chosen on saved probabilities"
    head = [*rescoring_header(title, command, args.run, manifest),
            f"- beats: {len(y):,}, the test beats of every split pooled (seed 0)",
            "- rule: of the weights whose pooled accuracy is at least the unweighted accuracy, the highest mean of S "
            "and V sensitivity", "",
            f"chosen: `prior_weights = [{', '.join(f'{w:g}' for w in chosen['weights'])}]` (classes "
            f"{', '.join(classes)})"]
    path = write_text(args.out / f"{args.run.name}-{args.model}.md",
                      "\n".join([*head, "", *grid_table(rows, chosen, classes), ""]))
    print("\n".join(head))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
