"""Figures of a run, the only module that draws: confusion-matrix heatmaps (counts and row shares), one PNG per
cell; critical-difference diagrams of a ranking; the noise track's scores against SNR. Every figure is written
atomically (:func:`ecgbench.core.io.atomic_write`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgbench.core.io import atomic_write


def write_heatmap(path: Path, cell: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import seaborn as sns

    counts = np.array(cell["confusion"])
    normalized = np.array(cell["confusion_normalized"])
    labels = [f"{n:,}\n{p:.1%}" for n, p in zip(counts.ravel(), normalized.ravel(), strict=True)]
    fig, ax = plt.subplots(figsize=(1.2 * len(counts) + 2, 1.1 * len(counts) + 1.5))
    sns.heatmap(
        normalized,
        annot=np.array(labels).reshape(counts.shape),
        fmt="",
        cmap="Blues",
        vmin=0,
        vmax=1,
        xticklabels=cell["classes"],
        yticklabels=cell["classes"],
        cbar_kws={"label": "share of true class"},
        ax=ax,
    )
    synthetic = " (SYNTHETIC)" if cell.get("synthetic") else ""
    ax.set(
        xlabel="predicted class",
        ylabel="true class",
        title=f"{cell['model']} on {cell['dataset']}{synthetic}\n{cell['split']}, seed {cell['seed']}: "
        f"accuracy {cell['accuracy']:.3f}, macro-F1 {cell['f1_macro']:.3f}",
    )
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=100, format="png"))
    plt.close(fig)


def write_critical_difference(path: Path, result, title: str | None = None) -> None:
    """The critical-difference diagram of a :class:`~ecgbench.core.statistics.RankingResult`: models joined by a bar
    are not told apart by the pairwise tests at the ranking's ``alpha``."""
    import scikit_posthocs as sp
    from matplotlib.figure import Figure

    models = list(result.average_ranks.index)
    fig = Figure(figsize=(8, 1.2 + 0.3 * len(models)))
    ax = fig.subplots()
    margin = min(0.4, 0.05 + 0.011 * (max(len(m) for m in models) + 6))  # the labels sit outside the axes
    fig.subplots_adjust(left=margin, right=1 - margin, top=0.75, bottom=0.05)
    sp.critical_difference_diagram(result.average_ranks, result.wilcoxon_p, alpha=result.alpha, ax=ax)
    ax.set_title(
        title
        or f"average rank over {result.n_blocks} blocks (Friedman p = {result.friedman_p:.3g}); "
        f"a bar joins models not told apart (Wilcoxon, Holm, alpha = {result.alpha:g})",
        fontsize=9,
        pad=18,
    )
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=120, format="png"))


def write_noise_figure(path: Path, model: str, by_group: dict, metrics: list[tuple[str, str]]) -> None:
    """Each metric against SNR, one line per (group, noise type), the clean value as a dotted line; ``by_group``:
    {group: (clean result, {noise: {snr: result}})} of bootstrap results (:mod:`ecgbench.reports.noise_report`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, (len(metrics) + 1) // 2, figsize=(4 * ((len(metrics) + 1) // 2), 7), squeeze=False)
    for ax, (name, heading) in zip(axes.ravel(), metrics, strict=False):
        for i, (group, (clean, noises)) in enumerate(by_group.items()):
            for noise, by_snr in noises.items():
                snrs = sorted(by_snr)
                ax.plot(snrs, [by_snr[s][name].estimate for s in snrs], marker="os^v"[i % 4], label=f"{group} {noise}")
            if clean is not None:
                ax.axhline(clean[name].estimate, linestyle=":", color=f"C{i}", label=f"{group} clean")
        ax.set(title=heading, xlabel="SNR (dB)")
        ax.grid(alpha=0.3)
    axes.ravel()[0].legend(fontsize="small")
    fig.suptitle(f"{model}: scores against SNR (nst's calibration)")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)
