"""File helpers: atomic writes (a crash never leaves a half-written file) and checksums."""

from __future__ import annotations

import errno
import hashlib
import json
import math
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _current_umask()
STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM}


def os_error_text(exc: OSError, file: bool = True) -> str:
    """An OSError in one line: the file (unless ``file`` is false), then the reason in lower case (``[Errno 28]
    ...: 'path'`` reads worse)."""
    reason = exc.strerror or str(exc)
    where = f"{exc.filename}: " if exc.filename and file else ""
    return f"{where}{reason[0].lower() + reason[1:] if reason else type(exc).__name__}"


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)`` on a temporary file beside ``path``, then rename it into place.

    The rename is atomic on POSIX file systems, so readers see either the old file or the complete new one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes files private; results are meant to be shared
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, obj) -> Path:
    """``obj`` as JSON, atomically. NaN and infinity are refused (json would write ``NaN``, which is not JSON and
    which other readers reject), naming the key that holds one."""
    try:
        text = json.dumps(obj, indent=2, sort_keys=False, default=_json_default, allow_nan=False)
    except ValueError as exc:
        found = _non_finite(json.loads(json.dumps(obj, default=_json_default)))
        if found is None:
            raise
        from ecgbench.core.errors import EcgbenchError

        raise EcgbenchError(
            f"{path}: not written: {found[0]} is {found[1]}, and NaN and infinity are not valid JSON"
        ) from exc
    return write_text(path, text + "\n")


def _non_finite(obj, where: str = "") -> tuple[str, float] | None:
    """The path (``datasets.x.n_beats``, ``cells[3].accuracy``) and value of the first NaN or infinity in ``obj``."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return where or "the value", obj
    items = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in items:
        found = _non_finite(
            value, f"{where}[{key}]" if isinstance(key, int) else f"{where}.{key}" if where else str(key)
        )
        if found:
            return found
    return None


def _json_default(obj):
    # numpy scalars and arrays, Paths
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


# ---- input files: regular files only ------------------------------------------------------------------------

_NOT_REGULAR = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def not_regular(path: str | Path) -> str | None:
    """What ``path`` is when it exists but is neither a regular file nor a folder (a FIFO, a device, a socket),
    else None. Opening a FIFO blocks until a writer comes, and a device may never end, so no reader opens one;
    a missing file or a folder is left to the reader's own message. Symbolic links are followed (``os.stat``)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((kind for test, kind in _NOT_REGULAR if test(mode)), "not a regular file")


def regular_file(path: str | Path, what: str = "") -> Path:
    """``path``, refused in one EcgbenchError line (``what`` names its role: "suite file", ...) when it is a FIFO,
    a device or a socket. Every reader of an input file calls this before opening it."""
    from ecgbench.core.errors import EcgbenchError

    kind = not_regular(path)
    if kind:
        raise EcgbenchError(
            f"{what + ' ' if what else ''}{path} is {kind}, not a regular file: ecgbench reads "
            "only regular files (a pipe or device could block the run or never end)"
        )
    return Path(path)


def sha256_file(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    regular_file(path)
    with open(path, "rb") as fh:
        while chunk := fh.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def array_bytes(a):
    """The bytes of an array for a checksum: a view of them where they lie in one piece (a copy of a large array
    would be a transient peak of memory the size of the data), else a copy."""
    return memoryview(a).cast("B") if a.flags.c_contiguous and a.size else a.tobytes()


def sha256_array(*arrays) -> str:
    """Checksum of array contents (used for generated data, which has no file)."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(array_bytes(a))
    return digest.hexdigest()


# ---- output paths, checked before any work ---------------------------------------------------------------------


def _creatable(folder: Path, what: str, named: Path) -> None:
    """``folder`` exists as a writable folder, or can be made: its nearest existing ancestor is one. Errors name
    ``what`` (the option) and ``named`` (the path given)."""
    from ecgbench.core.errors import EcgbenchError

    existing = Path(os.path.abspath(folder))
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        subject = "it" if Path(folder) == Path(named) else "its folder"
        raise EcgbenchError(f"{what} {named}: {subject} cannot be created, {existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise EcgbenchError(f"{what} {named}: cannot write there: permission denied ({existing} is not writable)")


def writable_folder(path: str | Path, what: str) -> Path:
    """``path`` as a folder this process can write into (existing, or creatable); else one EcgbenchError naming
    ``what`` (the option) and the reason."""
    from ecgbench.core.errors import EcgbenchError

    path = Path(path)
    if path.exists() and not path.is_dir():
        raise EcgbenchError(f"{what} {path}: is a file; a folder is wanted here")
    _creatable(path, what, path)
    return path


def writable_file(path: str | Path, what: str) -> Path:
    """``path`` as a file this process can write (atomically, beside it: its folder must be writable)."""
    from ecgbench.core.errors import EcgbenchError

    path = Path(path)
    if path.is_dir():
        raise EcgbenchError(f"{what} {path}: is a folder; give a file name (e.g. {path / 'out.md'})")
    _creatable(path.parent, what, path)
    return path


def run_folder_of(path: str | Path) -> Path | None:
    """The run folder ``path`` lies in (the nearest folder above it holding a manifest.json), or None."""
    for folder in Path(os.path.abspath(path)).resolve().parents:
        if (folder / "manifest.json").is_file():
            return folder
    return None


def output_file(
    path: str | Path, what: str, overwrite: bool = False, inputs=(), data_dir: str | Path | None = None
) -> Path:
    """``path`` as a command's output file, checked before any work: writable (:func:`writable_file`), never one
    of the command's ``inputs``, never inside a run folder (its files are the run's: results.csv, summary.md...),
    never an existing file of the data directory, and, where it exists otherwise, replaced only with
    ``overwrite`` (the command's --overwrite). Errors name ``what`` (the option) and the path."""
    from ecgbench.core.errors import EcgbenchError

    path = writable_file(path, what)
    resolved = Path(os.path.abspath(path)).resolve()
    for item in inputs:
        if item is not None and resolved == Path(os.path.abspath(item)).resolve():
            raise EcgbenchError(
                f"{what} {path}: is an input of this command ({item}); an output never replaces "
                "an input: choose another file"
            )
    run = run_folder_of(resolved)
    if run is not None:
        raise EcgbenchError(
            f"{what} {path}: lies inside the run folder {run}, whose files are the run's own; "
            "write it outside the run folder"
        )
    if data_dir is not None and resolved.exists():
        data = Path(os.path.abspath(data_dir)).resolve()
        if resolved.is_relative_to(data):
            raise EcgbenchError(
                f"{what} {path}: is a file of the data directory {data_dir}; an output never "
                "replaces data: choose another place"
            )
    if resolved.exists() and not overwrite:
        raise EcgbenchError(f"{what} {path}: exists; pass --overwrite to replace it, or choose another file")
    return path
