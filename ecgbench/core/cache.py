"""The cache root and its entries: work that is recomputed when missing, never committed.

Every cache of ecgbench lives under one root, :func:`cache_root`: ``$ECGBENCH_CACHE``, else
``~/.cache/ecgbench`` (``$XDG_CACHE_HOME`` honoured), never the data folder, which may be read-only. Its folders:
``beats`` (rebuilt records, :mod:`ecgbench.data.beat_cache`), ``features`` (tsfresh features,
:mod:`ecgbench.models.feature_cache`) and ``numba`` (numba's compiled functions, :func:`use_numba_cache`).

An entry is one ``.npz`` of named arrays, read with ``allow_pickle=False`` (loading never runs code), written
atomically, and checksummed: :func:`write_entry` stores the sha256 of the arrays beside them and
:func:`read_entry` returns None, with a warning, for an entry whose arrays do not match it (or that cannot be
read at all), so that a damaged entry is recomputed instead of served.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np

from ecgbench.core.io import array_bytes, atomic_write

log = logging.getLogger(__name__)

CHECKSUM = "sha256"  # the array of an entry that holds the checksum of the others


def user_cache_dir() -> Path:
    """``~/.cache/ecgbench`` (``$XDG_CACHE_HOME`` in place of ``~/.cache``): the per-user folder of the default
    data directory (ecgbench.data.resolve_data_dir) and, unless ``$ECGBENCH_CACHE`` moves them, of the caches."""
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecgbench"


def cache_root() -> Path:
    """``$ECGBENCH_CACHE``, else :func:`user_cache_dir`."""
    if os.environ.get("ECGBENCH_CACHE"):
        return Path(os.environ["ECGBENCH_CACHE"]).expanduser()
    return user_cache_dir()


def use_numba_cache() -> None:
    """Point numba's on-disk cache of compiled functions at ``<cache root>/numba``, unless NUMBA_CACHE_DIR is set.

    numba reads the variable once, when it is first imported, so this runs before anything imports it (the
    package's ``__init__``). Without it numba caches beside its callers' source, which a read-only install refuses
    (then every fresh process compiles sktime's ROCKET kernels again, a minute on two cores).
    """
    os.environ.setdefault("NUMBA_CACHE_DIR", str(cache_root() / "numba"))


def entry_key(**parts) -> str:
    """sha256 of the parts (arrays by the sha256 of their bytes, the rest as JSON)."""
    payload = {
        k: (hashlib.sha256(array_bytes(np.ascontiguousarray(v))).hexdigest() if isinstance(v, np.ndarray) else v)
        for k, v in parts.items()
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def arrays_checksum(arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        value = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}:{value.dtype.str}:{value.shape}".encode())
        digest.update(array_bytes(value))
    return digest.hexdigest()


def read_entry(path: Path, names: tuple[str, ...] | None = None) -> dict[str, np.ndarray] | None:
    """The arrays of an entry (only ``names`` where given, each checked against the entry's checksum); None where
    there is none, or where it is damaged (then warned about and removed, so that it is recomputed once)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            stored = str(z[CHECKSUM])
            arrays = {name: z[name] for name in z.files if name != CHECKSUM}
        if arrays_checksum(arrays) != stored:
            raise ValueError("its arrays do not match their checksum")
    except Exception as exc:  # damaged in any way (bad zip, bad header, a missing or altered array): recompute
        log.warning("ignoring damaged cache file %s (%s); recomputing", path, exc)
        path.unlink(missing_ok=True)
        return None
    return arrays if names is None else {name: arrays[name] for name in names}


def write_entry(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write an entry with its checksum; where that fails (a full disk, a read-only folder) warn and go on.
    Returns whether it was written."""

    def save(tmp: Path):
        with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to the temporary name
            np.savez(fh, **arrays, **{CHECKSUM: np.array(arrays_checksum(arrays))})

    try:
        atomic_write(path, save)
    except OSError as exc:
        log.warning("cannot write the cache file %s (%s); going on without it", path, exc.strerror or exc)
        return False
    return True
