"""A study folder ``results/<study-id>/``: its manifest, the Optuna journal, one record per trial, and the
locks that let several processes share it."""

from __future__ import annotations

import contextlib
import fcntl
from dataclasses import dataclass
from pathlib import Path

from ecgbench.core.errors import EcgbenchError

SCHEMA_VERSION = 1
STUDY_KIND = "tuning study"  # the manifest's "kind", which tells a study folder from a run folder
WORKERS_LOCK = "workers.lock"  # shared by every process running trials (results/*/*.lock stays out of git)


@dataclass
class StudyFolder:
    root: Path

    @property
    def manifest_path(self) -> Path:
        return self.root / "manifest.json"

    @property
    def journal_path(self) -> Path:
        return self.root / "journal.log"

    def trials_dir(self, family: str) -> Path:
        return self.root / "trials" / family

    def record_path(self, family: str, number: int) -> Path:
        return self.trials_dir(family) / f"{number:04d}.json"

    def records(self, family: str) -> dict[int, dict]:
        from ecgbench.run.store import read_json

        out = {}
        for path in sorted(self.trials_dir(family).glob("[0-9][0-9][0-9][0-9].json")):
            out[int(path.stem)] = read_json(path)
        return out

    def read_manifest(self) -> dict:
        from ecgbench.run.store import read_json

        return read_json(self.manifest_path)

    @contextlib.contextmanager
    def flock(self, name: str, operation: int):
        """An flock on the file ``name`` of the folder, held until the block ends (released, too, by the kernel
        when the process dies, however it dies)."""
        self.root.mkdir(parents=True, exist_ok=True)
        # "a+", readable too: over NFS a shared flock is a POSIX read lock, which needs a file open for reading
        with open(self.root / name, "a+") as fh:
            fcntl.flock(fh, operation)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def ask_lock(self):
        """Serialises counting and asking between the processes of one study."""
        return self.flock("ask.lock", fcntl.LOCK_EX)

    def running_trials(self):
        """Held (shared) by every process for as long as it runs trials of the study: tune, its pool's workers,
        tune-worker processes on other machines."""
        return self.flock(WORKERS_LOCK, fcntl.LOCK_SH)

    @contextlib.contextmanager
    def without_workers(self):
        """Held (exclusive) while the journal's running trials are taken for interrupted ones (:func:`recover`):
        that is only true while no process runs trials, so a study with one is refused, not waited for."""
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(self.flock(WORKERS_LOCK, fcntl.LOCK_EX | fcntl.LOCK_NB))
            except BlockingIOError:
                raise EcgbenchError(
                    f"{self.root}: the study has worker processes running trials (they hold "
                    f"{self.root / WORKERS_LOCK}); wait for them or stop them, then rerun"
                ) from None
            yield


def existing_study(root: Path) -> tuple[StudyFolder, dict]:
    """The study folder ``root`` and its manifest; anything else (a run folder, an empty one) is refused."""
    folder = StudyFolder(root)
    if not folder.manifest_path.exists():
        raise EcgbenchError(
            f"{root} is not a tuning study folder (no manifest.json in it); plan one with "
            "`python -m ecgbench tune SUITE --plan-only`"
        )
    manifest = folder.read_manifest()
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind != STUDY_KIND:
        raise EcgbenchError(
            f"{root} is not a tuning study folder (its manifest.json is of kind {kind!r}, not {STUDY_KIND!r}); "
            "plan one with `python -m ecgbench tune SUITE --plan-only`"
        )
    return folder, manifest


def storage(folder: StudyFolder):
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(str(folder.journal_path)))
