"""No record on both sides of a split: the one check every dataset that puts record sets together runs.

Records are identified by what they are, not by what they are called: the sha256 of their signal files (the
recording itself, whatever the record or database is named) and the real path of their files (a database folder
that is a symbolic link to another is the other). So a test database that links to the training one, a copy of a
record under another name or in another folder, and a record list that names a training record again are all
refused, naming the records. Record names themselves are checked where they are read
(:func:`ecgbench.data.records.check_record_names`: inside their database folder, each listed once).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ecgbench.core.errors import EcgbenchError


@dataclass(frozen=True)
class RecordIdentity:
    """One record as it was read: its database folder and name, and the sha256 of its signal files (of its
    header where it has none)."""

    folder: Path
    record: str
    signals: tuple[str, ...]

    @property
    def label(self) -> str:
        return f"{self.folder.name}/{self.record}"

    def real_path(self) -> str:
        return os.path.realpath(self.folder / f"{self.record}.hea")


def identities(folder: Path, signals: dict[str, list[str]]) -> list[RecordIdentity]:
    """The identities of the records of one database read (``{record: [signal sha256, ...]}``, as
    :func:`ecgbench.data.wfdb_dataset.read_records` gives them)."""
    return [RecordIdentity(Path(folder), record, tuple(digests)) for record, digests in signals.items()]


def dataset_identities(folder: Path, dataset, records=None) -> list[RecordIdentity]:
    """The identities of ``records`` (default: all) of a dataset loaded by
    :func:`ecgbench.data.wfdb_dataset.load_wfdb_database` from ``folder`` (its provenance holds them)."""
    signals = dataset.provenance["record_signals_sha256"]
    return identities(folder, {r: signals[r] for r in (signals if records is None else records)})


def shared(
    first: list[RecordIdentity], second: list[RecordIdentity]
) -> list[tuple[RecordIdentity, RecordIdentity, str]]:
    """Every pair (a of ``first``, b of ``second``) that is one recording, and why: the same files, or files with
    the same content."""
    by_digest: dict[str, RecordIdentity] = {}
    by_path: dict[str, RecordIdentity] = {}
    for a in first:
        by_path.setdefault(a.real_path(), a)
        for digest in a.signals:
            by_digest.setdefault(digest, a)
    pairs = []
    for b in second:
        path = b.real_path()
        if path in by_path:
            pairs.append((by_path[path], b, f"the same files ({path})"))
            continue
        digest = next((d for d in b.signals if d in by_digest), None)
        if digest is not None:
            pairs.append((by_digest[digest], b, f"identical signal files (sha256 {digest[:12]}...)"))
    return pairs


def refuse_shared_records(
    dataset: str,
    train: list[RecordIdentity],
    test: list[RecordIdentity],
    fix: str = "give the two sides disjoint records",
) -> None:
    """Refuse a dataset whose train and test sides hold one recording (by name, path or content), naming every
    such pair (the first five)."""
    pairs = shared(train, test)
    if pairs:
        shown = "; ".join(f"{a.label} (train) and {b.label} (test): {why}" for a, b, why in pairs[:5])
        more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
        raise EcgbenchError(
            f"{dataset}: the train and test sides share {len(pairs)} record(s), so the same beats "
            f"would be trained and tested on: {shown}{more}; {fix}"
        )


def refuse_duplicates(records: list[RecordIdentity], where: str) -> None:
    """Refuse one recording read twice under two names within one record set (it would cross any split by
    record: folds, the validation part)."""
    by_path: dict[str, RecordIdentity] = {}
    by_digest: dict[str, RecordIdentity] = {}
    for b in records:
        path = b.real_path()
        first, why = by_path.get(path), f"the same files ({path})"
        digest = next((d for d in b.signals if d in by_digest), None)
        if first is None and digest is not None:
            first, why = by_digest[digest], f"identical signal files (sha256 {digest[:12]}...)"
        if first is not None:
            raise EcgbenchError(
                f"{where}: records {first.record} and {b.record} are one recording ({why}), so a "
                "split by record would put the same beats on both sides; remove one of them"
            )
        by_path[path] = b
        by_digest.update((d, b) for d in b.signals)
