"""Progress lines on stderr with elapsed time, through the ``ecgbench`` logger."""

from __future__ import annotations

import logging
import sys
import time

log = logging.getLogger("ecgbench")


class _ElapsedFormatter(logging.Formatter):
    def __init__(self):
        super().__init__()
        self.start = time.monotonic()

    def format(self, record):
        elapsed = time.monotonic() - self.start
        minutes, seconds = divmod(int(elapsed), 60)
        prefix = {logging.WARNING: "warning: ", logging.ERROR: "error: "}.get(record.levelno, "")
        return f"[{minutes:02d}:{seconds:02d}] {prefix}{record.getMessage()}"


def setup_logging(verbose: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_ElapsedFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if verbose else logging.INFO)
    log.propagate = False
