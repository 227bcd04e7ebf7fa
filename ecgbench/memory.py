"""Peak memory of one piece of work (a cell, a benchmark step), as the operating system counts it.

Python's ``tracemalloc`` misses what TensorFlow, XGBoost and numba allocate natively, so we read the process's
peak resident set size instead. On Linux the peak (``VmHWM``) can be reset by writing ``5`` to
``/proc/self/clear_refs``, which makes it the peak *of this piece of work* (the dataset already in memory
included). Elsewhere the peak since the process started is the best available, an upper bound.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class PeakMemory:
    """``with PeakMemory() as peak: ...`` then ``peak.mb`` (MiB) and ``peak.scope`` ("work" or "process")."""

    def __enter__(self):
        self.scope = "work" if _reset_peak() else "process"
        self.mb = float("nan")
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(Exception):
            self.mb = _peak_mb()
        return False
