"""An external package joins through the entry-point group ``ecgbench.models`` without touching ecgbench.

The test writes a tiny installed-package layout (a module plus its ``.dist-info`` with ``entry_points.txt``, what
pip would write) into a temporary folder and puts that folder on PYTHONPATH of a fresh interpreter.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import write_plugin

PLUGIN = '''
import numpy as np
from ecgbench.models import Model


class NearestCentroid(Model):
    """Assigns each beat to the class with the nearest mean beat (an external plugin for the tests)."""

    description = "nearest class centroid (test plugin)"
    default_params = {"temperature": 0.05}

    def fit(self, X, y, X_val, y_val):
        self.centroids = np.stack([X[y == c].mean(axis=0) if np.any(y == c) else np.full(X.shape[1], np.inf)
                                   for c in range(self.n_classes)])
        return self

    def predict_proba(self, X):
        distances = np.sqrt(((X[:, None, :] - self.centroids[None]) ** 2).mean(axis=2))
        logits = -np.nan_to_num(distances, posinf=1e6) / self.params["temperature"]
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)
'''


@pytest.fixture
def plugin_path(tmp_path):
    return write_plugin(tmp_path, "centroid_plugin", PLUGIN, "nearest-centroid = centroid_plugin:NearestCentroid")


def ecgbench(args, plugin_path, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(plugin_path), os.environ.get("PYTHONPATH", "")])}
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
        print(round(check_model("nearest-centroid")["accuracy"], 3))
    """)
    env = {**os.environ, "PYTHONPATH": str(plugin_path)}
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert float(done.stdout) > 0.5


def test_a_broken_plugin_is_reported_and_the_rest_still_works(plugin_path, tmp_path):
    (plugin_path / "centroid_plugin-0.1.dist-info" / "entry_points.txt").write_text(
        "[ecgbench.models]\nbroken = no_such_module:Model\n")
    result = ecgbench(["list"], plugin_path, tmp_path)
    assert result.returncode == 0
    assert "plugin 'broken' (no_such_module:Model) could not be loaded" in result.stderr
    assert "minirocket" in result.stdout
