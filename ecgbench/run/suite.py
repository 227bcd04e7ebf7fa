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

A suite file may extend another one, to run the same settings on another dataset, say::

    extends = "mitdb-inter.toml"   # the path of the parent file, relative to this file
    datasets = ["mitdb-noise"]
    [model_seeds]
    cnn = [0]                      # back to the common seeds

The file's values are merged over its parent's (itself resolved first, so a chain works): tables merge key by key
at every depth (``[model_params.rocket] alpha`` replaces the parent's alpha and keeps its other parameters); any
other value, a list included, replaces the parent's whole (``models = [...]`` is the child's list). The
description is the file's own, never inherited. The parent's [model_params.NAME], [model_seeds] NAME and
[dataset_params.NAME] for a model or dataset the resolved suite does not run are dropped. A [model_seeds] entry
equal to ``seeds`` is dropped too (it changes no cell), so a child gives a model back the common seeds by naming
them. A missing parent file and a cycle of files are refused in one line naming the file. The fingerprint is that
of the resolved suite: moving settings into a parent file leaves it, and the runs made with it, as they were.
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
    "extends",
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
    """Read a suite file (and the files it extends) and check every value in it against its schema before anything
    is loaded."""
    path = Path(path)
    raw, parents = resolved_table(path)
    where = f"suite file {path}" + "".join(f" (extends {parent})" for parent in parents)
    return suite_from_table(raw, where)


def read_table(path: Path) -> dict:
    """The TOML table of one suite file, refused in one line naming the file when it cannot be read."""
    from ecgbench.core.io import regular_file

    path = regular_file(path, "suite file")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
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


def resolved_table(path: Path, children: tuple[Path, ...] = ()) -> tuple[dict, list[Path]]:
    """The suite file's table merged over the tables of the files it extends, and those files (nearest first)."""
    own = read_table(path)
    parent = own.pop("extends", None)
    own.setdefault("description", "")  # a description says what its own file is for: it is not inherited
    if parent is None:
        return own, []
    if not isinstance(parent, str):
        raise EcgbenchError(f"suite file {path}: extends = {show(parent)}: must be the path of a suite file (a string)")
    parent_path = path.parent / parent
    chain = (*children, path)
    if parent_path.resolve() in {p.resolve() for p in chain}:
        loop = " -> ".join(str(p) for p in (*chain, parent_path))
        raise EcgbenchError(f"suite file {path}: extends = {parent!r} closes a cycle ({loop})")
    if not parent_path.exists():
        raise EcgbenchError(f"suite file {path}: extends = {parent!r}, but {parent_path} does not exist")
    inherited, grandparents = resolved_table(parent_path, chain)
    return merged_suite(inherited, own), [parent_path, *grandparents]


def merged_suite(parent: dict, child: dict) -> dict:
    """``child`` over ``parent``: tables merge key by key (at every depth), any other value (a list, a string, a
    number) replaces the parent's. The parent's [model_params.NAME], [model_seeds] NAME and [dataset_params.NAME]
    for a model or dataset the merged suite does not run are dropped, so that a child may run fewer models or
    another dataset."""
    suite = merged_tables(parent, child)
    for section, names in (("model_params", "models"), ("model_seeds", "models"), ("dataset_params", "datasets")):
        table, run, own = suite.get(section), suite.get(names), child.get(section)
        if isinstance(table, dict) and isinstance(run, list):
            kept = set(run) | set(own if isinstance(own, dict) else ())
            suite[section] = {name: value for name, value in table.items() if name in kept}
    return suite


def merged_tables(parent: dict, child: dict) -> dict:
    merged = dict(parent)
    for key, value in child.items():
        both_tables = isinstance(value, dict) and isinstance(parent.get(key), dict)
        merged[key] = merged_tables(parent[key], value) if both_tables else value
    return merged


def suite_from_table(raw: dict, where: str) -> Suite:
    """The suite of a (resolved) suite file's table; ``where`` names the file in every refusal."""
    unknown = sorted(set(raw) - SUITE_KEYS)
    if unknown:
        raise EcgbenchError(
            f"{where}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(sorted(SUITE_KEYS))}"
        )
    check_top_level(raw, where)
    description = raw.get("description", "")
    split = {**SPLIT_DEFAULTS, **raw.get("split", {})}
    if set(split) - set(SPLIT_DEFAULTS):
        bad = ", ".join(sorted(set(split) - set(SPLIT_DEFAULTS)))
        raise EcgbenchError(f"{where}: unknown [split] key(s) {bad}; known: {', '.join(SPLIT_DEFAULTS)}")
    check_params(SPLIT_PARAMS, split, f"{where}: [split]")
    seeds = raw.get("seeds", [0])
    model_seeds = raw.get("model_seeds", {})
    for key, value in [("seeds", seeds), *((f"[model_seeds] {m}", v) for m, v in model_seeds.items())]:
        if not isinstance(value, list) or not value or not all(isinstance(s, int) for s in value):
            raise EcgbenchError(f"{where}: '{key}' must be a non-empty list of integers")
        check_seeds(value, f"{where}: {key}")
    # An entry equal to the suite's seeds changes no cell: dropped, so that it leaves the fingerprint alone and a
    # suite that extends another can give a model back the common seeds.
    model_seeds = {model: value for model, value in model_seeds.items() if value != seeds}
    check_named_params(raw, where)
    cluster = raw.get("cluster", {})
    if not isinstance(cluster, dict) or set(cluster) - CLUSTER_KEYS:
        bad = ", ".join(sorted(set(cluster) - CLUSTER_KEYS)) if isinstance(cluster, dict) else "(not a table)"
        raise EcgbenchError(f"{where}: unknown [cluster] key(s) {bad}; known: {', '.join(sorted(CLUSTER_KEYS))}")
    check_params(CLUSTER_PARAMS, cluster, f"{where}: [cluster]")
    check_cluster(cluster, f"{where}: ")
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
        model_class(name).check_params(suite.params_for_model(name))
    for section, names in (
        ("model_params", suite.models),
        ("model_seeds", suite.models),
        ("dataset_params", suite.datasets),
    ):
        extra = sorted(set(getattr(suite, section)) - set(names))
        if extra:
            raise EcgbenchError(f"[{section}] names {', '.join(extra)}, which the suite does not run")
