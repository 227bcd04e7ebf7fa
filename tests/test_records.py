"""Tests of ecgbench/data/records.py: the AAMI map, the lead choice and the record listing."""

from __future__ import annotations

from ecgbench.data import AAMI_CLASSES
from ecgbench.data import records as rec

N, S, V, F, Q = range(5)


def test_aami_mapping_is_pinned():
    assert rec.AAMI_MAP == {
        "N": ("N", "L", "R", "e", "j"),
        "S": ("A", "a", "J", "S"),
        "V": ("V", "E"),
        "F": ("F",),
        "Q": ("/", "f", "Q"),
    }
    assert tuple(rec.AAMI_MAP) == AAMI_CLASSES


def test_non_beat_annotations_get_no_class():
    labels = rec.aami_labels(["N", "+", "A", "~", "V", "!", "x", "|", '"', "F", "f", "/", "Q", "[", "]", "B"])
    assert labels.tolist() == [N, -1, S, -1, V, -1, -1, -1, -1, F, Q, Q, Q, -1, -1, -1]


def test_lead_choice_prefers_mlii_then_lead_ii_then_the_first():
    assert rec.choose_lead(["V5", "MLII"]) == 1
    assert rec.choose_lead(["I", "II", "III"]) == 1
    assert rec.choose_lead(["ECG1", "ECG2"]) == 0


def test_records_come_from_the_records_file_else_the_headers(databases):
    root, _ = databases
    assert rec.list_records(root / "alpha") == ["100", "101"]
    assert rec.list_records(root / "beta") == ["b1", "b2"]
