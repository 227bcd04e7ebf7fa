"""One client per run folder (and one process per cell): a lock file naming host, process id and start time.

The file is created with ``O_EXCL``, so of two processes starting at once only one gets it. A lock whose process is
gone (same host, no such process id) is stale: it is taken over with a warning. A lock held from another host
cannot be checked from here and is refused with the host named; delete the file once that client is known dead.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from pathlib import Path

from ecgbench.environment import now
from ecgbench.errors import EcgbenchError
from ecgbench.io import regular_file

log = logging.getLogger(__name__)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


class FileLock:
    """``with FileLock(path, what):`` holds ``path`` for this process; ``what`` names the locked thing in errors."""

    def __init__(self, path: Path, what: str):
        self.path, self.what = Path(path), what
        self.held = False

    def acquire(self) -> FileLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mine = {"host": socket.gethostname(), "pid": os.getpid(), "started": now()}
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                self._take_over_if_stale(mine)
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump(mine, fh)
            self.held = True
            return self
        raise EcgbenchError(f"could not take the lock {self.path}")

    def _take_over_if_stale(self, mine: dict) -> None:
        try:
            holder = json.loads(regular_file(self.path, "lock file").read_text(encoding="utf-8"))
        except FileNotFoundError:
            return  # released meanwhile: try again
        except (json.JSONDecodeError, UnicodeDecodeError):
            holder = {}
        host, pid = holder.get("host"), holder.get("pid")
        if host == mine["host"] and isinstance(pid, int) and pid != mine["pid"] and not process_alive(pid):
            log.warning("%s: taking over the stale lock of process %d (started %s, no longer running)",
                        self.what, pid, holder.get("started"))
            self.path.unlink(missing_ok=True)
            return
        raise EcgbenchError(
            f"{self.what} is in use by process {pid} on host {host} (started {holder.get('started')}); one client "
            f"per run folder. Wait for it to finish, or, if it is dead, delete {self.path}")

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
