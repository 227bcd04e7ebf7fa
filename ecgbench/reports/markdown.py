"""The Markdown that every report writes: number formats and tables."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd


def mean_std(values: pd.Series, digits: int = 4) -> str:
    """The mean over seeds, with "± SD" where the seeds differ."""
    if len(values) == 1 or values.std() == 0 or np.isnan(values.std()):
        return f"{values.mean():.{digits}f}"
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def row(cells: Iterable[str]) -> str:
    """One table row: ``| a | b |``."""
    return "| " + " | ".join(cells) + " |"


def table(header: Iterable[str], rows: Iterable[Iterable[str]] = ()) -> list[str]:
    """A table's lines: the header, its rule and one line per row (more rows can be appended with :func:`row`)."""
    header = list(header)
    return [row(header), "|" + "---|" * len(header), *(row(r) for r in rows)]
