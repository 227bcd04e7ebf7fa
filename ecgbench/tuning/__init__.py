"""``python -m ecgbench tune SUITE``: an equal hyperparameter budget per model family, on the development set only.

Every family (model) of the suite gets the same number of trials and the same time budget. A trial draws the
family's searched parameters (``Param(search=...)`` / ``Param(search_choices=...)`` beside each model's parameter
schema; the suite's ``[model_params]`` fix the rest) from Optuna's TPE sampler, and is scored by cross-validation
by whole records over the development set (:mod:`ecgbench.tuning.development`: the dataset's training part; the
test part is never used and, for the MIT-BIH tracks, never read). The objective (docs/decisions.md#tune-objective):
the mean of the S and V F1 scores over the pooled beats of the held-back folds (macro-F1 where the development set
has neither S nor V beats). After each fold the mean of the fold scores so far is reported, and a median pruner
stops trials that do badly after their first folds.

The study folder ``results/<study-id>/`` holds the manifest, the Optuna journal (``journal.log``, the sampler's
state, shared by worker processes), one JSON record per trial (``trials/<family>/NNNN.json``: the stored truth),
the cache of :mod:`ecgbench.tuning.cache` and the report (:mod:`ecgbench.tuning.report`). Rerunning the command
resumes: finished trials are kept, a trial interrupted mid-way is run again with the same parameters.

On a cluster (docs/tuning.md#on-a-cluster-a-job-array): ``tune SUITE --plan-only`` writes the study folder and
stops; ``tune-worker STUDY_DIR`` processes, started anywhere that sees the folder, run its trials until every
budget is used; rerunning ``tune SUITE`` then writes the report. Every process running trials holds a shared
flock on ``workers.lock``, so that ``tune`` can tell, before it marks the journal's running trials interrupted,
that no process still runs them.

The modules, in the order a study uses them: :mod:`~ecgbench.tuning.space` (what is searched),
:mod:`~ecgbench.tuning.objective` (what is maximised), :mod:`~ecgbench.tuning.development` (the development set and
its folds), :mod:`~ecgbench.tuning.folder` (the study folder and its locks), :mod:`~ecgbench.tuning.cache` (work
shared by trials), :mod:`~ecgbench.tuning.trials` (one trial, fold by fold), :mod:`~ecgbench.tuning.study` (a study
from manifest to report), :mod:`~ecgbench.tuning.report`, :mod:`~ecgbench.tuning.command` (``tune``,
``tune-worker``) and :mod:`~ecgbench.tuning.docs` (the spaces in docs/tuning.md).
"""
