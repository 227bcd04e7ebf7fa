"""The noise stress track's reports (``mitdb-noise``, :mod:`ecgbench.data.noise_track`): every model's scores per
test condition, read from the ``condition`` column of its saved predictions.

For ``summary.md``: per model and condition group (DS2, nstdb), accuracy, macro-F1 and the S and V Se and +P against
SNR, one row per noise type, each with its patient-level 95% interval
(:func:`~ecgbench.core.statistics.cluster_bootstrap` over the condition's beats, records resampled); a figure per
model (``noise/<dataset>/<model>.png``); and the SNR at which each model has lost 5 points of accuracy against its
clean condition. For the leaderboard: that SNR and the
accuracy at each SNR per model.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ecgbench.core import statistics as st
from ecgbench.core.io import atomic_write
from ecgbench.data.noise_track import Condition
from ecgbench.reports.evidence import N_RESAMPLES, SEED, Gathered, fmt, gather, shown_metrics
from ecgbench.run.records import DatasetRecord
from ecgbench.run.store import CellKey, RunStore

DROP = 0.05  # the accuracy lost against clean that defines a model's breaking SNR
REFERENCE_BEATS = (
    "the beats of the noisy segments, the same beats in every condition (clean included), cut again "
    "from the noisy signal at the reference R peaks. Context computed from the signal sees the noise; "
    "RR intervals come from the annotations and do not."
)
DETECTED_BEATS = (
    "R peaks re-detected in every condition's own signal (clean included) by wfdb's XQRS, so the beats "
    "and the RR intervals come from the detections and see the noise; the scored beats are the "
    "detections in the noisy segments matched to a reference beat (within 150 ms), so conditions are "
    "scored on different beats: a missed beat has no prediction and a false detection no true class "
    "(the detector's counts below)."
)


def _detected(info: DatasetRecord) -> dict | None:
    """The detector's counts per condition where the run re-detected R peaks (``r_peaks = "xqrs"``), else None;
    ``info``: the dataset's entry in the run's manifest."""
    return (info.provenance or {}).get("detection")


def detection_table(detection: dict) -> list[str]:
    """The R-peak detector's counts per condition (``provenance["detection"]`` of the noise track)."""

    def ratio(value) -> str:
        return "-" if value is None else f"{value:.4f}"

    lines = [
        "R-peak detection per condition (XQRS against the reference beats of the noisy segments):",
        "",
        "| condition | reference beats | detections | matched | Se | +P |",
        "|---|---|---|---|---|---|",
    ]
    for name, c in detection.items():
        lines.append(
            f"| {name} | {c['reference']:,} | {c['detected']:,} | {c['matched']:,} | "
            f"{ratio(c['sensitivity'])} | {ratio(c['positive_predictivity'])} |"
        )
    return lines + [""]


def condition_labels(store: RunStore, g: Gathered, cells: list[dict]) -> np.ndarray:
    """The condition of each of ``g``'s beats (same order), from a cell's saved predictions."""
    cell = next(c for c in cells if c["dataset"] == g.dataset and c["model"] == g.model)
    frame = store.predictions(CellKey.of(cell)).assign(split=cell["split"])
    by_beat = frame.set_index(["split", "index"])["condition"]
    return by_beat.loc[pd.MultiIndex.from_frame(g.beats[["split", "index"]])].to_numpy().astype(str)


def condition_results(
    store: RunStore, g: Gathered, cells: list[dict], bootstrap: bool = True
) -> dict[Condition, st.BootstrapResult | float]:
    """Per condition of ``g``'s beats (in their order): the patient-level intervals, or (``bootstrap`` false) the
    accuracy, mean over seeds."""
    labels = condition_labels(store, g, cells)
    out = {}
    for name in dict.fromkeys(labels):
        mask = labels == name
        y_true, y_pred = g.y_true[mask], g.y_pred[:, mask]
        if bootstrap:
            out[Condition.parse(name)] = st.cluster_bootstrap(
                y_true,
                y_pred,
                None if g.groups is None else g.groups[mask],
                classes=g.classes,
                n_resamples=N_RESAMPLES,
                seed=SEED,
            )
        else:
            out[Condition.parse(name)] = float((y_pred == y_true).mean())
    return out


def _estimate(value) -> float:
    return value if isinstance(value, float) else value["accuracy"].estimate


def breaking_snr(clean: float, points: list[tuple[float, float]], drop: float = DROP) -> str:
    """The SNR at which accuracy first falls ``drop`` below ``clean``, linearly interpolated between the grid's
    points (``points``: (SNR, accuracy)); "not reached" where it never does, "above X dB" where it already has
    at the highest SNR X."""
    threshold = clean - drop
    previous = None
    for snr, accuracy in sorted(points, reverse=True):
        if accuracy <= threshold:
            if previous is None:
                return f"above {snr:g} dB"
            (s0, a0) = previous
            return f"{s0 + (threshold - a0) * (snr - s0) / (accuracy - a0):.1f} dB"
        previous = (snr, accuracy)
    return "not reached"


def _by_group(results: dict) -> dict[str, tuple[object, dict[str, dict[float, object]]]]:
    """{group: (clean result, {noise: {snr: result}})}."""
    groups: dict = {}
    for condition, value in results.items():
        clean, noises = groups.setdefault(condition.group, [None, {}])
        if condition.noise is None:
            groups[condition.group][0] = value
        else:
            noises.setdefault(condition.noise, {})[condition.snr_db] = value
    return {name: (clean, noises) for name, (clean, noises) in groups.items()}


def _breaking(clean, noises: dict) -> dict[str, str]:
    if clean is None:
        return {}
    return {
        noise: breaking_snr(_estimate(clean), [(s, _estimate(v)) for s, v in by_snr.items()])
        for noise, by_snr in noises.items()
    }


def write_noise_figure(path: Path, model: str, results: dict, metrics: list[tuple[str, str]]) -> None:
    """Each metric against SNR, one line per (group, noise type), the clean value as a dotted line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, (len(metrics) + 1) // 2, figsize=(4 * ((len(metrics) + 1) // 2), 7), squeeze=False)
    for ax, (name, heading) in zip(axes.ravel(), metrics, strict=False):
        for i, (group, (clean, noises)) in enumerate(_by_group(results).items()):
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
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)


def summary_section(
    store: RunStore, dataset: str, info: DatasetRecord, models: list[str], cells: list[dict]
) -> list[str]:
    """The summary's noise section (module docstring); ``info``: the dataset's entry in the run's manifest."""
    detection = _detected(info)
    lines = [
        "### Scores per noise condition",
        "",
        "The tables above pool the beats of every condition. Below, each condition is scored on its own: "
        + (DETECTED_BEATS if detection else REFERENCE_BEATS)
        + " SNRs are nst's nominal ones (docs/noise.md: "
        "with nst's calibration, channel MLII is measured about 4.5 dB noisier for em). Each model was fitted "
        f"once and predicted every condition. 95% intervals: records resampled per condition, {N_RESAMPLES:,} "
        "resamples.",
        "",
        *(detection_table(detection) if detection else []),
    ]
    breaking_rows = []
    for model in models:
        g = gather(store, dataset, model, cells)
        results = condition_results(store, g, cells)
        metrics = shown_metrics(g.classes)
        png = store.figure("noise", dataset, model)
        write_noise_figure(store.root / png, model, results, metrics)
        lines += [f"#### {model}", "", f"Figure: [{png.as_posix()}]({png.as_posix()}).", ""]
        for group, (clean, noises) in _by_group(results).items():
            snrs = sorted({s for by_snr in noises.values() for s in by_snr}, reverse=True)
            header = ["metric", "noise", "clean", *(f"{s:g} dB" for s in snrs)]
            lines += [f"{group}:", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
            for name, heading in metrics:
                for noise, by_snr in noises.items():
                    values = [fmt(by_snr[s][name]) if s in by_snr else "-" for s in snrs]
                    lines.append(
                        f"| {heading} | {noise} | {fmt(clean[name]) if clean else '-'} | " + " | ".join(values) + " |"
                    )
            lines.append("")
            breaking_rows += [
                f"| {model} | {group} | {noise} | {snr} |" for noise, snr in _breaking(clean, noises).items()
            ]
    lines += [
        f"SNR at which accuracy has fallen {DROP * 100:.0f} points below clean (linear interpolation between "
        "grid points):",
        "",
        "| model | group | noise | SNR |",
        "|---|---|---|---|",
        *breaking_rows,
        "",
    ]
    return lines


def leaderboard_section(
    dataset: str, info: DatasetRecord, run_id: str, store: RunStore, models: list[str]
) -> list[str]:
    """The leaderboard's noise table: per model and (group, noise), the accuracy clean and at each SNR (mean over
    seeds) and the SNR at which it has lost 5 points; ``info``: the dataset's entry in the run's manifest."""
    cells = store.cells()
    present = {c["model"] for c in cells if c["dataset"] == dataset}
    rows, all_snrs = [], set()
    for model in [m for m in models if m in present]:
        results = condition_results(store, gather(store, dataset, model, cells), cells, bootstrap=False)
        for group, (clean, noises) in _by_group(results).items():
            breaking = _breaking(clean, noises)
            for noise, by_snr in noises.items():
                all_snrs |= set(by_snr)
                rows.append((model, f"{group} {noise}", clean, by_snr, breaking.get(noise, "-")))
    snrs = sorted(all_snrs, reverse=True)
    header = ["", "condition", "clean", *(f"{s:g} dB" for s in snrs), f"SNR at -{DROP * 100:.0f} points"]
    lines = [
        f"### `{dataset}` (run `{run_id}`)",
        "",
        "Accuracy per condition (the noisy segments' beats, "
        + ("cut at the R peaks XQRS detects in each condition" if _detected(info) else "cut at the reference R peaks")
        + "; mean over seeds), and the SNR at which a model has "
        f"lost {DROP * 100:.0f} points of accuracy against clean (interpolated; the run's summary.md has the "
        "intervals and the S and V scores):",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    for model, condition, clean, by_snr, breaking in rows:
        values = [f"{by_snr[s]:.4f}" if s in by_snr else "-" for s in snrs]
        lines.append(
            f"| {model} | {condition} | {'-' if clean is None else f'{clean:.4f}'} | "
            + " | ".join(values)
            + f" | {breaking} |"
        )
    return lines + [""]
