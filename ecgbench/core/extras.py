"""Soft dependencies: the heavy libraries that only some models and commands need. Each comes with an extra of
the ecgbench-suite package (pyproject.toml), so that the harness and a scikit-learn model install small, and a
missing one is named in one line with the extra that brings it."""

from __future__ import annotations

import importlib
import importlib.util
import types

from ecgbench.core.errors import EcgbenchError

DISTRIBUTION = "ecgbench-suite"
# The import name of each soft dependency -> the extra that installs it (pyproject.toml keeps the same list).
EXTRAS = {
    "tensorflow": "deep",
    "tsfresh": "classical",
    "sktime": "classical",
    "xgboost": "classical",
    "dask": "cluster",
    "distributed": "cluster",
    "cryptography": "cluster",
    "dask_jobqueue": "cluster",
    "optuna": "tune",
}


def installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (a module set to None in sys.modules cannot)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or a module without a spec
        return False


def missing_message(module: str, needed_by: str) -> str:
    """The one line for a soft dependency that is not installed."""
    extra = EXTRAS.get(module)
    how = f"pip install '{DISTRIBUTION}[{extra}]'" if extra else f"pip install {module}"
    return f"{needed_by} needs {module}, which is not installed: {how}"


def first_missing(modules, needed_by: str) -> str | None:
    """The line for the first of ``modules`` that is not installed; None when all are."""
    for module in modules:
        if not installed(module):
            return missing_message(module, needed_by)
    return None


def soft_dependency(module: str, needed_by: str) -> types.ModuleType:
    """Import ``module``, or stop with the one line that names the extra to install."""
    if not installed(module):
        raise EcgbenchError(missing_message(module, needed_by))
    return importlib.import_module(module)
