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
    start_timeout = 1800  # seconds without a worker before the run stops (a job refused or queued too long)
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.evaluation import SPLIT_PROTOCOLS
from ecgbench.core.params import Param, check_params, show, split_schema

SPLIT_DEFAULTS, SPLIT_PARAMS = split_schema(
    {
        "protocol": Param("auto", choices=SPLIT_PROTOCOLS),
        "test_size": Param(0.2, above=0, below=1),
        "val_size": Param(0.1, above=0, below=1),
        "n_folds": Param(5, low=2),
        "seed": Param(0, low=0),
        "max_train_beats": Param(0, low=0),  # 0: every training beat
    }
)
SEED = Param(0, low=0)  # a model seed (numpy refuses negative ones)
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
CLUSTER_PARAMS = {  # the [cluster] table (ecgbench.run.executors.jobqueue reads it)
    "system": Param(kind="str"),
    "queue": Param(kind="str"),
    "cores": Param(kind="int", low=1),
    "memory": Param(kind="str"),
    "walltime": Param(kind="str"),
    "jobs": Param(kind="int", low=1),
    "gpu": Param(kind="bool"),
    "account": Param(kind="str"),
    "job_extra_directives": Param(kind="list", items=Param(kind="str")),
    "start_timeout": Param(kind="int", low=1),  # seconds to wait for the first worker (default 1800)
}
CLUSTER_KEYS = set(CLUSTER_PARAMS)
JOBQUEUE_SYSTEMS = ("slurm", "pbs", "sge", "lsf", "htcondor", "oar", "moab")
# The [cluster] strings go into a batch job script (as #SBATCH/#PBS lines and shell lines), so each may hold only
# what its kind of value needs: no whitespace where none belongs, no newline or other control character, no quote,
# $, ;, |, &, `, <, >, (, ), \, # or glob character, ever. What passes cannot start a shell command on the cluster.
_SAFE = r"A-Za-z0-9_.:,=@/+%-"
CLUSTER_PATTERNS = {  # key: (pattern of the whole value, what it must be)
    "queue": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@,-]{0,127}"),
        "a queue or partition name (letters, digits and . _ - @ , only)",
    ),
    "account": (
        re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,127}"),
        "an account or project name (letters, digits and . _ - @ only)",
    ),
    "walltime": (
        re.compile(r"([0-9]{1,3}-)?[0-9]{1,4}:[0-5][0-9](:[0-5][0-9])?"),
        'a time limit HH:MM:SS, e.g. "04:00:00" (D-HH:MM:SS for Slurm, HH:MM for LSF)',
    ),
    "memory": (
        re.compile(r"[0-9]{1,7}(\.[0-9]{1,3})?[KMGTP]i?B", re.IGNORECASE),
        'an amount of memory such as "16GB" or "500MB" (a number, then KB, MB, GB, TB or PB, no space)',
    ),
    "job_extra_directives": (
        re.compile(rf"--?[A-Za-z][A-Za-z0-9_-]*([= ][{_SAFE}]{{1,200}})?"),
        'an option of the batch system\'s own, such as "--constraint=avx2" or '
        '"-l select=1:ncpus=8" (letters, digits and _ . : , = @ / + % - after it only)',
    ),
}


def check_cluster(cluster: dict, where: str, names: dict[str, str] | None = None) -> None:
    """Refuse, by key, a [cluster] value that could be anything but what it is meant to be (see CLUSTER_PATTERNS).
    ``names``: what to call a key in the message (``--queue`` for a command line option); default ``[cluster] key``."""

    def refuse(key, value, what):
        name = (names or {}).get(key) or f"[cluster] {key}"
        raise EcgbenchError(f"{where}{name} = {show(value)}: must be {what}; it goes into the batch job script")

    if "system" in cluster and cluster["system"] not in JOBQUEUE_SYSTEMS:
        refuse("system", cluster["system"], f"one of {', '.join(JOBQUEUE_SYSTEMS)}")
    for key, (pattern, what) in CLUSTER_PATTERNS.items():
        values = cluster.get(key)
        for value in values if isinstance(values, list) else [] if values is None else [values]:
            if not isinstance(value, str) or not pattern.fullmatch(value):
                refuse(key, value, what)


SUITE_KEYS = {
    "cluster",
    "description",
    "datasets",
    "models",
    "seeds",
    "model_seeds",
    "split",
    "dataset_params",
    "model_params",
    "max_beats",
}


def load_suite(path: str | Path) -> Suite:
    """Read a suite file and check every value in it against its schema before anything is loaded."""
    from ecgbench.core.io import regular_file

    path = regular_file(path, "suite file")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EcgbenchError(f"suite file {path} does not exist") from None
    except IsADirectoryError:
        raise EcgbenchError(f"suite file {path} is a directory, not a TOML file") from None
    except UnicodeDecodeError as exc:
        raise EcgbenchError(f"suite file {path} is not UTF-8 text (byte {exc.start}): save it as UTF-8") from None
    except OSError as exc:
        raise EcgbenchError(f"suite file {path} cannot be read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise EcgbenchError(f"suite file {path} is not valid TOML: {exc}") from None
    unknown = sorted(set(raw) - SUITE_KEYS)
    if unknown:
        raise EcgbenchError(
            f"suite file {path}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(SUITE_KEYS))}"
        )
    check_top_level(raw, f"suite file {path}")
    description = raw.get("description", "")
    split = {**SPLIT_DEFAULTS, **raw.get("split", {})}
    if set(split) - set(SPLIT_DEFAULTS):
        bad = ", ".join(sorted(set(split) - set(SPLIT_DEFAULTS)))
        raise EcgbenchError(f"suite file {path}: unknown [split] key(s) {bad}; known: {', '.join(SPLIT_DEFAULTS)}")
    check_params(SPLIT_PARAMS, split, f"suite file {path}: [split]")
    seeds = raw.get("seeds", [0])
    model_seeds = raw.get("model_seeds", {})
    for where, value in [("seeds", seeds), *((f"[model_seeds] {m}", v) for m, v in model_seeds.items())]:
        if not isinstance(value, list) or not value or not all(isinstance(s, int) for s in value):
            raise EcgbenchError(f"suite file {path}: '{where}' must be a non-empty list of integers")
        check_seeds(value, f"suite file {path}: {where}")
    check_named_params(raw, f"suite file {path}")
    cluster = raw.get("cluster", {})
    if not isinstance(cluster, dict) or set(cluster) - CLUSTER_KEYS:
        bad = ", ".join(sorted(set(cluster) - CLUSTER_KEYS)) if isinstance(cluster, dict) else "(not a table)"
        raise EcgbenchError(
            f"suite file {path}: unknown [cluster] key(s) {bad}; known: {', '.join(sorted(CLUSTER_KEYS))}"
        )
    check_params(CLUSTER_PARAMS, cluster, f"suite file {path}: [cluster]")
    check_cluster(cluster, f"suite file {path}: ")
    return Suite(
        raw["datasets"],
        raw["models"],
        seeds,
        split,
        raw.get("dataset_params", {}),
        raw.get("model_params", {}),
        model_seeds,
        max_beats=raw.get("max_beats"),
        description=description,
        cluster=cluster,
    )


# The top-level keys of a suite file other than the ones checked on their own: (is it right?, what it must be).
TOP_LEVEL = {
    "description": (lambda v: isinstance(v, str), "a string"),
    "datasets": (
        lambda v: isinstance(v, list) and v and all(isinstance(n, str) for n in v),
        "a non-empty list of names",
    ),
    "models": (lambda v: isinstance(v, list) and v and all(isinstance(n, str) for n in v), "a non-empty list of names"),
    "max_beats": (lambda v: Param(kind="int", low=1).problem(v) is None, "a positive integer"),
    "split": (lambda v: isinstance(v, dict), "a table ([split] with protocol = ..., test_size = ...)"),
    "model_seeds": (lambda v: isinstance(v, dict), "a table of seed lists ([model_seeds] with cnn = [0, 1])"),
    "dataset_params": (
        lambda v: isinstance(v, dict) and all(isinstance(t, dict) for t in v.values()),
        "a table of tables ([dataset_params.NAME] with its parameters)",
    ),
    "model_params": (
        lambda v: isinstance(v, dict) and all(isinstance(t, dict) for t in v.values()),
        "a table of tables ([model_params.NAME] with its parameters)",
    ),
}


def check_top_level(raw: dict, where: str) -> None:
    for key, (fits, what) in TOP_LEVEL.items():
        if key in ("datasets", "models") and key not in raw:
            raise EcgbenchError(f"{where}: {key} is missing: it must be {what}")
        if key in raw and not fits(raw[key]):
            shown = "(a table)" if isinstance(raw[key], dict) else show(raw[key])
            raise EcgbenchError(f"{where}: {key} = {shown}: must be {what}")


def check_seeds(seeds: list, where: str) -> None:
    for seed in seeds:
        if SEED.problem(seed):
            raise EcgbenchError(f"{where} = {show(seeds)}: every seed must be {SEED.describe()} (not {show(seed)})")


def check_named_params(raw: dict, where: str) -> None:
    """The values of [model_params.NAME] and [dataset_params.NAME] for the models and datasets the suite names
    (other names, and unknown parameters, are reported by :func:`validate`)."""
    from ecgbench.data import DATASETS
    from ecgbench.models import MODELS

    for section, names, registry in (
        ("model_params", raw["models"], MODELS),
        ("dataset_params", raw["datasets"], DATASETS),
    ):
        for name, params in raw.get(section, {}).items():
            if name in names and name in registry.names():
                entry = registry.get(name)
                check_params(
                    entry.schema() if section == "model_params" else entry.params,
                    params,
                    f"{where}: [{section}.{name}]",
                )


def validate(suite: Suite, data_dir: Path) -> None:
    """Fail before any work starts: unknown names, missing data, unknown parameters and values outside their
    schema are reported at once."""
    from ecgbench.data import dataset_spec, require_available
    from ecgbench.models import model_class

    check_params(SPLIT_PARAMS, suite.split, "[split]")
    for model in suite.models:
        check_seeds(suite.seeds_for(model), f"seeds of {model}")
    for name in suite.datasets:
        dataset_spec(name).check_params(suite.params_for_dataset(name))
        require_available(name, data_dir, **suite.params_for_dataset(name))
    for name in suite.models:
        model_class(name).require_installed()
        model_class(name).check_params(suite.params_for_model(name))
    for section, names in (
        ("model_params", suite.models),
        ("model_seeds", suite.models),
        ("dataset_params", suite.datasets),
    ):
        extra = sorted(set(getattr(suite, section)) - set(names))
        if extra:
            raise EcgbenchError(f"[{section}] names {', '.join(extra)}, which the suite does not run")
