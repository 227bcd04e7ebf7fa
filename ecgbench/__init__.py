"""ecgbench: a benchmark suite for ECG heartbeat classification.

The flow, one module per step: ``data`` (datasets) -> ``splits`` -> ``models`` -> ``metrics`` -> ``reports``,
driven by ``runner`` and the command line in ``cli``.
"""

from ecgbench.core.cache import use_numba_cache

__version__ = "0.1.0"

use_numba_cache()  # before anything imports numba: it reads NUMBA_CACHE_DIR once
