"""Soft votes of a finished run's models, scored from the class probabilities its cells saved (nothing is refitted).

    python benchmarks/soft_vote.py results/mitdb-ds1-cv tsfresh-xgboost+lstm tsfresh-xgboost+minirocket+rocket all

Each vote names models joined by ``+`` (or ``all``: every model of the run) and predicts the class of highest mean
probability. Every model, and every vote, is scored on the test beats of all the run's splits pooled, seed 0 of
each model: for a ``group-kfold`` run such as ``mitdb-ds1-cv`` that is one out-of-fold prediction per training
beat, by models that never saw the beat's patient. This asks whether combining the model families would help on
unseen patients before any DS2 number is looked at; on ``mitdb-inter`` it scores a vote so chosen on DS2. Writes
``<run>.md`` (e.g. ``mitdb-ds1-cv.md``) into ``--out`` (default results/soft-vote), with the command, this commit and
the run's. A benchmark: it measures, it asserts nothing.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np

from ecgbench.errors import EcgbenchError
from ecgbench.io import write_text
from ecgbench.leaderboard import load_run
from ecgbench.metrics import classification_metrics
from ecgbench.reports import pooled_probabilities, rescoring_header


def vote_rows(votes: list[str], proba: dict[str, np.ndarray], y: np.ndarray, classes) -> list[str]:
    rows = []
    for vote in [*proba, *votes]:
        members = list(proba) if vote == "all" else vote.split("+")
        unknown = [m for m in members if m not in proba]
        if unknown:
            raise SystemExit(f"error: vote {vote!r} names {', '.join(unknown)}, not in the run ({', '.join(proba)})")
        scores = classification_metrics(y, np.mean([proba[m] for m in members], axis=0).argmax(1), classes)
        per_class = scores["per_class"]
        cells = [scores["accuracy"], scores["f1_macro"]] + [
            per_class[c][metric] for c in ("S", "V") for metric in ("recall", "precision")]
        rows.append(f"| {vote.replace('+', ' + ')} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a finished run folder, e.g. results/mitdb-ds1-cv")
    parser.add_argument("votes", nargs="+", help="models joined by '+', or 'all'")
    parser.add_argument("--out", type=Path, default=Path("results/soft-vote"))
    args = parser.parse_args(argv)
    try:
        manifest, _ = load_run(args.run)
        proba, y, classes = pooled_probabilities(args.run)
    except EcgbenchError as exc:
        raise SystemExit(f"error: {exc}") from None
    command = "python benchmarks/soft_vote.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    lines = [*rescoring_header("Soft votes, scored from saved probabilities", command, args.run, manifest),
             f"- beats: {len(y):,}, the test beats of every split pooled (seed 0 of each model)", "",
             "| model or vote | accuracy | macro-F1 | Se S | +P S | Se V | +P V |", "|---|---|---|---|---|---|---|",
             *vote_rows(args.votes, proba, y, classes), ""]
    path = write_text(args.out / f"{args.run.name}.md", "\n".join(lines))
    print("\n".join(lines))
    print(f"written: {path}")


if __name__ == "__main__":
    main()
