"""Where a run's wall time went, from what its folder records: the manifest and each cell's metrics.json.

    python benchmarks/breakdown.py results/mitdb-inter results/mitdb-intra results/mitdb-noise results/mitdb-ds1-cv

Per run and per model: the cells' fitting and prediction, split further where the cell records it (cells run
since 2026-12-06): numba's compilation (``compile_seconds``) and the feature extraction or transform within
fitting and prediction (``fit_transform_seconds``, ``predict_transform_seconds``); older cells count those inside
fitting and prediction. What is outside the cells (the wall time from the manifest's ``started`` to ``finished``
less the cells' time: loading the data, planning, writing the report, idle) is one number: the run folder does not
record its parts. Physical limits where they can be computed from the records: the bytes of beats the run read,
and the multiply-adds of one epoch of the CNN (from its recorded parameters) against the machine's peak rate
(``--core-gflops``, an assumption stated in the output, not a measurement). Writes ``breakdown.md`` and
``breakdown.json`` (command, commit, versions, machine) into ``--out`` (default results/breakdown).

This reads stored timings only: it measures nothing, so other work on the machine cannot disturb it.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from datetime import datetime
from pathlib import Path

from ecgbench.core.io import write_json, write_text

PARTS = ("compile", "fit_transform", "fit_other", "predict_transform", "predict_other")
BYTES_PER_SAMPLE = 4  # beats are float32
BEAT_SAMPLES = 187


def seconds_between(start: str, end: str) -> float:
    stamp = "%Y-%m-%dT%H:%M:%S%z"
    return (datetime.strptime(end, stamp) - datetime.strptime(start, stamp)).total_seconds()


def cell_parts(cell: dict) -> dict[str, float]:
    """A cell's seconds by part; the fit excludes compilation in cells that record it (runner.cost_parts)."""
    fit_transform = cell.get("fit_transform_seconds", 0.0)
    predict_transform = cell.get("predict_transform_seconds", 0.0)
    return {
        "compile": cell.get("compile_seconds", 0.0),
        "fit_transform": fit_transform,
        "fit_other": cell["fit_seconds"] - fit_transform,
        "predict_transform": predict_transform,
        "predict_other": cell["predict_seconds"] - predict_transform,
    }


def cnn_epoch_multiply_adds(params: dict, n_beats: int, length: int = BEAT_SAMPLES) -> float:
    """Multiply-adds of one training epoch of the CNN (ecgbench.models.deep.CNN's architecture): the forward
    pass's convolutions (the dense layers are <0.1% of it) times 3, backward costing twice the forward."""
    filters, kernel, steps, forward = params["filters"], params["kernel_size"], length, 0
    forward += steps * filters * kernel  # the first convolution, one input channel
    for _ in range(params["blocks"]):
        forward += 2 * steps * filters * filters * kernel
        steps = (steps - 5) // 2 + 1  # MaxPool(5, stride 2), valid padding
    return 3.0 * forward * n_beats


def run_breakdown(folder: Path, core_gflops: float) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    cells = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((folder / "cells").rglob("metrics.json"))]
    wall = seconds_between(manifest["started"], manifest["finished"]) if manifest.get("finished") else None
    by_model: dict[str, dict[str, float]] = {}
    for cell in cells:
        parts = by_model.setdefault(cell["model"], dict.fromkeys((*PARTS, "cells"), 0.0))
        for name, seconds in cell_parts(cell).items():
            parts[name] += seconds
        parts["cells"] += 1
    in_cells = sum(sum(p[name] for name in PARTS) for p in by_model.values())
    beats_read = sum(d["n_beats"] for d in manifest["datasets"].values())
    limits = {"beats_read_mb": beats_read * BEAT_SAMPLES * BYTES_PER_SAMPLE / 1e6}
    cnn = [c for c in cells if c["model"] == "cnn"]
    if cnn:
        macs = cnn_epoch_multiply_adds(cnn[0]["params"], cnn[0]["n_train"])
        cores = manifest["machine"]["threads_per_cell"]
        limits["cnn_epoch_gflop"] = 2 * macs / 1e9
        limits["cnn_epoch_seconds_at_peak"] = 2 * macs / (core_gflops * 1e9 * cores)
        limits["cnn_max_epochs"] = cnn[0]["params"]["epochs"]
    return {
        "run": folder.name,
        "invocations": len(manifest.get("invocations", [])),
        "threads_per_cell": manifest["machine"]["threads_per_cell"],
        "wall_seconds": wall,
        "cells_seconds": in_cells,
        "outside_cells_seconds": None if wall is None else wall - in_cells,
        "by_model": by_model,
        "limits": limits,
    }


def minutes(seconds: float | None) -> str:
    return "?" if seconds is None else f"{seconds / 60:.1f}"


def markdown(runs: list[dict], env: dict, command: str, core_gflops: float) -> str:
    machine = env["machine"]
    lines = [
        "# Where the wall time of a run goes (from stored timings)",
        "",
        f"- command: `{command}`",
        f"- commit: `{env['commit']}`",
        f"- read on: {machine['processor']}, {machine['cpu_count']} CPUs (nothing was timed here: the numbers are "
        "those the runs recorded, on the machine their manifests name)",
        f"- physical limits assume {core_gflops:g} GFLOP/s per core (float32 FMA, AVX2 at about 2 GHz): an "
        "assumption, not a measurement",
        "- `outside cells`: wall time (manifest `started` to `finished`) less the cells' fit and predict time: data "
        "loading, planning, reports, idle; a resumed run's wall time includes the pause",
        "- compile and transform parts are recorded by cells run since 2026-12-06; in older cells they are inside "
        "`fit` and `predict`",
        "",
    ]
    for run in runs:
        limits = run["limits"]
        lines += [
            f"## {run['run']}",
            "",
            f"wall {minutes(run['wall_seconds'])} min ({run['invocations']} invocation(s), "
            f"{run['threads_per_cell']} threads per cell); in cells {minutes(run['cells_seconds'])} min; outside "
            f"cells {minutes(run['outside_cells_seconds'])} min; beats read {limits['beats_read_mb']:.0f} MB "
            "(seconds at disk speed: not a limit)",
            "",
            "| model | cells | compile (s) | fit: transform (s) | fit: other (s) | predict: transform (s) "
            "| predict: other (s) | share of cells |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for model, p in sorted(run["by_model"].items(), key=lambda item: -sum(item[1][n] for n in PARTS)):
            share = sum(p[n] for n in PARTS) / run["cells_seconds"]
            lines.append(
                f"| {model} | {p['cells']:.0f} | "
                + " | ".join(f"{p[name]:,.0f}" for name in PARTS)
                + f" | {share:.0%} |"
            )
        if "cnn_epoch_gflop" in limits:
            lines += [
                "",
                f"CNN: one epoch is {limits['cnn_epoch_gflop']:,.0f} GFLOP (forward and backward convolutions), "
                f"{limits['cnn_epoch_seconds_at_peak']:.1f} s at peak; at most {limits['cnn_max_epochs']} epochs "
                "(early stopping: the epochs run are not recorded).",
            ]
        lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders")
    parser.add_argument("--core-gflops", type=float, default=64.0, help="assumed peak GFLOP/s of one core")
    parser.add_argument("--out", type=Path, default=Path("results/breakdown"))
    args = parser.parse_args(argv)
    for folder in args.runs:
        if not (folder / "manifest.json").is_file():
            print(f"error: {folder}: not a run folder (no manifest.json)", file=sys.stderr)
            return 2
    from ecgbench.core.environment import environment

    command = "python benchmarks/breakdown.py " + shlex.join(argv if argv is not None else sys.argv[1:])
    runs = [run_breakdown(folder, args.core_gflops) for folder in args.runs]
    env = {**environment(), "command": command, "core_gflops": args.core_gflops}
    write_text(args.out / "breakdown.md", markdown(runs, env, command, args.core_gflops))
    write_json(args.out / "breakdown.json", {**env, "runs": runs})
    print(f"written: {args.out / 'breakdown.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
