"""Peak memory of one piece of work (a cell, a benchmark step), as the operating system counts it.

Python's ``tracemalloc`` misses what TensorFlow, XGBoost and numba allocate natively, so we read the process's
peak resident set size instead. On Linux the peak (``VmHWM``) can be reset by writing ``5`` to
``/proc/self/clear_refs``, which makes it the peak *of this piece of work* (the dataset already in memory
included). Elsewhere the peak since the process started is the best available, an upper bound.

The child processes started during the work (the pool that extracts tsfresh features over a cell's threads, which
ends with the cell) have peaks of their own: they are read the same way and added, a sum of peaks that need not
coincide (an upper bound). Children that were there before (a multiprocessing resource tracker) are not the work's.
"""

from __future__ import annotations

import contextlib
import resource
import sys
from pathlib import Path

_CLEAR_REFS = Path("/proc/self/clear_refs")


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
        return True
    except OSError:
        return False


def _vm_hwm_mb(pid="self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _peak_mb() -> float:
    peak = _vm_hwm_mb()
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kB on Linux, bytes on macOS
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


def _children() -> list[int]:
    import psutil

    with contextlib.suppress(psutil.Error):
        return [child.pid for child in psutil.Process().children(recursive=True)]
    return []


class PeakMemory:
    """``with PeakMemory() as peak: ...`` then ``peak.mb`` (MiB) and ``peak.scope`` ("work" or "process")."""

    def __enter__(self):
        self.scope = "work" if _reset_peak() else "process"
        self._children_before = set(_children())
        self.mb = float("nan")
        return self

    def __exit__(self, *exc):
        with contextlib.suppress(Exception):
            started = [pid for pid in _children() if pid not in self._children_before]
            self.mb = _peak_mb() + sum(filter(None, map(_vm_hwm_mb, started)))
        return False
