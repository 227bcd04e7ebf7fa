"""Every value a suite file or the command line sets is checked against its schema before any data loads."""

import pytest

from ecgbench.cli import main
from ecgbench.core.params import Param
from ecgbench.data import dataset_names, dataset_spec
from ecgbench.models import model_class, model_names

HEAD = "datasets = ['synthetic']\nmodels = ['cnn']\n"

# (category, suite file body (bytes: written as is), words the one-line error must hold)
BAD_SUITES = [
    (
        "wrong type",
        HEAD + "[model_params.cnn]\nbatch_size = 'many'\n",
        ['[model_params.cnn] batch_size = "many": must be an integer >= 1'],
    ),
    (
        "below range",
        HEAD + "[model_params.cnn]\nepochs = -5\n",
        ["[model_params.cnn] epochs = -5: must be an integer >= 1"],
    ),
    (
        "above range",
        "datasets = ['synthetic']\nmodels = ['tsfresh-xgboost']\n[model_params.tsfresh-xgboost]\nsubsample = 1.5\n",
        ["subsample = 1.5: must be a number > 0 and <= 1"],
    ),
    ("float for int", HEAD + "[model_params.cnn]\nepochs = 3.0\n", ["epochs = 3.0: must be an integer >= 1"]),
    ("bool for int", HEAD + "[model_params.cnn]\npatience = true\n", ["patience = true: must be an integer >= 0"]),
    (
        "non-list",
        "datasets = ['synthetic']\nmodels = ['tsfresh-xgboost']\n[model_params.tsfresh-xgboost]\nprior_weights = 2\n",
        ["prior_weights = 2: must be a list, each a number > 0"],
    ),
    ("unknown choice", HEAD + "[split]\nprotocol = 'random'\n", ['[split] protocol = "random": must be one of "auto"']),
    ("split out of range", HEAD + "[split]\ntest_size = 1\n", ["[split] test_size = 1: must be a number > 0 and < 1"]),
    ("too few folds", HEAD + "[split]\nn_folds = 1\n", ["[split] n_folds = 1: must be an integer >= 2"]),
    (
        "negative max_train_beats",
        HEAD + "[split]\nmax_train_beats = -5\n",
        ["max_train_beats = -5: must be an integer >= 0"],
    ),
    ("split not a table", HEAD + "split = 'holdout'\n", ['split = "holdout": must be a table']),
    ("model_params not a table", HEAD + "model_params = 5\n", ["model_params = 5: must be a table of tables"]),
    ("max_beats not an integer", HEAD + "max_beats = 'lots'\n", ['max_beats = "lots": must be a positive integer']),
    (
        "dataset below range",
        HEAD + "[dataset_params.synthetic]\nn_beats = 3\n",
        ["[dataset_params.synthetic] n_beats = 3: must be an integer >= 100"],
    ),
    (
        "dataset unknown group",
        "datasets = ['mitdb-inter']\nmodels = ['cnn']\n[dataset_params.mitdb-inter]\ncontext = ['rr', 'nope']\n",
        ['context = ["rr", "nope"]: must be a list', "neighbours"],
    ),
    (
        "dataset bool",
        "datasets = ['mitdb-intra']\nmodels = ['cnn']\n[dataset_params.mitdb-intra]\ndrop_last_beat = 1\n",
        ["drop_last_beat = 1: must be true or false"],
    ),
    ("names not strings", "datasets = [1]\nmodels = ['cnn']\n", ["datasets = [1]: must be a non-empty list of names"]),
    ("negative seed", HEAD + "seeds = [0, -1]\n", ["seeds = [0, -1]: every seed must be an integer >= 0 (not -1)"]),
    ("negative model seed", HEAD + "[model_seeds]\ncnn = [-2]\n", ["[model_seeds] cnn = [-2]: every seed must be"]),
    ("cluster cores", HEAD + "[cluster]\ncores = 'lots'\n", ['[cluster] cores = "lots": must be an integer >= 1']),
    ("non-UTF-8 suite", b"datasets = ['synth\xe9tic']\n", ["is not UTF-8 text"]),
    ("directory as suite", None, ["is a directory, not a TOML file"]),
]


@pytest.mark.parametrize(("category", "body", "words"), BAD_SUITES, ids=[row[0] for row in BAD_SUITES])
def test_a_bad_value_is_refused_in_one_line_naming_the_file_the_key_and_what_is_allowed(
    category, body, words, tmp_path, capsys
):
    path = tmp_path / "suite.toml"
    if body is None:
        path.mkdir()
    elif isinstance(body, bytes):
        path.write_bytes(body)
    else:
        path.write_text(body)
    results = tmp_path / "results"
    assert main(["run", "--suite", str(path), "--results-dir", str(results), "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert f"suite file {path}" in err
    for word in words:
        assert word in err, err
    assert not results.exists()  # nothing written


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--seeds", "0", "-1"], "--seeds = [0, -1]: every seed must be an integer >= 0"),
        (["--threads", "0"], "--threads must be at least 1"),
    ],
)
def test_bad_command_line_numbers_are_refused(args, words, tmp_path, capsys):
    results = tmp_path / "results"
    code = main(["run", "--model", "cnn", "--dataset", "synthetic", *args, "--results-dir", str(results)])
    err = capsys.readouterr().err
    assert code == 2 and words in err and "Traceback" not in err
    assert not results.exists()


@pytest.mark.parametrize("name", model_names())
def test_every_model_parameter_has_a_schema_that_its_default_and_quick_values_pass(name):
    cls = model_class(name)
    if not cls.__module__.startswith("ecgbench."):
        pytest.skip("a plugin: its parameters are checked by the type of their default")
    assert set(cls.param_schema) == set(cls.default_params)
    for param, value in {**cls.default_params, **cls.quick_params}.items():
        assert cls.param_schema[param].problem(value) is None, (param, value)
    cls.check_params({**cls.default_params, **cls.quick_params})


@pytest.mark.parametrize("name", dataset_names())
def test_every_dataset_parameter_has_a_schema_that_its_default_passes(name):
    spec = dataset_spec(name)
    for param, schema in spec.params.items():
        assert schema.problem(schema.default) is None, (param, schema.default)
    spec.check_params({param: schema.default for param, schema in spec.params.items()})


def test_an_undeclared_plugin_parameter_is_checked_by_the_type_of_its_default():
    from tests.centroid_plugin import NearestCentroid

    assert NearestCentroid.param_schema == {}
    NearestCentroid.check_params({"temperature": 1})  # an int where the default is a float
    with pytest.raises(Exception, match='temperature = "hot": must be a number'):
        NearestCentroid.check_params({"temperature": "hot"})


@pytest.mark.parametrize(
    ("param", "good", "bad"),
    [
        (Param(3, low=1), [1, 10**9], [0, 3.0, True, "3", None]),
        (Param(0.5, above=0, high=1), [1, 0.1, 1.0], [0, 1.01, float("nan"), float("inf"), False]),
        (Param(True), [True, False], [0, 1, "true"]),
        (Param("a", choices=("a", "b")), ["b"], ["c", 1]),
        (
            Param(None, kind="list", optional=True, items=Param(kind="float", above=0)),
            [None, [], [1, 2.5]],
            [2, [0], [True], "1"],
        ),
    ],
)
def test_param_kinds_and_bounds(param, good, bad):
    assert all(param.problem(v) is None for v in good)
    assert all(param.problem(v) for v in bad)
