"""The Markdown that every report writes: number formats and tables."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mean_std(values: pd.Series, digits: int = 4) -> str:
    """The mean over seeds, with "± SD" where the seeds differ."""
    if len(values) == 1 or values.std() == 0 or np.isnan(values.std()):
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"
