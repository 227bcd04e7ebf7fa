"""Peak memory of every cell of a run, against a limit, from what the cells recorded.

    ECGBENCH_CACHE=$(mktemp -d) python -m ecgbench run --suite benchmarks/memory-200k.toml --run-id memory-200k \
        --no-models
    python benchmarks/peak_memory.py results/memory-200k --limit-mb 3072 --out results/memory

Reads the run's manifest and each cell's ``metrics.json`` (``peak_memory_mb``: the work's own peak, the peaks of
the worker processes it started added, an upper bound where they did not coincide; ``ecgbench.core.memory``) and
writes ``peak-memory.md`` and ``peak-memory.json`` into ``--out``, with a copy of the manifest and of every cell's
metrics (the predictions are not kept), so that the table can be read again from what is committed. Nothing is
measured here: the numbers are those the run recorded, on the machine its manifest names.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

from ecgbench.core.environment import git_commit, now
from ecgbench.core.io import write_json, write_text


def cells(run: Path) -> list[dict]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted((run / "cells").rglob("metrics.json"))]


def unmeasured(manifest: dict, rows: list[dict]) -> list[str]:
    """A line naming the models without a finished cell, where the run stopped before them."""
    missing = [m for m in manifest["suite"]["models"] if m not in {row["model"] for row in rows}]
    if not missing:
        return []
    return [f"- **not measured:** {', '.join(missing)} (the run is {manifest.get('status', 'unfinished')})"]


def markdown(run: Path, manifest: dict, rows: list[dict], limit_mb: float, command: str) -> str:
    machine = manifest["machine"]
    synthetic = any(row["synthetic"] for row in rows)
    lines = [
        f"# Peak memory of the cells of `{run.name}`" + (" (SYNTHETIC beats)" if synthetic else ""),
        "",
        f"- command: `{command}`; the run's: `{manifest['command']}`",
        f"- run at commit `{manifest['commit']}` on {machine['processor']}, {machine['cpu_count']} CPUs, "
        f"{machine['threads_per_cell']} threads per cell; versions in `manifest.json`",
        "- peak: the cell's own resident peak (fit and predict) plus the peaks of the worker processes it started, "
        "added (an upper bound where they did not coincide)",
        *unmeasured(manifest, rows),
        "",
        f"| model | seed | test beats | training beats | peak (MB) | scope | within {limit_mb:,.0f} MB "
        "| fit (s) | predict (s) |",
        "|---|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for row in sorted(rows, key=lambda r: -(r["peak_memory_mb"] or 0)):
        peak = row["peak_memory_mb"]
        within = "unknown" if peak is None else ("yes" if peak <= limit_mb else "**no**")
        lines.append(
            f"| {row['model']} | {row['seed']} | {row['n_test']:,} | {row['n_train']:,} | "
            f"{'?' if peak is None else f'{peak:,.0f}'} | {row['peak_memory_scope']} | {within} | "
            f"{row['fit_seconds']:,.0f} | {row['predict_seconds']:,.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run", type=Path, help="a run folder")
    parser.add_argument("--limit-mb", type=float, default=3072.0, help="the limit each cell is held to (3 GB)")
    parser.add_argument("--out", type=Path, default=Path("results/memory"))
    args = parser.parse_args(argv)
    copy = args.out / args.run.name
    run, target = args.run.resolve(), copy.resolve()
    if run == target or run.is_relative_to(target) or target.is_relative_to(run):
        # the copy's folder is emptied first: it must not hold the run (a measured run was lost that way once)
        parser.exit(2, f"error: --out {args.out}: the run's copy {copy} would overlap the run {args.run}\n")
    manifest = json.loads((args.run / "manifest.json").read_text(encoding="utf-8"))
    rows = cells(args.run)
    command = shlex.join(["python", *sys.argv])
    if copy.exists():
        shutil.rmtree(copy)
    (copy / "cells").mkdir(parents=True)
    shutil.copy2(args.run / "manifest.json", copy / "manifest.json")
    for path in sorted((args.run / "cells").rglob("metrics.json")):
        target = copy / path.relative_to(args.run)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    write_text(args.out / "peak-memory.md", markdown(args.run, manifest, rows, args.limit_mb, command))
    write_json(
        args.out / "peak-memory.json",
        {
            "command": command,
            "read_at": now(),
            "read_at_commit": git_commit(),
            "run": args.run.name,
            "limit_mb": args.limit_mb,
            "cells": [
                {k: row[k] for k in ("model", "seed", "n_train", "n_test", "peak_memory_mb", "peak_memory_scope")}
                for row in rows
            ],
        },
    )
    print((args.out / "peak-memory.md").read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
