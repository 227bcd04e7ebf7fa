"""An external package joins through the entry-point group ``ecgbench.models`` without touching ecgbench.

The test writes a tiny installed-package layout (a module plus its ``.dist-info`` with ``entry_points.txt``, what
pip would write) into a temporary folder and puts that folder on PYTHONPATH of a fresh interpreter.
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ecgbench as ecgbench_package
from tests import centroid_plugin
from tests.conftest import write_plugin

# read, never imported here: importing it would register its dataset in this process, and `run --all` in
# another test module would then run it too
TINY_DATASET_PLUGIN = Path(__file__).parent / "tiny_dataset_plugin.py"

pytestmark = pytest.mark.slow  # installs plugins and runs them in subprocesses


@pytest.fixture
def plugin_path(tmp_path):
    return write_plugin(
        tmp_path,
        "centroid_plugin",
        Path(centroid_plugin.__file__).read_text(),
        "nearest-centroid = centroid_plugin:NearestCentroid",
    )


def plugin_env(plugin_path) -> dict:
    """The environment of a fresh interpreter that finds the plugin and the ecgbench under test (this checkout's,
    not another one installed in the environment)."""
    checkout = Path(ecgbench_package.__file__).parents[1]
    path = [str(plugin_path), str(checkout), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def ecgbench(args, plugin_path, cwd):
    env = plugin_env(plugin_path)
    return subprocess.run(
        [sys.executable, "-m", "ecgbench", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=600
    )


def test_plugin_appears_in_list(plugin_path, tmp_path):
    result = ecgbench(["list"], plugin_path, tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "nearest-centroid" in line)
    assert "nearest class centroid (test plugin)" in line and line.endswith("[plugin centroid-plugin 0.1]")
    rocket = next(line for line in result.stdout.splitlines() if line.split()[0] == "rocket")
    assert rocket.endswith("[built-in]")


def one_line_refusal(result) -> str:
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr  # (progress lines may come before it)
    return errors[0]


@pytest.mark.parametrize("builtin", ["rocket", "cnn", "tsfresh-xgboost"])
def test_a_plugin_named_like_a_builtin_is_refused_naming_the_distribution_and_the_name(tmp_path, builtin):
    path = write_plugin(
        tmp_path,
        "centroid_plugin",
        Path(centroid_plugin.__file__).read_text(),
        f"{builtin} = centroid_plugin:NearestCentroid",
    )
    for args in (["list"], ["run", "--model", builtin, "--dataset", "synthetic", "--quick"]):
        line = one_line_refusal(ecgbench(args, path, tmp_path))
        assert "plugin centroid-plugin 0.1" in line and f"entry point {builtin!r}" in line, line
        assert "built-in model" in line, line
    assert not (tmp_path / "results").exists()


def test_two_plugins_with_one_name_are_refused_naming_both(tmp_path):
    source = Path(centroid_plugin.__file__).read_text()
    write_plugin(tmp_path, "centroid_plugin", source, "centroid = centroid_plugin:NearestCentroid")
    write_plugin(tmp_path, "other_centroid", source, "centroid = other_centroid:NearestCentroid", version="2.0")
    line = one_line_refusal(ecgbench(["list"], tmp_path, tmp_path))
    assert "'centroid'" in line and "centroid-plugin 0.1" in line and "other-centroid 2.0" in line, line


def test_a_plugin_module_that_registers_a_builtin_name_is_refused(tmp_path):
    source = Path(centroid_plugin.__file__).read_text() + (
        "\n\nfrom ecgbench.models import register\n\n\n@register('minirocket')\n"
        "class Impostor(NearestCentroid):\n    pass\n"
    )
    path = write_plugin(tmp_path, "centroid_plugin", source, "impostor = centroid_plugin")
    line = one_line_refusal(ecgbench(["list"], path, tmp_path))
    assert "plugin centroid-plugin 0.1" in line and "'minirocket' is registered twice" in line, line


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("numpy:ndarray", "is not a subclass of ecgbench.models.Model (it is the class numpy.ndarray)"),
        ("numpy:zeros", "is not a subclass of ecgbench.models.Model (it is"),
        ("centroid_plugin:np", "registers no model"),
        ("no_such_module:Model", "could not be loaded, skipped: ModuleNotFoundError"),
    ],
)
def test_an_entry_point_that_is_no_model_is_warned_about_by_name_and_skipped(plugin_path, tmp_path, target, says):
    (plugin_path / "centroid_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        f"[ecgbench.models]\nnot-a-model = {target}\nnearest-centroid = centroid_plugin:NearestCentroid\n"
    )
    result = ecgbench(["list"], plugin_path, tmp_path)
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "'not-a-model'" in line)
    assert f"({target}, from centroid-plugin 0.1)" in warning and says in warning, warning
    assert "not-a-model" not in result.stdout
    assert "nearest-centroid" in result.stdout and "minirocket" in result.stdout


def test_the_manifest_records_the_plugin_and_a_resume_with_another_version_is_refused(tmp_path):
    # Each version in a folder of its own, the run in a third (the working folder is on sys.path too).
    source = Path(centroid_plugin.__file__).read_text()
    original, upgraded, work = (tmp_path / "v0.1", tmp_path / "v0.2", tmp_path / "work")
    for folder in (original, upgraded, work):
        folder.mkdir()
    write_plugin(original, "centroid_plugin", source, "nearest-centroid = centroid_plugin:NearestCentroid")
    write_plugin(
        upgraded, "centroid_plugin", source, "nearest-centroid = centroid_plugin:NearestCentroid", version="0.2"
    )
    args = ["run", "--model", "nearest-centroid", "--dataset", "synthetic", "--quick", "--run-id", "v"]
    result = ecgbench(args, original, work)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((work / "results" / "v" / "manifest.json").read_text())
    assert manifest["plugins"] == {
        "nearest-centroid": {
            "distribution": "centroid-plugin",
            "version": "0.1",
            "entry_point": "nearest-centroid = centroid_plugin:NearestCentroid",
        }
    }
    line = one_line_refusal(ecgbench(args, upgraded, work))
    assert (
        "model 'nearest-centroid' was run from plugin centroid-plugin 0.1 and now comes from plugin "
        "centroid-plugin 0.2" in line
    ), line
    # a worker with the other version (run-cell, as a job array runs it) is refused a cell still to compute
    cell = ecgbench(["cells", "results/v", "--all"], original, work).stdout.split()[0]
    shutil.rmtree(work / "results" / "v" / "cells" / cell)
    line = one_line_refusal(ecgbench(["run-cell", "results/v", cell], upgraded, work))
    assert f"(cell {cell}): model 'nearest-centroid' was run from plugin centroid-plugin 0.1" in line, line
    # the same version resumes (nothing left to do)
    assert ecgbench(args, original, work).returncode == 0


def test_plugin_runs_and_passes_the_conformance_check(plugin_path, tmp_path):
    result = ecgbench(
        ["run", "--model", "nearest-centroid", "--dataset", "synthetic", "--quick", "--run-id", "p"],
        plugin_path,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    cell = tmp_path / "results" / "p" / "cells" / "synthetic" / "holdout" / "nearest-centroid" / "seed0"
    metrics = json.loads((cell / "metrics.json").read_text())
    assert metrics["f1_macro"] > metrics["baseline_f1_macro"]

    check = textwrap.dedent("""
        from ecgbench.models.check import check_model
        results = check_model("nearest-centroid")
        print(sum(r.passed for r in results), len(results))
    """)
    env = plugin_env(plugin_path)
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["17", "17"]


PLUGIN_TESTS = """
from ecgbench.models.check import parametrize_with_checks


@parametrize_with_checks(["nearest-centroid"])
def test_conformance(check):
    check()
"""


def test_a_plugin_runs_the_checks_in_its_own_tests(plugin_path, tmp_path):
    """The pytest helper of docs/adding-a-model.md, in a plugin's test file: one test per check, each named."""
    tests = tmp_path / "plugin_tests"
    tests.mkdir()
    (tests / "test_centroid.py").write_text(PLUGIN_TESTS)
    env = plugin_env(plugin_path)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tests), "-v", str(tests)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tests,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_conformance[nearest-centroid-predict_in_pieces] PASSED" in done.stdout
    assert "17 passed" in done.stdout


def test_a_broken_plugin_is_reported_and_the_rest_still_works(plugin_path, tmp_path):
    (plugin_path / "centroid_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[ecgbench.models]\nbroken = no_such_module:Model\n"
    )
    result = ecgbench(["list"], plugin_path, tmp_path)
    assert result.returncode == 0
    assert "plugin 'broken' (no_such_module:Model, from centroid-plugin 0.1) could not be loaded" in result.stderr
    assert "minirocket" in result.stdout


def test_a_resume_is_checked_against_every_used_models_recorded_origin():
    """In-process: what the manifest records per model, and each way a used model's origin can change."""
    from ecgbench.core.errors import EcgbenchError
    from ecgbench.models import check_plugins_unchanged, plugin_record

    assert plugin_record(["rocket", "cnn"]) == {}  # built-in models: ecgbench's own commit and version cover them
    check_plugins_unchanged(None, ["rocket"], "old-run")  # runs before the record: not checked
    check_plugins_unchanged({}, ["rocket"], "run")
    plugin = {"distribution": "my-models", "version": "1.0", "entry_point": "rocket = my_models:Rocket"}
    with pytest.raises(
        EcgbenchError,
        match="^run: model 'rocket' was run from plugin my-models 1.0 and now comes "
        r"from ecgbench \(built-in\); resuming would mix",
    ):
        check_plugins_unchanged({"rocket": plugin}, ["rocket"], "run")
    with pytest.raises(EcgbenchError, match="model 'cnn' was run from plugin my-models 1.0"):  # the first
        check_plugins_unchanged({"rocket": plugin, "cnn": plugin}, ["cnn", "rocket"], "run")
    # a recorded model the resumed suite no longer uses is not asked about (the suite fingerprint covers that)
    check_plugins_unchanged({"lstm-plugin": plugin}, ["rocket"], "run")


# -- built-in modules found by a rule; dataset plugins through the group ecgbench.datasets ------------------------
def test_the_modules_that_call_the_register_function_are_found_and_no_others(tmp_path, monkeypatch):
    from ecgbench.core.registry import registering_modules

    package = tmp_path / "fake_family"
    package.mkdir()
    (package / "__init__.py").write_text("def register(name): ...\n")
    (package / "a_models.py").write_text("@register('x')\nclass X: ...\n")
    (package / "b_helpers.py").write_text("MODELS.register('y', Y)\natexit_register(f)\n'''def register_all'''\n")
    (package / "c_tracks.py").write_text("for track in TRACKS:\n    register_dataset(track.name)(loader(track))\n")
    (package / "sub").mkdir()
    (package / "sub" / "__init__.py").write_text("@register('z')\nclass Z: ...\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert registering_modules("fake_family", "register") == ["fake_family.a_models"]
    assert registering_modules("fake_family", "register_dataset") == ["fake_family.c_tracks"]


def test_listing_the_registries_finds_every_built_in_module_without_importing_tensorflow():
    script = textwrap.dedent("""
        import sys
        import ecgbench.data as data, ecgbench.models as models
        names = models.model_names(), data.dataset_names()
        assert "tensorflow" not in sys.modules, "listing the models imported TensorFlow"
        assert sorted(models.builtin_modules()) == models.builtin_modules()
        for module in (*models.builtin_modules(), *data.builtin_modules()):
            assert module in sys.modules, module
        print(sorted({models.model_class(n).__module__ for n in names[0]}))
        print(sorted({data.dataset_spec(n).load.__module__ for n in names[1]}))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    from ecgbench.data import builtin_modules as dataset_modules
    from ecgbench.models import builtin_modules as model_modules

    # every discovered module registers something, and every built-in comes from a discovered module
    assert done.stdout.splitlines() == [str(model_modules()), str(dataset_modules())]
    assert "ecgbench.models.deep" in model_modules() and "ecgbench.data.mitdb" in dataset_modules()


@pytest.fixture
def dataset_plugin(tmp_path):
    return write_plugin(
        tmp_path,
        "tiny_datasets",
        TINY_DATASET_PLUGIN.read_text(),
        "tiny = tiny_datasets",
        group="ecgbench.datasets",
    )


def test_a_dataset_plugin_is_listed_and_runs(dataset_plugin, tmp_path):
    result = ecgbench(["list"], dataset_plugin, tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "tiny-levels" in line)
    assert "one level per class (test plugin)" in line and line.endswith("[plugin tiny-datasets 0.1]"), line
    synthetic = next(line for line in result.stdout.splitlines() if line.split() and line.split()[0] == "synthetic")
    assert "[plugin" not in synthetic
    args = ["run", "--model", "minirocket", "--dataset", "tiny-levels", "--quick", "--run-id", "t"]
    result = ecgbench(args, dataset_plugin, tmp_path)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((tmp_path / "results/t/cells/tiny-levels/holdout/minirocket/seed0/metrics.json").read_text())
    assert metrics["f1_macro"] > metrics["baseline_f1_macro"]


def test_a_dataset_plugin_named_like_a_builtin_is_refused_naming_both(tmp_path):
    source = TINY_DATASET_PLUGIN.read_text().replace('"tiny-levels",', '"synthetic",', 1)
    path = write_plugin(tmp_path, "tiny_datasets", source, "tiny = tiny_datasets", group="ecgbench.datasets")
    for args in (["list"], ["run", "--model", "rocket", "--dataset", "synthetic", "--quick"]):
        line = one_line_refusal(ecgbench(args, path, tmp_path))
        assert "plugin tiny-datasets 0.1: entry point 'tiny' could not be registered" in line, line
        assert "dataset 'synthetic' is registered twice: by ecgbench.data.synthetic and by tiny_datasets" in line
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("target", "says"),
    [("numpy", "registers no dataset, skipped"), ("no_such_module", "could not be loaded, skipped: ModuleNotFound")],
)
def test_a_dataset_entry_point_that_registers_nothing_is_warned_about_and_skipped(
    dataset_plugin, tmp_path, target, says
):
    (dataset_plugin / "tiny_datasets-0.1.dist-info" / "entry_points.txt").write_text(
        f"[ecgbench.datasets]\nnothing = {target}\ntiny = tiny_datasets\n"
    )
    result = ecgbench(["list"], dataset_plugin, tmp_path)
    assert result.returncode == 0, result.stderr
    warning = next(line for line in result.stderr.splitlines() if "'nothing'" in line)
    assert f"({target}, from tiny-datasets 0.1)" in warning and says in warning, warning
    assert "tiny-levels" in result.stdout and "synthetic" in result.stdout
