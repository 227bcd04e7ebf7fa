"""One client per run folder (and one process per cell): a lock file naming host, process id and start times.

The file appears complete or not at all: it is written beside its place and linked into it (``os.link`` fails
where the file exists), so of two processes starting at once only one gets it, and no reader ever sees it half
written. It records when the holder process was created (the kernel's start time of the process id), so that a
lock is stale, and taken over with a warning, when on the same host its process id is gone **or** now belongs to
another process (ids are reused). A lock held from another host cannot be checked from here and is refused with the
host named; so is a lock file that is not a lock (empty, garbage: no holder can be named), each with how to clear
it. The holder releases it on every stop it can see (its end, an error, Ctrl-C, SIGTERM); a process killed outright
leaves it, stale, for the next client to take over.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
from pathlib import Path

from ecgbench.core.environment import now
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import regular_file

log = logging.getLogger(__name__)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    except (OverflowError, ValueError):  # not a process id this system can have
        return False
    return True


def process_created(pid: int) -> float | None:
    """When process ``pid`` was created (seconds since the epoch, as psutil reports it), or None where it is gone
    or cannot be asked."""
    try:
        import psutil

        return round(psutil.Process(pid).create_time(), 2)
    except Exception:  # psutil absent, NoSuchProcess, AccessDenied, a bad pid: nothing is proven by it
        return None


class FileLock:
    """``with FileLock(path, what):`` holds ``path`` for this process; ``what`` names the locked thing in errors."""

    def __init__(self, path: Path, what: str):
        self.path, self.what = Path(path), what
        self.held = False

    def acquire(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mine = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": now(),
            "process_created": process_created(os.getpid()),
        }
        for _ in range(3):
            if self._link(mine):
                self.held = True
                return self
            self._take_over_if_stale(mine)
        raise EcgbenchError(f"could not take the lock {self.path}")

    def _link(self, mine: dict) -> bool:
        """Write the lock beside its place, then link it in: True where it is now ours, False where one exists."""
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(mine, fh)
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links: O_EXCL, the lock briefly empty while written
                return self._create_exclusive(mine)
            return True
        except FileExistsError:
            return False
        finally:
            Path(tmp).unlink(missing_ok=True)

    def _create_exclusive(self, mine: dict) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(mine, fh)
        return True

    def _take_over_if_stale(self, mine: dict) -> None:
        try:
            text = regular_file(self.path, "lock file").read_text(encoding="utf-8")
        except FileNotFoundError:
            return  # released meanwhile: try again
        except (UnicodeDecodeError, OSError):
            text = None
        try:
            holder = json.loads(text) if text is not None else None
        except json.JSONDecodeError:
            holder = None
        pid = holder.get("pid") if isinstance(holder, dict) else None
        if (
            not isinstance(holder, dict)
            or not isinstance(pid, int)
            or isinstance(pid, bool)
            or not isinstance(holder.get("host"), str)
        ):
            shape = (
                "unreadable"
                if text is None
                else "empty"
                if not text.strip()
                else "not a lock (no host and process id in it)"
            )
            raise EcgbenchError(
                f"{self.what}: its lock file {self.path} is damaged ({shape}), so no holder can be named. If no "
                f"ecgbench process works on it (check with `ps`), delete {self.path} and run the command again"
            )
        host = holder["host"]
        if host == mine["host"] and pid != mine["pid"]:
            created = process_created(pid) if process_alive(pid) else None
            recorded = holder.get("process_created")
            gone = not process_alive(pid)
            reused = not gone and recorded is not None and created is not None and abs(created - recorded) > 1
            if gone or reused:
                why = "no longer running" if gone else "its process id now belongs to another process"
                log.warning(
                    "%s: taking over the stale lock of process %d (started %s, %s)",
                    self.what,
                    pid,
                    holder.get("started"),
                    why,
                )
                self.path.unlink(missing_ok=True)
                return
        raise EcgbenchError(
            f"{self.what} is in use by process {pid} on host {host} (started {holder.get('started')}); one client "
            f"per run folder. Wait for it to finish, or, if it is dead, delete {self.path}"
        )

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
