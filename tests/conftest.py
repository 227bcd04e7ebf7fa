"""Shared test fixtures. The real MIT-BIH records are read through $ECGBENCH_DATA (CI points it at ../shared/data);
tests that need them skip, with the reason, where they are absent. ``databases`` writes two small WFDB databases
of its own (128 Hz and 250 Hz), for the tests of the WFDB rebuild, the cross-database dataset and the export."""

import logging
from pathlib import Path

import numpy as np
import pytest

from ecgbench.data import AAMI_CLASSES, resolve_data_dir
from ecgbench.data import wfdb_dataset as wd
from ecgbench.tuning.folder import STUDY_KIND

# Tests that ask for one of these fixtures read the real MIT-BIH / nstdb records: marked slow (the fast lane,
# `pytest -m "not slow"`, leaves them out). Whole modules that train models or start runs mark themselves.
REAL_DATA_FIXTURES = {"mitdb_dir", "nst_data", "real_data"}  # and every fixture that uses one


def pytest_collection_modifyitems(items):
    for item in items:
        if REAL_DATA_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def find_mitdb() -> Path | None:
    import os

    if not os.environ.get("ECGBENCH_DATA"):
        return None
    folder = resolve_data_dir() / "mitdb"
    return folder if (folder / "SHA256SUMS.txt").is_file() and (folder / "100.dat").is_file() else None


@pytest.fixture(scope="session")
def mitdb_dir() -> Path:
    folder = find_mitdb()
    if folder is None:
        pytest.skip(
            "MIT-BIH records not found: set ECGBENCH_DATA to a folder holding mitdb/ "
            "(CI uses ../shared/data; or run `python -m ecgbench data fetch mitdb`)"
        )
    return folder


@pytest.fixture(scope="module")
def module_cache(tmp_path_factory):
    """One cache folder per test module (its records' beats are then built once, under beats/)."""
    with pytest.MonkeyPatch.context() as patch:
        cache = tmp_path_factory.mktemp("module-beat-cache")
        patch.setenv("ECGBENCH_CACHE", str(cache))
        yield cache


@pytest.fixture
def wfdb():
    return pytest.importorskip("wfdb")


@pytest.fixture
def tmp_cache(tmp_path, monkeypatch):
    cache = tmp_path / "beat-cache"
    monkeypatch.setenv("ECGBENCH_CACHE", str(cache))
    return cache


class LogLines(logging.Handler):
    """Collects the "ecgbench" logger's messages, DEBUG included, whatever level the test left on the root logger."""

    def __init__(self, level=logging.DEBUG):
        super().__init__(level)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(record.getMessage())


@pytest.fixture(autouse=True)
def _no_terminal_handler_left():
    """main() puts its handler on the root logger, bound to the stderr of the test that called it; later tests
    must not write into that closed stream."""
    yield
    from ecgbench.core.progress import TerminalHandler

    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, TerminalHandler)]:
        root.removeHandler(handler)


@pytest.fixture
def log_lines():
    logger = logging.getLogger("ecgbench")
    handler, old_level = LogLines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.fixture
def rebuilds(monkeypatch):
    """Records rebuilt from their files (not taken from the cache) during a test."""
    calls: list[str] = []
    rebuild = wd.rebuild_record

    def counting_rebuild(folder, record, *args, **kwargs):
        calls.append(record)
        return rebuild(folder, record, *args, **kwargs)

    monkeypatch.setattr(wd, "rebuild_record", counting_rebuild)
    return calls


def _ecg(fs: float, beats: list[tuple[float, str]], duration_s: float) -> np.ndarray:
    """A lead with a narrow spike per N beat and a wide one followed by a deep T wave per V beat."""
    t = np.arange(int(duration_s * fs)) / fs
    signal = 0.05 * np.sin(2 * np.pi * 0.3 * t)  # baseline wander
    for at, symbol in beats:
        if symbol == "V":
            signal += 1.5 * np.exp(-0.5 * ((t - at) / 0.04) ** 2) - 0.8 * np.exp(-0.5 * ((t - at - 0.2) / 0.06) ** 2)
        else:
            signal += np.exp(-0.5 * ((t - at) / 0.012) ** 2) + 0.2 * np.exp(-0.5 * ((t - at - 0.25) / 0.04) ** 2)
    return signal


def _write_record(wfdb, folder: Path, name: str, fs: int, seed: int, ecg_lead: int = 0, lead_names=("ECG1", "ECG2")):
    """A 30 s record: N beats with every fifth one V, annotated, plus non-beat annotations; returns its beats."""
    rng = np.random.default_rng(seed)
    duration = 30.0
    times = 0.4 + np.cumsum(rng.uniform(0.7, 0.9, 40))
    times = times[times < duration - 0.3]
    beats = [(at, "V" if i % 5 == 4 else "N") for i, at in enumerate(times)]
    leads = np.column_stack([rng.normal(0, 0.02, int(duration * fs)) for _ in lead_names])
    leads[:, ecg_lead] += _ecg(fs, beats, duration)
    wfdb.wrsamp(
        name,
        fs=fs,
        units=["mV"] * len(lead_names),
        sig_name=list(lead_names),
        p_signal=leads,
        fmt=["16"] * len(lead_names),
        write_dir=str(folder),
    )
    samples = [int(round(at * fs)) for at, _ in beats]
    extra = [(5, "+"), (int(10.1 * fs), "~"), (int(20.05 * fs), "x")]  # rhythm, noise, blocked P: not beats
    annotations = sorted([*zip(samples, [s for _, s in beats], strict=True), *extra])
    wfdb.wrann(
        name, "atr", np.array([a for a, _ in annotations]), symbol=[s for _, s in annotations], write_dir=str(folder)
    )
    return beats


@pytest.fixture
def databases(wfdb, tmp_path, tmp_cache):
    """``alpha``: two records at 128 Hz with a RECORDS file; ``beta``: two at 250 Hz, lead II second, none."""
    alpha, beta = tmp_path / "alpha", tmp_path / "beta"
    alpha.mkdir()
    beta.mkdir()
    truth = {
        ("alpha", "100"): _write_record(wfdb, alpha, "100", 128, seed=0),
        ("alpha", "101"): _write_record(wfdb, alpha, "101", 128, seed=1),
        ("beta", "b1"): _write_record(wfdb, beta, "b1", 250, seed=2, ecg_lead=1, lead_names=("V1", "II")),
        ("beta", "b2"): _write_record(wfdb, beta, "b2", 250, seed=3, ecg_lead=1, lead_names=("V1", "II")),
    }
    (alpha / "RECORDS").write_text("100\n101\n")
    return tmp_path, truth


def beat_labels(beats) -> list[int]:
    return [AAMI_CLASSES.index(symbol) for _, symbol in beats]


def write_plugin(
    folder: Path, module: str, source: str, entry_points: str, version: str = "0.1", group: str = "ecgbench.models"
) -> Path:
    """An installed-package layout, as pip would write it: ``module``.py and its .dist-info with the entry points
    (``name = module:Class`` lines of ``group``). Put ``folder`` on PYTHONPATH to install it."""
    (folder / f"{module}.py").write_text(source)
    info = folder / f"{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{entry_points}\n")
    return folder


def committed_run_manifests() -> list[Path]:
    """The manifests of the runs committed under results/ (a tuning study is no run): what git tracks, so that a
    developer's scratch runs there (git-ignored) are not taken for committed ones; every manifest found where the
    tree is no git checkout."""
    import json
    import subprocess

    repo = Path(__file__).resolve().parent.parent
    listed = subprocess.run(
        ["git", "-C", str(repo), "ls-files", "-z", "--", ":(glob)results/*/manifest.json"],
        capture_output=True,
        text=True,
    )
    if listed.returncode == 0:
        paths = [repo / name for name in listed.stdout.split("\0") if name]
    else:
        paths = list((repo / "results").glob("*/manifest.json"))
    return sorted(p for p in paths if json.loads(p.read_text()).get("kind") != STUDY_KIND)
