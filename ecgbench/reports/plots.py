"""Figures of a run: confusion-matrix heatmaps (counts and row shares), one PNG per cell."""

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
