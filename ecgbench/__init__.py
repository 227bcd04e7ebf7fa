"""ecgbench: a benchmark suite for ECG heartbeat classification.

Packages by layer, lowest first (docs/architecture.md): ``core`` (ground helpers) -> ``data`` (datasets) ->
``models`` -> ``run`` (suite, splits, runner, executors, store) -> ``reports`` -> ``tuning`` -> ``delivery``
(predict, gallery), tied together by ``workflow`` and the command line in ``cli``.
"""

from ecgbench.core.cache import use_numba_cache

__version__ = "0.1.0"

use_numba_cache()  # before anything imports numba: it reads NUMBA_CACHE_DIR once
