"""ecgbench: a benchmark suite for ECG heartbeat classification.

The flow, one module per step: ``data`` (datasets) -> ``splits`` -> ``models`` -> ``metrics`` -> ``reports``,
driven by ``runner`` and the command line in ``cli``.
"""

__version__ = "0.1.0"
