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

from ecgbench.core import statistics as st
from ecgbench.data.noise_track import Condition
from ecgbench.reports import markdown as md
from ecgbench.reports.evidence import N_RESAMPLES, SEED, fmt, shown_metrics
from ecgbench.reports.plots import write_noise_figure
from ecgbench.reports.view import Pooled, RunView
from ecgbench.run.records import DatasetRecord

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


def condition_results(g: Pooled, bootstrap: bool = True) -> dict[Condition, st.BootstrapResult | float]:
    """Per condition of ``g``'s beats (in their order): the patient-level intervals, or (``bootstrap`` false) the
    accuracy, mean over seeds."""
    labels = g.conditions
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


def summary_section(view: RunView, dataset: str, models: list[str]) -> list[str]:
    """The summary's noise section (module docstring)."""
    detection = _detected(view.dataset_info(dataset))
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
        g = view.pooled(dataset, model)
        results = condition_results(g)
        metrics = shown_metrics(g.classes)
        png = view.store.figure("noise", dataset, model)
        write_noise_figure(view.root / png, model, _by_group(results), metrics)
        lines += [f"#### {model}", "", f"Figure: [{png.as_posix()}]({png.as_posix()}).", ""]
        for group, (clean, noises) in _by_group(results).items():
            snrs = sorted({s for by_snr in noises.values() for s in by_snr}, reverse=True)
            header = ["metric", "noise", "clean", *(f"{s:g} dB" for s in snrs)]
            lines += [f"{group}:", "", *md.table(header)]
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


def leaderboard_section(view: RunView, dataset: str, table, published: dict) -> list[str]:
    """The leaderboard's noise table: per model and (group, noise), the accuracy clean and at each SNR (mean over
    seeds) and the SNR at which it has lost 5 points. ``table`` and ``published`` are not used: the conditions are
    scored from the saved predictions, and no published number is per condition."""
    rows, all_snrs = [], set()
    for model in view.models(dataset):
        results = condition_results(view.pooled(dataset, model), bootstrap=False)
        for group, (clean, noises) in _by_group(results).items():
            breaking = _breaking(clean, noises)
            for noise, by_snr in noises.items():
                all_snrs |= set(by_snr)
                rows.append((model, f"{group} {noise}", clean, by_snr, breaking.get(noise, "-")))
    snrs = sorted(all_snrs, reverse=True)
    header = ["", "condition", "clean", *(f"{s:g} dB" for s in snrs), f"SNR at -{DROP * 100:.0f} points"]
    lines = [
        f"### `{dataset}` (run `{view.root.name}`)",
        "",
        "Accuracy per condition (the noisy segments' beats, "
        + (
            "cut at the R peaks XQRS detects in each condition"
            if _detected(view.dataset_info(dataset))
            else "cut at the reference R peaks"
        )
        + "; mean over seeds), and the SNR at which a model has "
        f"lost {DROP * 100:.0f} points of accuracy against clean (interpolated; the run's summary.md has the "
        "intervals and the S and V scores):",
        "",
        *md.table(header),
    ]
    for model, condition, clean, by_snr, breaking in rows:
        values = [f"{by_snr[s]:.4f}" if s in by_snr else "-" for s in snrs]
        lines.append(
            f"| {model} | {condition} | {'-' if clean is None else f'{clean:.4f}'} | "
            + " | ".join(values)
            + f" | {breaking} |"
        )
    return lines + [""]
