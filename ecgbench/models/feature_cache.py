"""tsfresh features of the same beats computed once: reused across seeds, cells and runs.

The seeds of a cell share its training, validation and test beats, and each seed's selection keeps mostly the
same features, so most of what a seed extracts another has extracted already. The cache holds feature columns
per set of beats: a folder under ``<cache root>/features`` named by the sha256 of the beats (their values, dtype
and shape: the data fingerprint and the beats' indices in one, and nothing else can give the same key), of the
tsfresh version and of the vectorised calculators' identity (:func:`ecgbench.models.fast_features.identity`, which
calculators compute outside tsfresh, at which version: values of the two extractors are never mixed), and in it
one checksummed entry (:mod:`ecgbench.core.cache`) per extraction, holding the columns it computed. A request
takes every column it can from the folder's entries and extracts only the others, in one new entry. Each tsfresh
feature is computed on its own, so a column's values do not depend on which other columns were extracted with it
(``tests/test_tsfresh_xgboost.py`` checks that, bit for bit).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from ecgbench.core.cache import cache_root, entry_key, read_entry, write_entry
from ecgbench.core.io import array_bytes

log = logging.getLogger(__name__)


def beats_folder(X: np.ndarray) -> Path:
    from tsfresh import __version__ as tsfresh_version

    from ecgbench.models.fast_features import identity

    beats = np.ascontiguousarray(X)
    digest = hashlib.sha256(f"{beats.dtype.str}:{beats.shape}:tsfresh {tsfresh_version}:{identity()}".encode())
    digest.update(array_bytes(beats))
    return cache_root() / "features" / digest.hexdigest()[:32]


def cached_columns(folder: Path, columns: list[str]) -> dict[str, np.ndarray]:
    """The values of those of ``columns`` that the folder's entries hold (a damaged entry is skipped)."""
    found: dict[str, np.ndarray] = {}
    for path in sorted(folder.glob("*.npz")):
        wanted = set(columns) - set(found)
        if not wanted:
            break
        entry = read_entry(path)
        if entry is None:
            continue
        for i, name in enumerate(str(c) for c in entry["columns"]):
            if name in wanted:
                found[name] = entry["values"][:, i]
    return found


def cached_extract(X: np.ndarray, columns: list[str], extract_columns) -> np.ndarray:
    """The features ``columns`` of the beats ``X`` (float32, one row per beat, in that column order), those not
    cached computed by ``extract_columns(X, missing)`` and cached."""
    folder = beats_folder(X)
    found = cached_columns(folder, columns)
    missing = [c for c in columns if c not in found]
    if missing:
        values = extract_columns(X, missing)
        write_entry(folder / f"{entry_key(columns=missing)[:24]}.npz", {"columns": np.array(missing), "values": values})
        found.update(zip(missing, values.T, strict=True))
    log.info("feature cache: %d of %d columns of %d beats reused", len(columns) - len(missing), len(columns), len(X))
    if not columns:
        return np.zeros((len(X), 0), dtype=np.float32)
    return np.column_stack([found[c] for c in columns]).astype(np.float32, copy=False)
