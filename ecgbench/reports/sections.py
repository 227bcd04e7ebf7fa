"""The report sections, registered per evaluation: the summary (``summary.md``, per dataset, below its table of
means) and the leaderboard (``results/README.md``, per dataset) walk :data:`SECTIONS` in order and render every
section that applies to the dataset's :class:`~ecgbench.core.evaluation.Evaluation`.

A summary section is ``render(view, dataset, models) -> lines``; a leaderboard section is ``render(view, dataset,
results, published) -> lines`` (``results``: the run's proven flat table, ``published``: benchmarks/published.toml).
Each reads the run through its :class:`~ecgbench.reports.view.RunView` (predictions pooled once, however many
sections use them) and returns Markdown lines, none where it has nothing to show. docs/architecture.md shows how a
section is added.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ecgbench.core.evaluation import Evaluation
from ecgbench.reports import evidence, leaderboard_table, noise_report

EVERY = frozenset(Evaluation)


@dataclass(frozen=True)
class Section:
    report: str  # "summary" or "leaderboard"
    render: Callable[..., list[str]]
    evaluations: frozenset[Evaluation] = EVERY


SECTIONS = (
    Section("summary", evidence.uncertainty_table),
    Section("summary", evidence.average_statistics_section),
    Section("summary", evidence.ranking_section),
    # the noise track: every condition scored on its own
    Section("summary", noise_report.summary_section, frozenset({Evaluation.NOISE_STRESS})),
    Section("leaderboard", leaderboard_table.dataset_section, EVERY - {Evaluation.NOISE_STRESS}),
    # scored per condition from the saved predictions; no published number is per condition
    Section("leaderboard", noise_report.leaderboard_section, frozenset({Evaluation.NOISE_STRESS})),
)


def _sections(report: str, evaluation: Evaluation | None) -> list[Callable[..., list[str]]]:
    """The renderers of ``report`` that apply to ``evaluation`` (None, a dataset that records none: those of every
    evaluation), in their order."""
    return [
        s.render
        for s in SECTIONS
        if s.report == report and (evaluation in s.evaluations if evaluation is not None else s.evaluations == EVERY)
    ]


def summary_sections(evaluation: Evaluation | None) -> list[Callable[..., list[str]]]:
    return _sections("summary", evaluation)


def leaderboard_sections(evaluation: Evaluation) -> list[Callable[..., list[str]]]:
    return _sections("leaderboard", evaluation)
