"""Getting the real data: PhysioNet databases are downloaded and verified; the Kaggle CSVs are only checked.

PhysioNet publishes a ``SHA256SUMS.txt`` beside every database version, so each downloaded file is checked
against it before it is renamed into place: a file under its final name is always a verified one. Downloads go
to ``<name>.part`` first and resume from there after an interruption, and files already present with the right
checksum are not downloaded again, so rerunning a failed or interrupted fetch picks up where it stopped.

Kaggle serves its files only to signed-in users, so :func:`check_kaggle_heartbeat` explains how to get them and
validates the files once the user has put them in place.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from ecgbench import __version__
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import atomic_write, sha256_file
from ecgbench.data import AAMI_CLASSES, resolve_data_dir
from ecgbench.data.kaggle import (
    KAGGLE_PAGE,
    MITBIH_TEST,
    MITBIH_TRAIN,
    PTBDB_ABNORMAL,
    PTBDB_CLASSES,
    PTBDB_NORMAL,
    KaggleFile,
    format_counts,
    read_beats_csv,
)

log = logging.getLogger(__name__)

# ------------------------------------------------------------------------------------------- PhysioNet

DEFAULT_PHYSIONET_URL = "https://physionet.org/files"
PHYSIONET_URL_ENV = "ECGBENCH_PHYSIONET_URL"
CHECKSUM_FILE = "SHA256SUMS.txt"
INDEX_FILES = ("RECORDS", "ANNOTATORS")  # always wanted with a subset of records: they describe the database

# Current versions of the databases ecgbench knows; any other database needs an explicit version.
KNOWN_VERSIONS = {
    "mitdb": "1.0.0",
    "svdb": "1.0.0",
    "incartdb": "1.0.0",
    "nstdb": "1.0.0",
    "edb": "1.0.0",
    "ltafdb": "1.0.0",
}

TIMEOUT_S = 30.0  # per connection attempt and per read; a stalled server must not hang the fetch forever
# A server can also answer a byte every 20 s (no read ever times out), or send without end, so every request runs
# under deadlines, whatever it is doing (connecting, headers, body), and a bound on the bytes it may send.
FILE_DEADLINE_S = 3600.0  # one file, all its tries together (mitdb's largest, 1.9 MB, takes seconds)
FETCH_DEADLINE_S = 12 * 3600.0  # the whole fetch (the largest annotated databases are a few GB)
MAX_FILE_BYTES = 4 << 30  # a record file: more than any PhysioNet ECG file; the server's Content-Length, if smaller
MAX_LIST_BYTES = 16 << 20  # SHA256SUMS.txt, RECORDS, ANNOTATORS: lists of names, read into memory
ATTEMPTS = 3  # tries per request for transient failures (dropped connections, timeouts, HTTP 5xx)
RETRY_BACKOFF_S = 1.0  # doubled after each failed try
PROGRESS_INTERVAL_S = 2.0  # at most one progress line per interval, so big databases do not flood the log
CHUNK_BYTES = 1 << 16
USER_AGENT = f"ecgbench/{__version__} (Python urllib)"

# HTTP statuses worth retrying: the server is busy or briefly broken, not the request wrong.
_TRANSIENT_STATUSES = {408, 425, 429, 500, 502, 503, 504}
_NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_CHECKSUM_LINE = re.compile(r"([0-9a-fA-F]{64}) [ *]?(\S.*)")  # "<sha256> <path>"; sha256sum writes two spaces


class _DownloadFailure(Exception):
    """One failed request, described for the user; ``transient`` failures are retried; ``discard``: what was
    received is useless (too large), so the .part file goes."""

    def __init__(self, problem: str, transient: bool, status: int | None = None, discard: bool = False):
        super().__init__(problem)
        self.problem = problem
        self.transient = transient
        self.status = status
        self.discard = discard


@dataclass
class _Budget:
    """What one file's requests may take: until the earliest of its deadlines (monotonic time, and the words
    for it), and at most ``max_bytes`` bytes, ``kind`` saying what sort of file."""

    deadlines: list[tuple[float, str]]
    max_bytes: int
    kind: str

    def left(self) -> float:
        return min(end for end, _ in self.deadlines) - time.monotonic()

    def expired(self) -> _DownloadFailure:
        _, what = min(self.deadlines)
        return _DownloadFailure(f"not complete within {what}; the server may be sending very slowly", False)

    def check_size(self, size: int, declared: bool = False) -> None:
        if size > self.max_bytes:
            said = "declares" if declared else "sent more than"
            raise _DownloadFailure(
                f"the server {said} {size if declared else self.max_bytes:,} bytes, more than "
                f"a {self.kind} may have ({self.max_bytes:,}); nothing more is stored",
                transient=False,
                discard=True,
            )


def fetch_physionet(
    database: str,
    data_dir: str | Path | None,
    version: str | None = None,
    base_url: str | None = None,
    files: list[str] | None = None,
) -> Path:
    """Download PhysioNet ``database`` into ``data_dir / database``, every file verified by its SHA256.

    ``files``: record names (e.g. ``["100", "101"]``) to fetch only those records' files (plus RECORDS and
    ANNOTATORS); default: every file listed in the version's ``SHA256SUMS.txt``. Returns the database folder.
    """
    version = _resolve_version(database, version)
    base_url = _resolve_base_url(base_url)
    version_url = f"{base_url}/{urllib.parse.quote(database)}/{urllib.parse.quote(version)}"
    target = resolve_data_dir(data_dir) / database
    resume_hint = f"Files already downloaded and verified are kept in {target}; run the same command again to resume."

    fetch_end = (time.monotonic() + FETCH_DEADLINE_S, f"the deadline of the whole fetch ({FETCH_DEADLINE_S:g} s)")

    def budget(name: str) -> _Budget:
        listing = name in (CHECKSUM_FILE, *INDEX_FILES)
        file_end = (time.monotonic() + FILE_DEADLINE_S, f"the deadline of one file ({FILE_DEADLINE_S:g} s)")
        return _Budget(
            [fetch_end, file_end],
            MAX_LIST_BYTES if listing else MAX_FILE_BYTES,
            "list file" if listing else "record file",
        )

    checksum_bytes = _fetch_checksum_file(
        f"{version_url}/{CHECKSUM_FILE}", database, version, resume_hint, budget(CHECKSUM_FILE)
    )
    checksums = parse_checksums(checksum_bytes, f"{version_url}/{CHECKSUM_FILE}")
    wanted = _select_files(checksums, files, database) if files else checksums
    log.info("%s %s: %d files listed at %s; saving into %s", database, version, len(wanted), version_url, target)

    progress = _Progress(database, len(wanted))
    for rel_path, expected in wanted.items():
        url = f"{version_url}/{urllib.parse.quote(rel_path)}"
        progress.file_done(_ensure_file(url, target / rel_path, expected, resume_hint, budget(rel_path)))

    # Saved last, once every wanted file is verified: PhysioNet's own list is the provenance of the download.
    atomic_write(target / CHECKSUM_FILE, lambda tmp: tmp.write_bytes(checksum_bytes))
    progress.summary(version, target)
    return target


def _resolve_base_url(base_url: str | None) -> str:
    base_url = (base_url or os.environ.get(PHYSIONET_URL_ENV) or DEFAULT_PHYSIONET_URL).rstrip("/")
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise EcgbenchError(f"the PhysioNet URL must start with http:// or https:// (got {base_url!r})")
    return base_url


def _resolve_version(database: str, version: str | None) -> str:
    # The names become folders and URL parts: refuse anything that could escape the data directory.
    if not _NAME_PATTERN.fullmatch(database) or ".." in database:
        raise EcgbenchError(f"{database!r} is not a PhysioNet database name (e.g. mitdb, svdb, incartdb)")
    if version is None:
        if database not in KNOWN_VERSIONS:
            raise EcgbenchError(
                f"no known version of PhysioNet database {database!r}; give one with --version "
                f"(see https://physionet.org/content/{database}/). Known without a version: "
                f"{', '.join(KNOWN_VERSIONS)}"
            )
        return KNOWN_VERSIONS[database]
    if not _NAME_PATTERN.fullmatch(version) or ".." in version:
        raise EcgbenchError(f"{version!r} is not a PhysioNet version (e.g. 1.0.0)")
    return version


# --------------------------------------------------------------------------------- the checksum list


def _fetch_checksum_file(url: str, database: str, version: str, resume_hint: str, budget: _Budget) -> bytes:
    try:
        return _with_retries(url, lambda: _read_all(url, budget), budget)
    except _DownloadFailure as failure:
        if failure.status == 404:
            raise EcgbenchError(
                f"PhysioNet has no database {database!r} version {version}: {url} answered {failure.problem}. "
                f"Check the name and version at https://physionet.org/about/database/"
            ) from None
        if failure.status in (401, 403):
            raise EcgbenchError(
                f"{database} {version} needs a PhysioNet login ({url} answered {failure.problem}); ecgbench "
                "fetches open-access databases only. Download it yourself into the data directory."
            ) from None
        raise EcgbenchError(f"cannot download {url}: {failure.problem}. {resume_hint}") from None


def _read_all(url: str, budget: _Budget) -> bytes:
    """The whole (small) file in memory, never more than ``budget.max_bytes`` of it."""
    try:
        with _open(url, budget) as response:
            budget.check_size(_declared_length(response) or 0, declared=True)
            data = bytearray()
            while chunk := response.read(CHUNK_BYTES):
                data += chunk
                budget.check_size(len(data))
            _check_length(response, len(data))
            return bytes(data)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _as_failure(exc) from None


def parse_checksums(text: bytes, url: str) -> dict[str, str]:
    """``{relative path: sha256}`` from PhysioNet's ``SHA256SUMS.txt``."""
    checksums = {}
    for line_number, line in enumerate(text.decode("utf-8", errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        match = _CHECKSUM_LINE.fullmatch(line.strip())
        if not match:
            # An HTML page here usually means a proxy or login page answered instead of PhysioNet.
            raise EcgbenchError(f"{url} line {line_number} is not '<sha256> <file>': {line[:80]!r}")
        rel_path = _safe_relative_path(match.group(2), url)
        if rel_path != CHECKSUM_FILE:
            checksums[rel_path] = match.group(1).lower()
    if not checksums:
        raise EcgbenchError(f"{url} lists no files")
    return checksums


def _safe_relative_path(name: str, url: str) -> str:
    # The list comes from the network: a path must stay inside the database folder.
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", ".", "") for part in name.split("/")) or "\\" in name:
        raise EcgbenchError(f"{url} lists an unsafe path {name!r}; refusing to write it")
    return str(path)


def _select_files(checksums: dict[str, str], records: list[str], database: str) -> dict[str, str]:
    """The files of ``records`` (``100`` -> ``100.dat``, ``100.hea``, ``100.atr``, ...) plus the index files."""
    selected = {}
    for record in records:
        matches = {path: sha for path, sha in checksums.items() if _belongs_to_record(path, record)}
        if not matches:
            raise EcgbenchError(f"{database} has no record {record!r} (no file in {CHECKSUM_FILE} starts with it)")
        selected.update(matches)
    selected.update({name: checksums[name] for name in INDEX_FILES if name in checksums})
    return selected


def _belongs_to_record(path: str, record: str) -> bool:
    # "102-0.atr" belongs to record 102, but "1001.dat" does not belong to record 100.
    if not path.startswith(record) or len(path) == len(record):
        return False
    return not path[len(record)].isalnum()


# ------------------------------------------------------------------------------------------ one file


def _ensure_file(url: str, dest: Path, expected: str, resume_hint: str, budget: _Budget) -> int | None:
    """Make ``dest`` a verified copy of ``url``; the bytes downloaded, or None when it was already there."""
    if dest.is_file():
        if sha256_file(dest) == expected:
            return None
        # Removed now rather than after the new download: a file known to be corrupt must never be used.
        log.warning("%s: checksum differs from %s; downloading it again", dest.name, CHECKSUM_FILE)
        dest.unlink()
    return _download_verified(url, dest, expected, resume_hint, budget)


def _download_verified(url: str, dest: Path, expected: str, resume_hint: str, budget: _Budget) -> int:
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    found = None
    for from_scratch in (False, True):
        if from_scratch:
            part.unlink(missing_ok=True)
        try:
            _with_retries(url, lambda: _download_to_part(url, part, budget), budget)
        except _DownloadFailure as failure:
            raise EcgbenchError(f"cannot download {dest.name} from {url}: {failure.problem}. {resume_hint}") from None
        found = sha256_file(part)
        if found == expected:
            size = part.stat().st_size
            os.replace(part, dest)  # atomic: the final name only ever holds a verified file
            log.debug("%s: %s verified", dest.name, _format_bytes(size))
            return size
        log.warning(
            "%s: checksum mismatch (expected %s, found %s)%s",
            dest.name,
            expected,
            found,
            "" if from_scratch else "; downloading it again from scratch",
        )
    part.unlink(missing_ok=True)
    raise EcgbenchError(
        f"{dest.name} from {url} does not match {CHECKSUM_FILE} after two downloads: expected sha256 {expected}, "
        f"found {found}. The server or a proxy may be serving a damaged file; nothing was saved under that name."
    )


def _download_to_part(url: str, part: Path, budget: _Budget) -> None:
    """One request: continue ``part`` from its current size, or rewrite it when the server sends everything."""
    offset = part.stat().st_size if part.exists() else 0
    try:
        with _open(url, budget, offset) as response:
            _save_response(response, part, offset, budget)
    except _DownloadFailure as failure:
        if failure.discard:
            part.unlink(missing_ok=True)
        raise
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return  # nothing left after offset: the .part is probably complete, and its checksum decides
        raise _as_failure(exc) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise _as_failure(exc) from None


def _save_response(response, part: Path, offset: int, budget: _Budget) -> None:
    resumed = offset > 0 and response.status == 206
    if resumed and _content_range_start(response) != offset:
        part.unlink()  # a range we did not ask for cannot be appended; start again
        raise _DownloadFailure(f"the server answered a different byte range than bytes={offset}-", transient=True)
    # A 200 answer to a Range request is the whole file, so the .part is rewritten rather than appended to.
    start = offset if resumed else 0
    budget.check_size(start + (_declared_length(response) or 0), declared=True)
    try:
        with open(part, "ab" if resumed else "wb") as fh:
            received = _copy(response, fh, budget, start)
    except _DiskError as exc:
        raise EcgbenchError(f"cannot write {part}: {exc}") from None
    _check_length(response, received)


class _DiskError(Exception):
    """A local write failed (disk full, permissions): not a network problem, so never retried."""


def _copy(response, fh, budget: _Budget, start: int) -> int:
    """Stream the body to ``fh`` a chunk at a time (memory stays one chunk), the file never past the bound."""
    received = 0
    while chunk := response.read(CHUNK_BYTES):
        budget.check_size(start + received + len(chunk))
        try:
            fh.write(chunk)
        except OSError as exc:
            raise _DiskError(exc.strerror or str(exc)) from None
        received += len(chunk)
    return received


def _declared_length(response) -> int | None:
    declared = response.headers.get("Content-Length", "")
    return int(declared) if declared.isdigit() else None


def _check_length(response, received: int) -> None:
    # http.client returns a short body without complaint when the connection drops early; catch that here.
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and received < int(declared):
        raise _DownloadFailure(f"connection closed after {received:,} of {int(declared):,} bytes", transient=True)


def _content_range_start(response) -> int | None:
    match = re.match(r"bytes (\d+)-", response.headers.get("Content-Range", ""))
    return int(match.group(1)) if match else None


# --------------------------------------------------------------------------------------------- HTTP


class _Watchdog:
    """Shuts the request's socket down when its time is up, whatever the request is waiting for (a read that
    gets a byte every 20 s never times out on its own, nor do headers sent a byte at a time)."""

    def __init__(self, seconds: float):
        self.fired, self.sock, self.lock = False, None, threading.Lock()
        self.timer = threading.Timer(max(0.0, seconds), self.fire)
        self.timer.daemon = True
        self.timer.start()

    def watch(self, sock) -> None:
        with self.lock:
            self.sock, fired = sock, self.fired
        if fired:
            _shut(sock)

    def fire(self) -> None:
        with self.lock:
            self.fired, sock = True, self.sock
        if sock is not None:
            _shut(sock)

    def cancel(self) -> None:
        self.timer.cancel()


def _shut(sock) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watched_opener(watchdog: _Watchdog):
    """A urllib opener whose connections (plain, TLS, after a redirect) hand their socket to ``watchdog``."""

    class Connection(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            watchdog.watch(self.sock)

    class SecureConnection(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            watchdog.watch(self.sock)

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(Connection, req)

    class SecureHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(SecureConnection, req, context=self._context)

    return urllib.request.build_opener(Handler, SecureHandler)


@contextlib.contextmanager
def _open(url: str, budget: _Budget, offset: int = 0):
    """The response to one GET, under the budget's deadline: whatever is cut short by it ends as that failure."""
    if budget.left() <= 0:
        raise budget.expired()
    headers = {"User-Agent": USER_AGENT}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    watchdog = _Watchdog(budget.left())
    try:
        with _watched_opener(watchdog).open(
            urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S
        ) as response:
            yield response
    except Exception:
        if watchdog.fired:
            raise budget.expired() from None
        raise
    finally:
        watchdog.cancel()
    if watchdog.fired:  # the body ended because the socket was shut: not a complete file
        raise budget.expired()


def _with_retries(url: str, request: Callable, budget: _Budget):
    """``request()``, tried up to ATTEMPTS times while it fails transiently, with a growing pause between."""
    for attempt in range(1, ATTEMPTS + 1):
        if budget.left() <= 0:
            raise budget.expired()
        try:
            return request()
        except _DownloadFailure as failure:
            if not failure.transient or attempt == ATTEMPTS:
                if failure.transient:
                    failure.problem += f" (tried {ATTEMPTS} times)"
                raise
            pause = min(RETRY_BACKOFF_S * 2 ** (attempt - 1), max(0.0, budget.left()))
            log.warning("%s: %s; retrying in %.1f s (try %d of %d)", url, failure.problem, pause, attempt + 1, ATTEMPTS)
            time.sleep(pause)


def _as_failure(exc: Exception) -> _DownloadFailure:
    """Describe a urllib/http.client/socket exception in words, and say whether trying again may help."""
    if isinstance(exc, urllib.error.HTTPError):
        exc.close()
        problem = f"HTTP {exc.code} {exc.reason}"
        return _DownloadFailure(problem, transient=exc.code in _TRANSIENT_STATUSES or exc.code >= 500, status=exc.code)
    if isinstance(exc, http.client.IncompleteRead):  # raised by read() without a size, as for SHA256SUMS.txt
        return _DownloadFailure(f"connection closed after {len(exc.partial):,} bytes, short of the length", True)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, TimeoutError):
        return _DownloadFailure(f"no answer within {TIMEOUT_S:g} s (timed out)", transient=True)
    if isinstance(reason, ConnectionRefusedError):
        return _DownloadFailure("connection refused", transient=True)
    if isinstance(reason, OSError) and reason.strerror:
        return _DownloadFailure(reason.strerror, transient=True)
    if isinstance(reason, str):
        return _DownloadFailure(reason, transient=True)
    return _DownloadFailure(f"{type(reason).__name__}: {reason}" if str(reason) else type(reason).__name__, True)


# ----------------------------------------------------------------------------------------- progress


class _Progress:
    """Counts files and bytes; logs a line every few seconds, and a summary at the end."""

    def __init__(self, database: str, total: int):
        self.database = database
        self.total = total
        self.done = 0
        self.downloaded = 0
        self.downloaded_bytes = 0
        self.last_line = time.monotonic()

    def file_done(self, downloaded_bytes: int | None) -> None:
        self.done += 1
        if downloaded_bytes is not None:
            self.downloaded += 1
            self.downloaded_bytes += downloaded_bytes
        if time.monotonic() - self.last_line >= PROGRESS_INTERVAL_S and self.done < self.total:
            self.last_line = time.monotonic()
            log.info("%s: %d/%d files (%s)", self.database, self.done, self.total, self._counts())

    def summary(self, version: str, target: Path) -> None:
        log.info("%s %s: all %d files verified in %s (%s)", self.database, version, self.total, target, self._counts())

    def _counts(self) -> str:
        present = self.done - self.downloaded
        return f"{self.downloaded} downloaded, {_format_bytes(self.downloaded_bytes)}; {present} already present"


def _format_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


# -------------------------------------------------------------------------------------------- Kaggle

KAGGLE_DATASET = "shayanfazeli/heartbeat"
# The only Kaggle checksum known (from a Git LFS pointer, see SOURCES.md). The other three files' checksums are
# not published anywhere we could check, so they are only validated by content and counts, and their found
# sha256 is reported for the record.
PTBDB_NORMAL_SHA256 = "033d355e76e9f65f692fa398c5b24e357d004fab328c97db5160591a2eafe48c"
KAGGLE_FILES: tuple[tuple[KaggleFile, tuple[str, ...]], ...] = (
    (MITBIH_TRAIN, AAMI_CLASSES),
    (MITBIH_TEST, AAMI_CLASSES),
    (PTBDB_NORMAL, PTBDB_CLASSES),
    (PTBDB_ABNORMAL, PTBDB_CLASSES),
)


def check_kaggle_heartbeat(data_dir: str | Path | None) -> str:
    """A report on the Kaggle heartbeat CSVs in ``data_dir``: which are present, their counts and checksums,
    and how to get the missing ones. Raises :class:`EcgbenchError` when a present file is not valid."""
    data_dir = resolve_data_dir(data_dir)
    lines = [f'Kaggle "ECG Heartbeat Categorization" files ({KAGGLE_PAGE}) in {data_dir}:']
    missing, differing = [], []
    for file, classes in KAGGLE_FILES:
        path = data_dir / file.name
        if not path.is_file():
            missing.append(file.name)
            lines.append(f"  {file.name}: missing{_found_elsewhere_hint(data_dir, file.name)}")
            continue
        file_lines, matches = _check_kaggle_file(path, file, classes)
        lines += file_lines
        if not matches:
            differing.append(file.name)
    lines.append("")
    lines += _kaggle_verdict(data_dir, missing, differing)
    return "\n".join(lines)


def _check_kaggle_file(path: Path, file: KaggleFile, classes: tuple[str, ...]) -> tuple[list[str], bool]:
    """Report lines for one present file, and whether it matches the published file; raises when invalid."""
    _, y = read_beats_csv(path, len(classes))  # full validation; raises EcgbenchError naming line and column
    found = tuple(np.bincount(y, minlength=len(classes)).tolist())
    sha = sha256_file(path)
    lines = [f"  {file.name}: {len(y):,} beats ({format_counts(classes, found)})"]
    counts_match = found == file.class_counts
    if counts_match:
        lines[0] += ", as published"
    else:
        lines.append(
            f"    published: {file.n_beats:,} beats ({format_counts(classes, file.class_counts)}); a subset or an "
            "edited file gives results that are not comparable with published numbers"
        )
    sha_match = True
    if file.name == PTBDB_NORMAL.name:
        sha_match = sha == PTBDB_NORMAL_SHA256
        verdict = "matches the published file" if sha_match else f"differs from the published {PTBDB_NORMAL_SHA256}"
        lines.append(f"    sha256 {sha} {verdict}")
    else:
        lines.append(f"    sha256 {sha} (no published checksum to compare with)")
    return lines, counts_match and sha_match


def _found_elsewhere_hint(data_dir: Path, name: str) -> str:
    # Unzipping often creates a subfolder (archive/, heartbeat/); the loaders look in the data directory only.
    elsewhere = sorted(data_dir.glob(f"*/{name}")) if data_dir.is_dir() else []
    return f" (found {elsewhere[0]}: move it up into {data_dir})" if elsewhere else ""


def _kaggle_verdict(data_dir: Path, missing: list[str], differing: list[str]) -> list[str]:
    lines = []
    if differing:
        lines.append(f"Present but not as published: {', '.join(differing)}.")
    if not missing:
        if not differing:
            lines.append("All four files are present and match the published counts.")
        return lines
    lines.append(f"Missing: {', '.join(missing)}.")
    lines += [
        "Kaggle serves these files only to signed-in users, so ecgbench cannot download them. To get them:",
        f"  1. Sign in at https://www.kaggle.com and use the Download button on {KAGGLE_PAGE},",
        "     or use the Kaggle command line tool (pip install kaggle; API token in ~/.kaggle/kaggle.json):",
        f"       kaggle datasets download -d {KAGGLE_DATASET}",
        f"  2. Unzip the four CSV files into {data_dir}:",
        f"       unzip heartbeat.zip -d {data_dir}    (archive.zip when downloaded from the web page)",
        "  3. Run this check again.",
    ]
    return lines
