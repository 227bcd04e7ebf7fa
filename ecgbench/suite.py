"""What a run does: datasets, models, seeds, split protocol and parameter overrides, from the command line or from
a TOML suite file in ``benchmarks/``::

    description = "what the suite is for, in one sentence"   # optional; not part of the fingerprint
    datasets = ["synthetic"]
    models = ["cnn", "minirocket"]
    seeds = [0, 1, 2]

    [model_seeds]       # optional: other seeds for some models (e.g. more for the deep models)
    cnn = [0, 1, 2, 3, 4]

    [split]
    protocol = "auto"   # auto | predefined | holdout | kfold | group-kfold
    test_size = 0.2
    val_size = 0.1
    n_folds = 5
    seed = 0
    max_train_beats = 0 # > 0: a stratified subsample of each training part (validation and test stay whole)

    [dataset_params.synthetic]
    n_beats = 8000

    [model_params.cnn]
    max_epochs = 30

    [cluster]           # optional: batch jobs for `run --cluster` (docs/scaling.md); not part of the fingerprint
    system = "slurm"    # or pbs, sge, lsf, htcondor, oar, moab
    queue = "short"
    cores = 8           # per job; each job runs cores // --threads cells at a time
    memory = "32GB"     # per job
    walltime = "04:00:00"
    jobs = 4
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ecgbench.errors import EcgbenchError

PROTOCOLS = ("auto", "predefined", "holdout", "kfold", "group-kfold")  # ecgbench.splits says what each does
SPLIT_DEFAULTS = {"protocol": "auto", "test_size": 0.2, "val_size": 0.1, "n_folds": 5, "seed": 0, "max_train_beats": 0}
# --quick: a smoke-sized run, for trying the harness and for the tests. Numbers from it mean little.
QUICK_DATASET_PARAMS = {"synthetic": {"n_beats": 1500}}
QUICK_MAX_BEATS = 3000


@dataclass
class Suite:
    datasets: list[str]
    models: list[str]
    seeds: list[int] = field(default_factory=lambda: [0])
    split: dict = field(default_factory=lambda: dict(SPLIT_DEFAULTS))
    dataset_params: dict[str, dict] = field(default_factory=dict)
    model_params: dict[str, dict] = field(default_factory=dict)
    model_seeds: dict[str, list[int]] = field(default_factory=dict)
    quick: bool = False
    max_beats: int | None = None  # stratified subsample of every dataset (quick runs)
    description: str = ""  # what the suite is for; says nothing about what the cells compute
    cluster: dict = field(default_factory=dict)  # where the cells may run (batch jobs); not what they compute

    def to_dict(self) -> dict:
        return asdict(self)

    def fingerprint(self) -> str:
        """Identifies what the cells compute; a run directory only resumes a run with the same fingerprint.

        The description and the [cluster] table are left out: editing them changes no cell, so they must not stop
        a run from resuming (and the fingerprints of runs made before suites had them stay what they were).
        """
        computed = {k: v for k, v in self.to_dict().items() if k not in NOT_COMPUTED}
        return hashlib.sha256(json.dumps(computed, sort_keys=True).encode()).hexdigest()[:16]

    def params_for_model(self, name: str) -> dict:
        from ecgbench.models import model_class

        quick = model_class(name).quick_params if self.quick else {}
        return {**quick, **self.model_params.get(name, {})}

    def seeds_for(self, model: str) -> list[int]:
        return self.model_seeds.get(model, self.seeds)

    def params_for_dataset(self, name: str) -> dict:
        quick = QUICK_DATASET_PARAMS.get(name, {}) if self.quick else {}
        return {**quick, **self.dataset_params.get(name, {})}

    def make_quick(self) -> None:
        self.quick = True
        self.max_beats = self.max_beats or QUICK_MAX_BEATS


NOT_COMPUTED = ("description", "cluster")  # suite keys that say nothing about what the cells compute
CLUSTER_KEYS = {"system", "queue", "cores", "memory", "walltime", "jobs", "gpu", "account", "job_extra_directives"}
SUITE_KEYS = {"cluster", "description", "datasets", "models", "seeds", "model_seeds", "split", "dataset_params",
              "model_params", "max_beats"}


def load_suite(path: str | Path) -> Suite:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EcgbenchError(f"suite file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise EcgbenchError(f"suite file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - SUITE_KEYS)
    if unknown:
        raise EcgbenchError(f"suite file {path}: unknown key(s) {', '.join(unknown)}; "
                            f"known keys: {', '.join(sorted(SUITE_KEYS))}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise EcgbenchError(f"suite file {path}: 'description' must be a string")
    for key in ("datasets", "models"):
        if not isinstance(raw.get(key), list) or not raw[key]:
            raise EcgbenchError(f"suite file {path}: '{key}' must be a non-empty list of names")
    split = {**SPLIT_DEFAULTS, **raw.get("split", {})}
    if set(split) - set(SPLIT_DEFAULTS):
        bad = ", ".join(sorted(set(split) - set(SPLIT_DEFAULTS)))
        raise EcgbenchError(f"suite file {path}: unknown [split] key(s) {bad}; known: {', '.join(SPLIT_DEFAULTS)}")
    seeds = raw.get("seeds", [0])
    model_seeds = raw.get("model_seeds", {})
    for where, value in [("seeds", seeds), *((f"[model_seeds] {m}", v) for m, v in model_seeds.items())]:
        if not isinstance(value, list) or not value or not all(isinstance(s, int) for s in value):
            raise EcgbenchError(f"suite file {path}: '{where}' must be a non-empty list of integers")
    cluster = raw.get("cluster", {})
    if not isinstance(cluster, dict) or set(cluster) - CLUSTER_KEYS:
        bad = ", ".join(sorted(set(cluster) - CLUSTER_KEYS)) if isinstance(cluster, dict) else "(not a table)"
        raise EcgbenchError(f"suite file {path}: unknown [cluster] key(s) {bad}; "
                            f"known: {', '.join(sorted(CLUSTER_KEYS))}")
    return Suite(raw["datasets"], raw["models"], seeds, split, raw.get("dataset_params", {}),
                 raw.get("model_params", {}), model_seeds, max_beats=raw.get("max_beats"), description=description,
                 cluster=cluster)


def validate(suite: Suite, data_dir: Path) -> None:
    """Fail before any work starts: unknown names, missing data and unknown parameters are reported at once."""
    from ecgbench.data import require_available
    from ecgbench.models import model_class

    for name in suite.datasets:
        require_available(name, data_dir, **suite.params_for_dataset(name))
    for name in suite.models:
        model_class(name).check_param_names(suite.params_for_model(name))
    for section, names in (("model_params", suite.models), ("model_seeds", suite.models),
                           ("dataset_params", suite.datasets)):
        extra = sorted(set(getattr(suite, section)) - set(names))
        if extra:
            raise EcgbenchError(f"[{section}] names {', '.join(extra)}, which the suite does not run")
