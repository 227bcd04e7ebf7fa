"""Fitted models on disk: the files a model folder holds, their checksums, and loading one safely.

A model folder (``cells/.../seedK/model/``, or any folder :meth:`ecgbench.models.Model.save` wrote) holds
``model.json`` (what the model was built with), the files of the model's own ``_save`` and, in a run, its card
(``card.json``, ``card.md``). The cell's ``metrics.json`` records the sha256 of every file (``model_sha256``);
:func:`load_model` refuses a folder whose files differ from them, naming the file. Nothing is unpickled unless
asked (``allow_pickle``): docs/using-models.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import atomic_write, sha256_file
from ecgbench.models.base import MODEL_FILE, Model, read_model_meta


def save_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Numeric arrays into a compressed ``.npz`` (object arrays refused: they would need pickle to load)."""
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise EcgbenchError(f"{path}: array {name!r} holds Python objects, which only pickle could store")

    def write(tmp: Path):
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **arrays)

    atomic_write(path, write)


def load_arrays(path: Path) -> dict[str, np.ndarray]:
    """The arrays of an ``.npz`` written by :func:`save_arrays`, never unpickled (``allow_pickle=False``)."""
    with np.load(path, allow_pickle=False) as saved:
        return {name: saved[name] for name in saved.files}


def model_checksums(folder: Path) -> dict[str, str]:
    """``{file: sha256}`` of every file in a model folder (subfolders included, paths relative to it)."""
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()}


def checksum_problem(folder: Path, expected: dict[str, str]) -> str | None:
    """What differs between the files of ``folder`` and the checksums recorded for them, naming the file; None
    where every recorded file is there unchanged and no file was added."""
    folder = Path(folder)
    found = model_checksums(folder) if folder.is_dir() else {}
    for name, sha in sorted(expected.items()):
        if name not in found:
            return f"{folder / name} is missing"
        if found[name] != sha:
            return f"{folder / name} is not the file saved with the model (its sha256 differs): it was altered"
    added = sorted(set(found) - set(expected))
    if added:
        return f"{folder / added[0]} was not saved with the model (a file added to the folder)"
    return None


def load_model(folder: str | Path, allow_pickle: bool = False, checksums: dict[str, str] | None = None) -> Model:
    """The model saved in ``folder``, of the class its ``model.json`` names (built-in or plugin).

    ``checksums`` (a cell's ``model_sha256``): every file must have them, or the folder is refused naming the
    file. ``allow_pickle``: a model that declares ``saved_by_pickle`` is loaded by unpickling, which runs
    whatever code the file names; without it such a folder is refused."""
    from ecgbench.models import model_class

    folder = Path(folder)
    if not folder.is_dir():
        raise EcgbenchError(f"{folder} is not a model folder (no such folder)")
    if checksums is not None:
        problem = checksum_problem(folder, checksums)
        if problem:
            raise EcgbenchError(f"model refused: {problem}")
    meta = read_model_meta(folder)
    try:
        cls = model_class(meta["model"])
    except EcgbenchError as exc:
        raise EcgbenchError(f"{folder / MODEL_FILE}: {exc} (a plugin that is not installed?)") from None
    return cls.load(folder, allow_pickle=allow_pickle)
