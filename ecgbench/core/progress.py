"""Progress lines on stderr with elapsed time, through the ``ecgbench`` logger; a cell's own log file; the
overall progress of a run."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from pathlib import Path

log = logging.getLogger("ecgbench")


class _ElapsedFormatter(logging.Formatter):
    def __init__(self):
        super().__init__()
        self.start = time.monotonic()

    def format(self, record):
        elapsed = time.monotonic() - self.start
        minutes, seconds = divmod(int(elapsed), 60)
        prefix = {logging.WARNING: "warning: ", logging.ERROR: "error: "}.get(record.levelno, "")
        source = "" if record.name.split(".")[0] == "ecgbench" else f"{record.name}: "  # another library's warning
        return f"[{minutes:02d}:{seconds:02d}] {prefix}{source}{record.getMessage()}"


class TerminalHandler(logging.StreamHandler):
    """The command line's handler. It sits on the root logger, where every logger propagates: each line is
    printed once (TensorFlow adds no handler of its own once the root has one), and pytest's caplog, also on
    the root, sees the lines too."""


def setup_logging(verbose: bool = False) -> None:
    """Print ecgbench's lines from INFO up (DEBUG with ``verbose``), and other libraries' warnings, on stderr.
    For the command line only: a library leaves the root logger to the application that embeds it."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, TerminalHandler)]:  # main() called again
        root.removeHandler(handler)
    handler = TerminalHandler(sys.stderr)
    handler.setFormatter(_ElapsedFormatter())
    root.addHandler(handler)
    log.setLevel(logging.DEBUG if verbose else logging.INFO)


class ThreadHandler(logging.Handler):
    """Passes on only the records of the thread that made it: a cell's lines, where a process runs several."""

    def __init__(self, emit, level=logging.INFO):
        import threading

        super().__init__(level)
        self.thread, self._emit = threading.get_ident(), emit

    def emit(self, record):
        if record.thread == self.thread:
            self._emit(record)


@contextlib.contextmanager
def captured(emit):
    """Hand every "ecgbench" record of this thread, from INFO up, to ``emit`` for the duration."""
    handler = ThreadHandler(emit)
    old_level = log.level
    if log.getEffectiveLevel() > logging.INFO:  # a fresh worker process: its level was never set
        log.setLevel(logging.INFO)
    log.addHandler(handler)
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(old_level)


@contextlib.contextmanager
def cell_log(path: Path):
    """The "ecgbench" log lines of this thread into ``path`` (a cell's ``log.txt``), time-stamped, appended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as fh:

        def write(record):
            fh.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {record.levelname.lower()}: {record.getMessage()}\n")
            fh.flush()

        with captured(write):
            yield


def duration(seconds: float) -> str:
    minutes, seconds = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes:02d}:{seconds:02d}"


class RunProgress:
    """The overall line after each finished cell: done / running / left, elapsed, and an ETA from the finished
    cells' own times (their mean, times the cells left, over the cells that run at once)."""

    def __init__(self, total: int, parallel: int = 1):
        self.total, self.parallel = total, max(1, parallel)
        self.start = time.monotonic()
        self.times: list[float] = []
        self.ended = 0  # finished or failed

    def cell_ended(self, seconds: float | None, running: int | None = None) -> str:
        self.ended += 1
        if seconds is not None:
            self.times.append(seconds)
        left = self.total - self.ended
        running = min(left, self.parallel) if running is None else running
        line = (
            f"progress: {self.ended} done / {running} running / {left - running} left, "
            f"elapsed {duration(time.monotonic() - self.start)}"
        )
        if self.times and left:
            eta = sum(self.times) / len(self.times) * left / min(self.parallel, left)
            line += f", ETA {duration(eta)}"
        log.info("%s", line)
        return line


PROGRESS_SECONDS = 60.0  # a line at most this often while the pieces of a long piece of work come back


class BeatProgress:
    """Says how far a long pass over beats is, at most once every ``PROGRESS_SECONDS``: scoring 200,000 beats takes
    a quarter of an hour on two cores, and a silent quarter of an hour looks like a hang. Silent for short work."""

    def __init__(self, what: str, total: int):
        self.what, self.total, self.done = what, total, 0
        self.start = self.last = time.monotonic()

    def add(self, beats: int) -> None:
        self.done += beats
        now = time.monotonic()
        if now - self.last >= PROGRESS_SECONDS and self.done < self.total:
            self.last = now
            log.info("%s: %d of %d beats (%s)", self.what, self.done, self.total, duration(now - self.start))
