"""What a run or a benchmark records beside its numbers: the commit, the library versions and the machine.

Scores are bit-identical only on the same CPU model and instruction-set flags with the same library versions
(BLAS and TensorFlow pick kernels by CPU), so the manifest records both.
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import ecgbench

LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "xgboost",
    "tsfresh",
    "sktime",
    "numba",
    "tensorflow",
    "keras",
    "seaborn",
    "matplotlib",
    "pyarrow",
    "wfdb",
)
CODE_PATHS = ("ecgbench", "benchmarks", "pyproject.toml")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def git_commit() -> dict:
    """The checked-out commit, and whether the code (``CODE_PATHS``) differs from it."""
    repo = Path(ecgbench.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
        ).stdout.strip()
        # Only the code counts: the run's own report files under results/ change while it runs.
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", *CODE_PATHS],
            cwd=repo,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return {"commit": "unknown (not a git checkout)", "dirty": None}
    return {"commit": commit, "dirty": bool(dirty)}


def versions() -> dict:
    found = {"python": sys.version.split()[0], "ecgbench": ecgbench.__version__}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def cpu() -> dict:
    """The CPU model and its instruction-set flags (Linux: /proc/cpuinfo), else what ``platform`` knows."""
    model, flags = platform.processor() or platform.machine(), []
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                model = value.strip()
            elif key.strip() in ("flags", "Features") and not flags:
                flags = value.split()
    except OSError:
        pass
    return {"model": model, "flags": flags}


def machine() -> dict:
    from ecgbench.core.threads import current_threads

    processor = cpu()
    return {
        "platform": platform.platform(),
        "processor": processor["model"],
        "cpu_flags": processor["flags"],
        "cpu_count": os.cpu_count(),
        "threads_per_cell": current_threads(),
        "accelerator": accelerator(),
    }


def accelerator() -> str:
    """The GPUs that ``nvidia-smi`` lists (what TensorFlow would use), else "none (CPU)"."""
    if not shutil.which("nvidia-smi"):
        return "none (CPU)"
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "none (CPU)"
    return "; ".join(listing.splitlines()) or "none (CPU)"


def environment() -> dict:
    """Commit, library versions and machine: what a benchmark records beside its numbers."""
    return {**git_commit(), "versions": versions(), "machine": machine()}
