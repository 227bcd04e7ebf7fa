"""Model cards: what a stored model is, what it was trained on and how it scored, beside the model itself
(``card.json``, and ``card.md`` for people). ``ecgbench predict`` reads the card to cut beats as in training.
"""

from __future__ import annotations

import math

import numpy as np

from ecgbench.data import BEAT_LENGTH, SAMPLING_RATE_HZ, Dataset

CARD_JSON = "card.json"
CARD_MD = "card.md"
CARD_VERSION = 1
# The metrics whose intervals the card gives (where the test part has records: patient-level bootstrap).
CARD_METRICS = ("accuracy", "f1_macro", "balanced_accuracy")


def _finite(value):
    return None if value is None or (isinstance(value, float) and not math.isfinite(value)) else value


def test_intervals(y_true: np.ndarray, y_pred: np.ndarray, groups, classes) -> dict:
    """Percentile bootstrap intervals (records resampled where known, else beats) of the card's metrics and of
    every class's recall and precision."""
    from ecgbench.core.statistics import cluster_bootstrap

    if not len(y_true):
        return {}
    try:
        result = cluster_bootstrap(y_true, y_pred, groups, classes=classes)
    except (ValueError, ArithmeticError):  # too few beats or records to resample: no intervals
        return {}
    # named as in metrics.json (recall_N, ...); the bootstrap names them recall:N
    names = {name: name for name in CARD_METRICS}
    names.update({f"{kind}_{c}": f"{kind}:{c}" for c in classes for kind in ("recall", "precision")})
    return {
        name: {
            "estimate": _finite(i.estimate),
            "low": _finite(i.low),
            "high": _finite(i.high),
            "unit": i.unit,
            "level": i.level,
            "n_resamples": i.n_resamples,
        }
        for name, key in names.items()
        if (i := result.intervals.get(key)) is not None
    }


def model_card(
    key,
    metrics,
    manifest,
    dataset: Dataset,
    n_context: int,
    y_test: np.ndarray,
    y_pred: np.ndarray,
    groups_test,
    train_records=None,
) -> dict:
    """The card of the model of cell ``key``: classes, beats, context, lead, training data, suite, commit,
    versions and the cell's test metrics with their intervals. ``metrics`` and ``manifest``: the cell's and the
    run's typed records (:mod:`ecgbench.run.records`, a layer above this one: read by their fields)."""
    info = manifest.datasets.get(key.dataset)
    provenance = (info and info.provenance) or dataset.provenance
    if "params" not in provenance and isinstance(provenance.get("train"), dict):  # wfdb-cross: its training side
        provenance = provenance["train"]
    params = provenance.get("params", {}) if isinstance(provenance.get("params"), dict) else {}
    split = info.splits.get(key.split, {}) if info else {}
    leads = provenance.get("leads_used") or {}
    beats = {
        "length": int(dataset.X.shape[1]),
        "sampling_rate_hz": int(params.get("rate_hz", SAMPLING_RATE_HZ)),
        "window_s": params.get("window_s"),
        "rr_factor": params.get("rr_factor"),
        "leads_preferred": params.get("leads"),
        "annotator": params.get("annotator"),
        "extraction_version": params.get("extraction_version"),
        "drop_last_beat": params.get("drop_last_beat"),
        # beats rebuilt from WFDB records (ecgbench.data.wfdb_dataset): predict can cut them from a record
        "wfdb": "extraction_version" in params and "rr_factor" in params,
    }
    lead_names = sorted(set(leads.values())) if isinstance(leads, dict) else []
    intervals = test_intervals(y_test, y_pred, groups_test, tuple(dataset.classes))
    return {
        "card_version": CARD_VERSION,
        "model": key.model,
        "seed": key.seed,
        "cell": key.id,
        "run_id": manifest.run_id,
        "description": _description(key.model),
        "params": metrics.params,
        "classes": list(dataset.classes),
        "beats": {**beats, "length": int(dataset.X.shape[1]) if dataset.X.ndim == 2 else BEAT_LENGTH},
        "context": {
            "groups": list(params.get("context", [])) if n_context else [],
            "features": list(dataset.context_names) if n_context else [],
        },
        "lead": lead_names[0] if len(lead_names) == 1 else (lead_names or None),
        "training": {
            "dataset": key.dataset,
            "split": key.split,
            "protocol": split.get("protocol"),
            "evaluation": info and info.evaluation,
            "synthetic": dataset.synthetic,
            "database": provenance.get("database"),
            "records": None if train_records is None else [str(r) for r in train_records],
            "fingerprint": info and info.fingerprint,
            "n_train": metrics.n_train,
            "n_val": metrics.n_val,
            "files_sha256_digest": provenance.get("files_sha256_digest"),
        },
        "suite": manifest.suite,
        "commit": manifest.commit,
        "dirty": manifest.dirty,
        "versions": manifest.versions,
        "test": {
            "n_test": metrics.n_test,
            **{name: _finite(getattr(metrics, name)) for name in (*CARD_METRICS, "f1_weighted")},
            "per_class": metrics.per_class,
            "intervals": intervals,
        },
    }


def _description(name: str) -> str:
    from ecgbench.models import model_class

    try:
        return model_class(name).description
    except Exception:  # a plugin that is not installed here
        return ""


def card_markdown(card: dict) -> str:
    """The card for people."""
    beats, training, test = card["beats"], card["training"], card["test"]
    lines = [
        f"# Model card: `{card['model']}` seed {card['seed']}",
        "",
        f"{card.get('description') or ''}".strip(),
        "",
        f"- cell `{card['cell']}` of run `{card.get('run_id')}`, ecgbench commit `{card.get('commit')}`"
        + (" (code differed from it)" if card.get("dirty") else ""),
        f"- classes: {', '.join(card['classes'])}",
        f"- beats: {beats['length']} samples at {beats['sampling_rate_hz']} Hz"
        + (f", window {beats['window_s']} s, {beats['rr_factor']} x median RR" if beats.get("wfdb") else ""),
        f"- lead: {card.get('lead') or 'not recorded'}",
        f"- context: {', '.join(card['context']['groups']) or 'none'}"
        + (f" ({len(card['context']['features'])} features)" if card["context"]["features"] else ""),
        f"- trained on: dataset `{training['dataset']}`, split `{training['split']}` ({training.get('protocol')}),"
        f" {training.get('n_train')} training / {training.get('n_val')} validation beats"
        + (" (SYNTHETIC: says nothing about real ECGs)" if training.get("synthetic") else ""),
        f"- training records: {', '.join(map(str, training['records'])) if training.get('records') else 'n/a'}",
        f"- data fingerprint: `{training.get('fingerprint')}`",
        f"- parameters: `{card.get('params')}`",
        "",
        "## Test metrics",
        "",
        f"{test.get('n_test')} test beats.",
        "",
        "| metric | value | 95% interval |",
        "|---|---|---|",
    ]
    intervals = test.get("intervals", {})
    for name in (*CARD_METRICS, *(n for n in intervals if n not in CARD_METRICS)):
        value = test.get(name, intervals.get(name, {}).get("estimate"))
        i = intervals.get(name)
        shown = "n/a" if value is None else f"{value:.3f}"
        interval = (
            f"[{i['low']:.3f}, {i['high']:.3f}] ({i['unit']})"
            if i and i["low"] is not None and i["high"] is not None
            else ""
        )
        lines.append(f"| {name} | {shown} | {interval} |")
    versions = card.get("versions") or {}
    lines += ["", "## Versions", "", ", ".join(f"{k} {v}" for k, v in versions.items() if v), ""]
    return "\n".join(lines)
