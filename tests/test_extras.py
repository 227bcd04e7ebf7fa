"""The heavy libraries are extras: a model or command whose library is missing is refused in one line naming the
extra to install, `list` still lists every model, and pyproject.toml's extras hold what ecgbench.core.extras says.
A missing library is simulated by setting its entry of sys.modules to None (its import then fails)."""

import re
import sys
import tomllib
from pathlib import Path

import pytest

from ecgbench.cli import main
from ecgbench.core.errors import EcgbenchError
from ecgbench.core.extras import EXTRAS
from ecgbench.models import build, model_class, model_names

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
DEEP_LINE = "model 'cnn' needs tensorflow, which is not installed: pip install 'ecgbench-suite[deep]'"


def missing(monkeypatch, *modules):
    for module in modules:
        monkeypatch.setitem(sys.modules, module, None)


def test_a_model_whose_library_is_missing_is_refused_in_one_line(monkeypatch, capsys, tmp_path):
    missing(monkeypatch, "tensorflow")
    with pytest.raises(EcgbenchError, match=re.escape(DEEP_LINE)):
        build("cnn", n_classes=5)
    args = ["run", "--model", "cnn", "--dataset", "synthetic", "--quick", "--results-dir", str(tmp_path)]
    assert main(args) == 2
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {DEEP_LINE}"]
    assert not any(tmp_path.iterdir())  # refused before a run folder was made


def test_list_lists_every_model_and_says_which_are_unavailable(monkeypatch, capsys):
    missing(monkeypatch, "sktime")
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    models = out.split("\ndatasets")[0]
    for name in model_names():
        assert f"  {name} " in models
    unavailable = re.findall(r"unavailable: model '([\w-]+)' needs (\w+), .*\[(\w+)\]'", models)
    assert sorted(unavailable) == [("minirocket", "sktime", "classical"), ("rocket", "sktime", "classical")]


def test_a_model_that_needs_nothing_missing_is_available(monkeypatch):
    missing(monkeypatch, "tensorflow", "optuna", "distributed")
    assert model_class("minirocket").unavailable() is None
    assert build("minirocket", n_classes=5).n_classes == 5


@pytest.mark.parametrize(
    ("args", "module", "extra"),
    [
        (["--workers", "2"], "distributed", "cluster"),
        (["--scheduler", "tcp://127.0.0.1:1"], "distributed", "cluster"),
    ],
)
def test_a_command_whose_library_is_missing_names_the_extra(args, module, extra, monkeypatch, capsys, tmp_path):
    missing(monkeypatch, module)
    run = ["run", "--model", "minirocket", "--dataset", "synthetic", "--quick", "--results-dir", str(tmp_path)]
    assert main([*run, *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()  # the run's opening line, then the refusal
    assert err[-1].startswith("error: --") and err[-1].endswith(
        f"needs {module}, which is not installed: pip install 'ecgbench-suite[{extra}]'"
    )
    assert sum("error" in line for line in err) == 1 and not any(tmp_path.iterdir())


def test_tune_without_optuna_names_the_tune_extra(monkeypatch, capsys, tmp_path):
    missing(monkeypatch, "optuna")
    suite = tmp_path / "suite.toml"
    suite.write_text("datasets = ['synthetic']\nmodels = ['minirocket']\n")
    assert main(["tune", str(suite), "--results-dir", str(tmp_path / "results")]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: ecgbench tune needs optuna, which is not installed: pip install 'ecgbench-suite[tune]'"
    )


def _distribution(requirement: str) -> str:
    return re.split(r"[<>=\[; ]", requirement, maxsplit=1)[0].lower().replace("-", "_")


def test_the_extras_of_pyproject_hold_every_soft_dependency_and_the_core_none():
    project = tomllib.loads(PYPROJECT.read_text())["project"]
    extras = project["optional-dependencies"]
    core = {_distribution(r) for r in project["dependencies"]}
    provides = {"distributed": "dask"}  # import name -> distribution, where they differ
    for module, extra in EXTRAS.items():
        distribution = provides.get(module, module)
        assert distribution in {_distribution(r) for r in extras[extra]}, (module, extra)
        assert distribution not in core, module
    assert "dask[distributed]" in " ".join(extras["cluster"])
    assert extras["all"] == [f"ecgbench-suite[{','.join(sorted(set(EXTRAS.values()), key=list(extras).index))}]"]


@pytest.mark.slow  # a process of its own: the plugin's registration must not leak into the other tests
def test_the_harness_runs_a_scikit_learn_model_with_none_of_the_extras(tmp_path):
    import subprocess
    import textwrap

    script = textwrap.dedent(
        f"""
        import sys
        for module in {sorted(EXTRAS) + ["numba"]!r}:
            sys.modules[module] = None  # not installed
        from ecgbench.cli import main
        from ecgbench.models import register
        from tests.centroid_plugin import NearestCentroid

        register("centroid")(NearestCentroid)
        sys.exit(main(["run", "--model", "centroid", "--dataset", "synthetic", "--quick",
                       "--results-dir", {str(tmp_path)!r}, "--run-id", "c"]))
        """
    )
    repo = PYPROJECT.parent
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=repo)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "c" / "summary.md").is_file()
