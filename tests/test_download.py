"""PhysioNet downloads against a local HTTP server serving real mitdb records (which can be told to misbehave),
and the Kaggle heartbeat check on small generated CSVs. Nothing here reaches outside 127.0.0.1."""

from __future__ import annotations

import hashlib
import logging
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.io import sha256_file
from ecgbench.data import BEAT_LENGTH, download
from ecgbench.data.download import check_kaggle_heartbeat, fetch_physionet
from ecgbench.data.kaggle import KaggleFile
from tests.conftest import find_mitdb

RECORDS = ("100", "101")


def source() -> Path:
    """The real records the server copies (tests using it depend on the server, which skips without them)."""
    return find_mitdb()


SERVED_FILES = [f"{record}.{ext}" for record in RECORDS for ext in ("atr", "dat", "hea")] + ["RECORDS", "ANNOTATORS"]


# ------------------------------------------------------------------------------------------ the server


@dataclass
class Misbehaviour:
    """What the server does wrong, per file name; ``requests`` records (path, Range header) of every request."""

    truncate_once: set[str] = field(default_factory=set)  # declare the full length, send half, hang up
    corrupt_once: set[str] = field(default_factory=set)  # flip a byte in the body
    corrupt_always: set[str] = field(default_factory=set)
    status: dict[str, int] = field(default_factory=dict)  # answer this HTTP status instead
    stall_s: dict[str, float] = field(default_factory=dict)  # wait this long before answering
    ignore_range: bool = False  # answer 200 with the whole file, as servers without range support do
    trickle_s: dict[str, float] = field(default_factory=dict)  # send the body a byte at a time, this far apart
    trickle_headers_s: dict[str, float] = field(default_factory=dict)  # the same for the status line and headers
    endless: set[str] = field(default_factory=set)  # no Content-Length, and a body without end
    declare_length: dict[str, int] = field(default_factory=dict)  # a Content-Length of this, and no body
    requests: list[tuple[str, str | None]] = field(default_factory=list)

    def requests_for(self, name: str) -> list[str | None]:
        return [range_header for path, range_header in self.requests if path.endswith("/" + name)]


def make_handler(root: Path, misbehaviour: Misbehaviour):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            range_header = self.headers.get("Range")
            misbehaviour.requests.append((self.path, range_header))
            name = self.path.rsplit("/", 1)[-1]
            time.sleep(misbehaviour.stall_s.get(name, 0))
            if name in misbehaviour.status:
                return self.send_error(misbehaviour.status[name])
            if name in misbehaviour.endless:
                return self._endless()
            if name in misbehaviour.declare_length:
                self.send_response(200)
                self.send_header("Content-Length", str(misbehaviour.declare_length[name]))
                return self.end_headers()
            if name in misbehaviour.trickle_headers_s:
                return self._trickle(
                    b"HTTP/1.0 200 OK\r\nContent-Length: 1\r\n" + b"X-Slow: a\r\n" * 1000,
                    misbehaviour.trickle_headers_s[name],
                )
            path = root / self.path.lstrip("/")
            if not path.is_file():
                return self.send_error(404)
            self._send(name, self._body(name, path.read_bytes()), range_header)

        def _body(self, name: str, data: bytes) -> bytes:
            if name in misbehaviour.corrupt_always or name in misbehaviour.corrupt_once:
                misbehaviour.corrupt_once.discard(name)
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            return data

        def _send(self, name: str, data: bytes, range_header: str | None):
            start = 0
            if range_header and not misbehaviour.ignore_range:
                start = int(range_header.removeprefix("bytes=").rstrip("-"))
                if start >= len(data):
                    return self.send_error(416)
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if name in misbehaviour.truncate_once:
                misbehaviour.truncate_once.discard(name)
                body = body[: len(body) // 2]  # HTTP/1.0: the connection closes after this, short of the length
            if name in misbehaviour.trickle_s:
                return self._trickle(body, misbehaviour.trickle_s[name])
            self.wfile.write(body)

        def _trickle(self, data: bytes, pause: float):
            # Bounded: at most 2,000 bytes, and it stops as soon as the client has hung up.
            for byte in data[:2000]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(pause)

        def _endless(self):
            # HTTP/1.0 without Content-Length: the body ends when the connection does. Bounded at 256 MB, and
            # ends when the client hangs up.
            self.send_response(200)
            self.end_headers()
            line = b"0" * 64 + b"  100.dat\n"
            for _ in range((256 << 20) // (len(line) * 1000)):
                self.wfile.write(line * 1000)

        def log_message(self, *args):  # keep pytest output clean
            pass

    return Handler


@pytest.fixture(scope="module")
def served_root(tmp_path_factory, mitdb_dir) -> Path:
    """A copy of records 100 and 101 laid out as PhysioNet does, with their real SHA256SUMS.txt lines."""
    root = tmp_path_factory.mktemp("physionet")
    version_dir = root / "mitdb" / "1.0.0"
    version_dir.mkdir(parents=True)
    for name in SERVED_FILES:
        shutil.copyfile(mitdb_dir / name, version_dir / name)
    checksums = (mitdb_dir / "SHA256SUMS.txt").read_text().splitlines()
    lines = [line for line in checksums if line.split()[1] in SERVED_FILES]
    assert len(lines) == len(SERVED_FILES)
    (version_dir / "SHA256SUMS.txt").write_text("\n".join(lines) + "\n")
    return root


class QuietServer(ThreadingHTTPServer):
    """Joins its handler threads on close, so a handler stalled past a client's timeout cannot write into the
    next test's captured output; a client hanging up early (what the timeout tests provoke) is not an error."""

    daemon_threads = False
    block_on_close = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@pytest.fixture
def server(served_root, monkeypatch):
    """The misbehaviour settings of a server running for this test; $ECGBENCH_PHYSIONET_URL points at it."""
    misbehaviour = Misbehaviour()
    httpd = QuietServer(("127.0.0.1", 0), make_handler(served_root, misbehaviour))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    monkeypatch.setenv("ECGBENCH_PHYSIONET_URL", f"http://127.0.0.1:{httpd.server_address[1]}")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    try:
        yield misbehaviour
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def quick_retries(monkeypatch):
    monkeypatch.setattr(download, "RETRY_BACKOFF_S", 0.01)
    monkeypatch.setattr(download, "TIMEOUT_S", 5.0)


@pytest.fixture
def ecgbench_log(caplog):
    # The command line may have switched off propagation on the "ecgbench" logger; listen to it directly.
    logger = logging.getLogger("ecgbench")
    logger.addHandler(caplog.handler)
    with caplog.at_level(logging.INFO, logger="ecgbench"):
        yield caplog
    logger.removeHandler(caplog.handler)


def assert_identical_to_source(folder: Path, names=SERVED_FILES) -> None:
    for name in names:
        assert (folder / name).read_bytes() == (source() / name).read_bytes(), name
    assert not list(folder.glob("*.part")) and not list(folder.glob(".*.tmp"))


# ----------------------------------------------------------------------------------------- PhysioNet


def test_clean_fetch_gives_verified_copies_and_keeps_the_checksum_list(server, tmp_path, ecgbench_log):
    folder = fetch_physionet("mitdb", tmp_path)
    assert folder == tmp_path / "mitdb"
    assert_identical_to_source(folder)
    assert sorted(p.name for p in folder.iterdir()) == sorted([*SERVED_FILES, "SHA256SUMS.txt"])
    for line in (folder / "SHA256SUMS.txt").read_text().splitlines():
        sha, name = line.split()
        assert sha256_file(folder / name) == sha
    assert "all 8 files verified" in ecgbench_log.text and "8 downloaded" in ecgbench_log.text


def test_rerun_downloads_nothing(server, tmp_path, ecgbench_log):
    fetch_physionet("mitdb", tmp_path)
    server.requests.clear()
    fetch_physionet("mitdb", tmp_path)
    assert [path for path, _ in server.requests] == ["/mitdb/1.0.0/SHA256SUMS.txt"]
    assert "0 downloaded" in ecgbench_log.text and "8 already present" in ecgbench_log.text


def test_truncated_transfer_is_resumed(server, tmp_path):
    server.truncate_once.update({"100.dat", "SHA256SUMS.txt"})
    folder = fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(folder)
    assert server.requests_for("100.dat") == [None, f"bytes={1_950_000 // 2}-"]
    assert len(server.requests_for("SHA256SUMS.txt")) == 2  # small: read whole, so simply asked for again


def test_wrong_checksum_once_is_fetched_again(server, tmp_path):
    server.corrupt_once.add("101.dat")
    folder = fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(folder)
    assert server.requests_for("101.dat") == [None, None]  # the second time from scratch, not resumed


def test_wrong_checksum_always_fails_naming_file_and_checksums_and_leaves_no_bad_file(server, tmp_path):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    (folder / "100.dat").write_bytes(b"a corrupt copy from an earlier run")
    server.corrupt_always.add("100.dat")
    with pytest.raises(EcgbenchError) as caught:
        fetch_physionet("mitdb", tmp_path)
    message = str(caught.value)
    expected = sha256_file(source() / "100.dat")
    served = (source() / "100.dat").read_bytes()
    found = hashlib.sha256(bytes([served[0] ^ 0xFF]) + served[1:]).hexdigest()  # what the server sends
    assert "100.dat" in message and f"expected sha256 {expected}" in message and f"found {found}" in message
    assert not (folder / "100.dat").exists() and not (folder / "100.dat.part").exists()
    assert not (folder / "SHA256SUMS.txt").exists()  # written only once everything is verified


def test_corrupt_file_on_disk_is_replaced(server, tmp_path):
    fetch_physionet("mitdb", tmp_path)
    damaged = tmp_path / "mitdb" / "101.hea"
    damaged.write_text(damaged.read_text().replace("360", "250"))
    server.requests.clear()
    fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(tmp_path / "mitdb")
    assert [path for path, _ in server.requests] == ["/mitdb/1.0.0/SHA256SUMS.txt", "/mitdb/1.0.0/101.hea"]


def test_part_file_from_an_interrupted_run_is_resumed_with_a_range_request(server, tmp_path):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    (folder / "100.dat.part").write_bytes((source() / "100.dat").read_bytes()[:1_000_000])
    fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(folder)
    assert server.requests_for("100.dat") == ["bytes=1000000-"]


def test_server_without_range_support_gets_a_full_download(server, tmp_path):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    (folder / "100.dat.part").write_bytes((source() / "100.dat").read_bytes()[:1_000_000])
    server.ignore_range = True
    fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(folder)


def test_damaged_part_file_is_discarded_and_fetched_from_scratch(server, tmp_path):
    folder = tmp_path / "mitdb"
    folder.mkdir()
    (folder / "100.dat.part").write_bytes(b"\0" * 1000)
    fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(folder)
    assert server.requests_for("100.dat") == ["bytes=1000-", None]


def test_complete_part_file_is_verified_and_kept(server, tmp_path):
    # Interrupted between download and rename: the server has nothing after the offset (HTTP 416).
    folder = tmp_path / "mitdb"
    folder.mkdir()
    shutil.copyfile(source() / "100.hea", folder / "100.hea.part")
    fetch_physionet("mitdb", tmp_path)
    assert_identical_to_source(folder)
    assert len(server.requests_for("100.hea")) == 1


def test_files_restricts_the_download_to_those_records(server, tmp_path):
    folder = fetch_physionet("mitdb", tmp_path, files=["101"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["101.atr", "101.dat", "101.hea", "RECORDS", "ANNOTATORS", "SHA256SUMS.txt"]
    )
    assert_identical_to_source(folder, ["101.atr", "101.dat", "101.hea", "RECORDS", "ANNOTATORS"])
    with pytest.raises(EcgbenchError, match="no record '10'"):
        fetch_physionet("mitdb", tmp_path, files=["10"])


def test_missing_database_is_a_clear_error(server, tmp_path):
    pattern = r"no database 'nosuchdb' version 2\.0\.0: http.*/nosuchdb/2\.0\.0/.*HTTP 404"
    with pytest.raises(EcgbenchError, match=pattern):
        fetch_physionet("nosuchdb", tmp_path, version="2.0.0")
    assert not (tmp_path / "nosuchdb").exists()


def test_missing_file_is_a_clear_error(server, tmp_path):
    server.status["101.atr"] = 404
    with pytest.raises(
        EcgbenchError, match=r"cannot download 101\.atr from http://127.*HTTP 404.*run the same command"
    ):
        fetch_physionet("mitdb", tmp_path)
    assert len(server.requests_for("101.atr")) == 1  # a 404 is not retried


def test_server_error_is_retried_a_few_times_then_reported(server, tmp_path):
    server.status["SHA256SUMS.txt"] = 500
    with pytest.raises(EcgbenchError, match=r"SHA256SUMS\.txt: HTTP 500.*tried 3 times.*run the same command again"):
        fetch_physionet("mitdb", tmp_path)
    assert len(server.requests_for("SHA256SUMS.txt")) == download.ATTEMPTS


def test_timeout_is_retried_then_reported(server, tmp_path, monkeypatch):
    monkeypatch.setattr(download, "TIMEOUT_S", 0.2)
    server.stall_s["100.hea"] = 0.5
    with pytest.raises(EcgbenchError, match=r"cannot download 100\.hea .*timed out.*tried 3 times"):
        fetch_physionet("mitdb", tmp_path)
    assert (tmp_path / "mitdb" / "100.dat").is_file()  # finished files are kept for the rerun


def test_connection_refused_is_a_clear_error(tmp_path):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(EcgbenchError, match=rf"127\.0\.0\.1:{port}/mitdb/1\.0\.0/SHA256SUMS\.txt: connection refused"):
        fetch_physionet("mitdb", tmp_path, base_url=f"http://127.0.0.1:{port}")


def test_unknown_database_needs_a_version(tmp_path):
    with pytest.raises(EcgbenchError, match="no known version of PhysioNet database 'foodb'.*--version"):
        fetch_physionet("foodb", tmp_path)


@pytest.mark.parametrize("name", ["../mitdb", "mit/db", ""])
def test_unsafe_database_name_is_refused(tmp_path, name):
    with pytest.raises(EcgbenchError, match="not a PhysioNet database name"):
        fetch_physionet(name, tmp_path, version="1.0.0")


def test_checksum_list_with_unsafe_paths_is_refused():
    with pytest.raises(EcgbenchError, match="unsafe path"):
        download.parse_checksums(b"%s ../../etc/passwd\n" % (b"0" * 64), "http://x/SHA256SUMS.txt")
    with pytest.raises(EcgbenchError, match="line 1 is not"):
        download.parse_checksums(b"<html>login</html>\n", "http://x/SHA256SUMS.txt")


# ------------------------------------------------------------------- deadlines and size bounds (issue 24)


@pytest.fixture
def small_limits(monkeypatch):
    """The fetch's limits, small enough for a test to reach them in a second or two (the defaults: an hour per
    file, twelve hours per fetch, 4 GB per record file, 16 MB per list)."""
    monkeypatch.setattr(download, "FILE_DEADLINE_S", 1.5)
    monkeypatch.setattr(download, "FETCH_DEADLINE_S", 60.0)
    monkeypatch.setattr(download, "MAX_FILE_BYTES", 4_000_000)  # 100.dat is 1.95 MB
    monkeypatch.setattr(download, "MAX_LIST_BYTES", 100_000)


def _refused_in_time(tmp_path, words, seconds=10.0):
    start = time.monotonic()
    with pytest.raises(EcgbenchError) as caught:
        fetch_physionet("mitdb", tmp_path)
    took = time.monotonic() - start
    message = str(caught.value)
    assert "\n" not in message and took < seconds, (took, message)
    for word in words:
        assert word in message, (word, message)
    return message


@pytest.mark.parametrize("name", ["100.hea", "SHA256SUMS.txt"])
def test_a_server_trickling_a_body_is_cut_off_at_the_file_deadline(server, tmp_path, small_limits, name):
    server.trickle_s[name] = 0.05  # a byte every 50 ms: no read ever times out
    _refused_in_time(tmp_path, [name, "not complete within the deadline of one file (1.5 s)", "sending very slowly"])
    assert len(server.requests_for(name)) == 1  # not retried: it would only trickle again
    assert not (tmp_path / "mitdb" / "100.hea").exists()


def test_a_server_trickling_its_headers_is_cut_off_at_the_file_deadline(server, tmp_path, small_limits):
    server.trickle_headers_s["100.atr"] = 0.05
    _refused_in_time(tmp_path, ["100.atr", "not complete within the deadline of one file"])


def test_the_whole_fetch_has_a_deadline(server, tmp_path, small_limits, monkeypatch):
    monkeypatch.setattr(download, "FETCH_DEADLINE_S", 1.0)
    for name in SERVED_FILES:
        server.stall_s[name] = 0.3  # each file in time, all of them not
    _refused_in_time(tmp_path, ["not complete within the deadline of the whole fetch (1 s)"])
    assert (tmp_path / "mitdb").is_dir() and not (tmp_path / "mitdb" / "SHA256SUMS.txt").exists()


@pytest.mark.parametrize(
    "name, kind", [("100.dat", "record file"), ("RECORDS", "list file"), ("SHA256SUMS.txt", "list file")]
)
def test_an_endless_file_stops_at_its_size_bound_and_is_not_kept(server, tmp_path, small_limits, name, kind):
    server.endless.add(name)
    _refused_in_time(tmp_path, [name, "sent more than", f"more than a {kind} may have", "nothing more is stored"])
    assert not list((tmp_path / "mitdb").glob(f"{name}*")) if (tmp_path / "mitdb").exists() else True


def test_a_declared_length_over_the_bound_is_refused_before_reading(server, tmp_path, small_limits):
    server.declare_length["100.dat"] = 10**12
    _refused_in_time(tmp_path, ["100.dat", "declares 1,000,000,000,000 bytes, more than a record file may have"])


def test_the_list_is_read_in_bounded_memory(server, tmp_path, small_limits):
    import tracemalloc

    server.endless.add("SHA256SUMS.txt")
    tracemalloc.start()
    try:
        with pytest.raises(EcgbenchError, match="more than a list file may have"):
            fetch_physionet("mitdb", tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * download.MAX_LIST_BYTES  # the bound and a chunk, not the 256 MB the server would send


# -------------------------------------------------------------------------------------------- Kaggle


def write_beats(path: Path, labels) -> Path:
    rng = np.random.default_rng(0)
    X = rng.random((len(labels), BEAT_LENGTH))
    np.savetxt(path, np.column_stack([X, labels]), delimiter=",", fmt="%.18e")
    return path


@pytest.fixture
def small_published_counts(monkeypatch):
    """Pretend the published files hold a few beats each, so that small generated files can match them."""
    mitbih, ptbdb = download.AAMI_CLASSES, download.PTBDB_CLASSES
    monkeypatch.setattr(
        download,
        "KAGGLE_FILES",
        (
            (KaggleFile("mitbih_train.csv", (2, 1, 1, 1, 1)), mitbih),
            (KaggleFile("mitbih_test.csv", (1, 1, 1, 1, 1)), mitbih),
            (KaggleFile("ptbdb_normal.csv", (3, 0)), ptbdb),
            (KaggleFile("ptbdb_abnormal.csv", (0, 2)), ptbdb),
        ),
    )


def test_kaggle_check_with_no_files_explains_how_to_get_them(tmp_path):
    report = check_kaggle_heartbeat(tmp_path)
    for name in ("mitbih_train.csv", "mitbih_test.csv", "ptbdb_normal.csv", "ptbdb_abnormal.csv"):
        assert f"{name}: missing" in report
    assert "kaggle datasets download -d shayanfazeli/heartbeat" in report
    assert "https://www.kaggle.com/datasets/shayanfazeli/heartbeat" in report
    assert f"unzip heartbeat.zip -d {tmp_path}" in report


def test_kaggle_check_reports_counts_checksums_and_files_in_a_subfolder(tmp_path, small_published_counts):
    write_beats(tmp_path / "mitbih_train.csv", [0, 0, 1, 2, 3, 4])
    write_beats(tmp_path / "mitbih_test.csv", [0, 1, 2, 3])  # one class short
    (tmp_path / "archive").mkdir()
    write_beats(tmp_path / "archive" / "ptbdb_abnormal.csv", [1, 1])
    normal = write_beats(tmp_path / "ptbdb_normal.csv", [0, 0, 0])

    report = check_kaggle_heartbeat(tmp_path)
    assert "mitbih_train.csv: 6 beats (N 2, S 1, V 1, F 1, Q 1), as published" in report
    assert f"sha256 {sha256_file(tmp_path / 'mitbih_train.csv')} (no published checksum" in report
    assert "mitbih_test.csv: 4 beats (N 1, S 1, V 1, F 1, Q 0)\n    published: 5 beats" in report
    assert f"sha256 {sha256_file(normal)} differs from the published {download.PTBDB_NORMAL_SHA256}" in report
    assert f"ptbdb_abnormal.csv: missing (found {tmp_path / 'archive' / 'ptbdb_abnormal.csv'}: move it up" in report
    assert "Present but not as published: mitbih_test.csv, ptbdb_normal.csv." in report
    assert "Missing: ptbdb_abnormal.csv." in report


def test_kaggle_check_passes_when_everything_matches(tmp_path, small_published_counts, monkeypatch):
    write_beats(tmp_path / "mitbih_train.csv", [0, 0, 1, 2, 3, 4])
    write_beats(tmp_path / "mitbih_test.csv", [0, 1, 2, 3, 4])
    write_beats(tmp_path / "ptbdb_abnormal.csv", [1, 1])
    normal = write_beats(tmp_path / "ptbdb_normal.csv", [0, 0, 0])
    monkeypatch.setattr(download, "PTBDB_NORMAL_SHA256", sha256_file(normal))

    report = check_kaggle_heartbeat(tmp_path)
    assert "matches the published file" in report
    assert report.endswith("All four files are present and match the published counts.")
    assert "missing" not in report


def test_kaggle_check_raises_on_a_malformed_file(tmp_path):
    path = write_beats(tmp_path / "ptbdb_abnormal.csv", [1, 1, 1])
    lines = path.read_text().splitlines()
    lines[1] = lines[1].rsplit(",", 1)[0]  # line 2 loses its label column
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(EcgbenchError, match="ptbdb_abnormal.csv line 2: has 187 columns"):
        check_kaggle_heartbeat(tmp_path)


# ------------------------------------------------------------------------------------------ the command line


def test_data_fetch_command_downloads_and_verifies(server, tmp_path, capsys):
    from ecgbench.cli import main

    assert main(["data", "fetch", "mitdb", "--records", "100", "--data-dir", str(tmp_path)]) == 0
    assert "every file verified against SHA256SUMS.txt" in capsys.readouterr().out
    assert_identical_to_source(tmp_path / "mitdb", ["100.atr", "100.dat", "100.hea"])
    server.status["SHA256SUMS.txt"] = 404
    assert main(["data", "fetch", "mitdb", "--version", "9.9.9", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "error: " in err and "9.9.9" in err and "Traceback" not in err


def test_data_fetch_kaggle_explains_how_to_get_the_files(tmp_path, capsys):
    from ecgbench.cli import main

    assert main(["data", "fetch", "kaggle-heartbeat", "--data-dir", str(tmp_path)]) == 0
    assert "kaggle datasets download -d shayanfazeli/heartbeat" in capsys.readouterr().out


@pytest.mark.parametrize(
    "misbehave, words",
    [
        (lambda s: s.trickle_s.update({"SHA256SUMS.txt": 0.05}), ["SHA256SUMS.txt", "not complete within"]),
        (lambda s: s.endless.add("100.dat"), ["100.dat", "more than a record file may have"]),
    ],
    ids=["trickle", "endless"],
)
def test_data_fetch_command_stops_a_misbehaving_server_in_one_line(
    server, tmp_path, small_limits, capsys, misbehave, words
):
    from ecgbench.cli import main

    misbehave(server)
    assert main(["data", "fetch", "mitdb", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    (line,) = [line for line in err.splitlines() if line.startswith("error: ")]
    assert "Traceback" not in err and all(word in line for word in words), err


def test_the_default_data_folder_and_the_beat_cache_share_one_user_cache_folder(tmp_path, monkeypatch):
    from ecgbench.data import resolve_data_dir
    from ecgbench.data.beat_cache import beat_cache_dir

    monkeypatch.delenv("ECGBENCH_DATA", raising=False)
    monkeypatch.delenv("ECGBENCH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_dir() == tmp_path / "xdg" / "ecgbench"
    assert beat_cache_dir() == resolve_data_dir() / "beats"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_dir() == tmp_path / "home" / ".cache" / "ecgbench"
    assert beat_cache_dir() == tmp_path / "home" / ".cache" / "ecgbench" / "beats"
