"""The per-record beat cache: one npz file per rebuilt record, in the folder ``beats`` of the cache root
(:func:`ecgbench.core.cache.cache_root`: ``$ECGBENCH_CACHE``, else ``~/.cache/ecgbench``; never in the data folder,
which may be read-only).

An entry is keyed by the sha256 of the record's files and of the parameters that decide its beats, so editing a
file or a parameter rebuilds exactly the records concerned. Writes are atomic; a damaged entry is rebuilt, not
fatal. Timings: docs/datasets.md.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np

from ecgbench.core.cache import cache_root
from ecgbench.core.io import atomic_write

log = logging.getLogger(__name__)


def beat_cache_dir() -> Path:
    return cache_root() / "beats"


def cache_key(checksums: dict[str, str], params: dict) -> str:
    """sha256 of a record's file checksums and of the parameters (a JSON-ready dict) its beats depend on."""
    payload = json.dumps({"files": checksums, "params": params}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def entry_path(cache_dir: Path, database: str, record: str, key: str) -> Path:
    return cache_dir / f"{database}_{record.replace('/', '_')}_{key[:24]}.npz"


def read_entry(path: Path, fields: tuple[str, ...]) -> dict[str, np.ndarray] | None:
    """The arrays ``fields`` of a cache entry; None where there is none or it cannot be read (then logged)."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [name for name in fields if name not in z.files]
            if missing:  # written by an older ecgbench, before that field existed: rebuilt quietly, once
                log.debug("cache file %s lacks %s (an older version); rebuilding", path, ", ".join(missing))
                return None
            return {name: z[name] for name in fields}
    except Exception as exc:  # damaged in any way (bad zip, bad header, missing array...): rebuild, not fatal
        log.warning("ignoring unreadable cache file %s (%s); rebuilding", path, exc)
        return None


_UNWRITABLE: set[Path] = set()  # cache folders already warned about


def write_entry(path: Path, arrays: dict[str, np.ndarray]) -> bool:
    """Write a cache entry; where that fails (a full disk, a read-only folder) warn once per folder and go on
    without caching. Returns whether the entry was written."""

    def write(tmp: Path):
        with open(tmp, "wb") as fh:  # a file object: np.savez would add ".npz" to the temporary name
            np.savez(fh, **arrays)

    try:
        atomic_write(path, write)
    except OSError as exc:
        if path.parent not in _UNWRITABLE:
            _UNWRITABLE.add(path.parent)
            log.warning(
                "cannot write the beat cache in %s (%s); going on without caching (set ECGBENCH_CACHE "
                "to a writable folder to cache rebuilt records)",
                path.parent,
                exc.strerror or exc,
            )
        return False
    return True
