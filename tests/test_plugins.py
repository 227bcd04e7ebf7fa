"""An external package joins through the entry-point group ``ecgbench.models`` without touching ecgbench.

The test writes a tiny installed-package layout (a module plus its ``.dist-info`` with ``entry_points.txt``, what
pip would write) into a temporary folder and puts that folder on PYTHONPATH of a fresh interpreter.
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import ecgbench as ecgbench_package
from tests import centroid_plugin
from tests.conftest import write_plugin


@pytest.fixture
def plugin_path(tmp_path):
    return write_plugin(tmp_path, "centroid_plugin", Path(centroid_plugin.__file__).read_text(),
                        "nearest-centroid = centroid_plugin:NearestCentroid")


def plugin_env(plugin_path) -> dict:
    """The environment of a fresh interpreter that finds the plugin and the ecgbench under test (this checkout's,
    not another one installed in the environment)."""
    checkout = Path(ecgbench_package.__file__).parents[1]
    path = [str(plugin_path), str(checkout), os.environ.get("PYTHONPATH", "")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(path)}


def ecgbench(args, plugin_path, cwd):
    env = plugin_env(plugin_path)
    return subprocess.run([sys.executable, "-m", "ecgbench", *args], capture_output=True, text=True, env=env,
                          cwd=cwd, timeout=600)


def test_plugin_appears_in_list(plugin_path, tmp_path):
    result = ecgbench(["list"], plugin_path, tmp_path)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if "nearest-centroid" in line)
    assert "nearest class centroid (test plugin)" in line and "plugin centroid-plugin" in line


def test_plugin_runs_and_passes_the_conformance_check(plugin_path, tmp_path):
    result = ecgbench(["run", "--model", "nearest-centroid", "--dataset", "synthetic", "--quick", "--run-id", "p"],
                      plugin_path, tmp_path)
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
    assert done.stdout.split() == ["16", "16"]


PLUGIN_TESTS = '''
from ecgbench.models.check import parametrize_with_checks


@parametrize_with_checks(["nearest-centroid"])
def test_conformance(check):
    check()
'''


def test_a_plugin_runs_the_checks_in_its_own_tests(plugin_path, tmp_path):
    """The pytest helper of docs/adding-a-model.md, in a plugin's test file: one test per check, each named."""
    tests = tmp_path / "plugin_tests"
    tests.mkdir()
    (tests / "test_centroid.py").write_text(PLUGIN_TESTS)
    env = plugin_env(plugin_path)
    done = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--rootdir", str(tests),
                           "-v", str(tests)], capture_output=True, text=True, env=env, cwd=tests, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_conformance[nearest-centroid-predict_in_pieces] PASSED" in done.stdout
    assert "16 passed" in done.stdout


def test_a_broken_plugin_is_reported_and_the_rest_still_works(plugin_path, tmp_path):
    (plugin_path / "centroid_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[ecgbench.models]\nbroken = no_such_module:Model\n")
    result = ecgbench(["list"], plugin_path, tmp_path)
    assert result.returncode == 0
    assert "plugin 'broken' (no_such_module:Model) could not be loaded" in result.stderr
    assert "minirocket" in result.stdout
