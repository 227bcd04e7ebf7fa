"""Shared test fixtures. The real MIT-BIH records are read through $ECGBENCH_DATA (CI points it at ../shared/data);
tests that need them skip, with the reason, where they are absent."""

from pathlib import Path

import pytest

from ecgbench.data import resolve_data_dir


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
        pytest.skip("MIT-BIH records not found: set ECGBENCH_DATA to a folder holding mitdb/ "
                    "(CI uses ../shared/data; or run `python -m ecgbench data fetch mitdb`)")
    return folder
