"""How a dataset's test beats relate to its training beats: the evaluation protocol, as data.

Every registered dataset declares one; reports label optimistic numbers by it and the leaderboard sorts runs into
its sections by it, so no protocol is ever matched by the wording of a description.
"""

from __future__ import annotations

from enum import StrEnum

# How a dataset's beats are split into training and test parts (ecgbench.run.splits says what each does)
SPLIT_PROTOCOLS = ("auto", "predefined", "holdout", "kfold", "group-kfold")


class Evaluation(StrEnum):
    INTRA_PATIENT = "intra-patient"  # beats of the same patients on both sides (random beat split): optimistic
    INTER_PATIENT = "inter-patient"  # disjoint patients of one database (de Chazal DS1 -> DS2)
    CROSS_DATABASE = "cross-database"  # train on one database, test on another
    RECORD_CV = "record-cv"  # cross-validation by whole records (group-kfold): for choosing settings
    NOISE_STRESS = "noise-stress"  # inter-patient, the test beats also cut from noisy signals (nstdb noise)

    @property
    def title(self) -> str:
        titles = {
            Evaluation.RECORD_CV: "cross-validation by record",
            Evaluation.NOISE_STRESS: "noise stress (inter-patient, noisy test signals)",
        }
        return titles.get(self, self.value)

    @property
    def optimistic(self) -> bool:
        return self is Evaluation.INTRA_PATIENT


def evaluation_of(dataset_evaluation: str, split_protocol: str) -> Evaluation:
    """A run's evaluation: the dataset's own, except that splitting by whole records makes any dataset record-CV."""
    if split_protocol == "group-kfold":
        return Evaluation.RECORD_CV
    return Evaluation(dataset_evaluation)
