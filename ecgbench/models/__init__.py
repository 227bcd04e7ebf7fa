"""The model registry: in-tree models join with ``@register``, external packages through the entry-point group
``ecgbench.models`` (the entry point names a module or a :class:`Model` subclass; importing it is enough).

    from ecgbench.models import Model, register

    @register("my-model")
    class MyModel(Model):
        default_params = {"C": 1.0}
        def fit(self, X, y, X_val, y_val): ...
        def predict_proba(self, X): ...
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

from ecgbench.errors import EcgbenchError
from ecgbench.models.base import Model

__all__ = ["Model", "register", "build", "model_class", "model_names", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "ecgbench.models"
BUILTIN_MODULES = ("ecgbench.models.features", "ecgbench.models.rocket", "ecgbench.models.deep")

log = logging.getLogger("ecgbench")
_MODELS: dict[str, type[Model]] = {}
_ORIGINS: dict[str, str] = {}
_loaded = False


def register(name: str):
    """Class decorator: add a :class:`Model` subclass to the registry under ``name``."""

    def decorate(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"@register({name!r}) expects a subclass of ecgbench.models.Model")
        cls.name = name
        _MODELS[name] = cls
        _ORIGINS.setdefault(name, cls.__module__)
        return cls

    return decorate


def _load_all():
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the whole suite down
            log.warning("plugin %r (%s) could not be loaded: %s", ep.name, ep.value, exc)
            continue
        if isinstance(obj, type) and issubclass(obj, Model) and ep.name not in _MODELS:
            register(ep.name)(obj)
        if ep.name in _MODELS:
            _ORIGINS[ep.name] = f"plugin {ep.dist.name if ep.dist else ep.value}"


def model_names() -> list[str]:
    """Built-in models in the order of ``BUILTIN_MODULES``, then plugins; the same whatever was imported first."""
    _load_all()
    rank = {module: i for i, module in enumerate(BUILTIN_MODULES)}
    return sorted(_MODELS, key=lambda name: rank.get(_MODELS[name].__module__, len(rank)))


def model_origin(name: str) -> str:
    _load_all()
    return "built-in" if _ORIGINS[name].startswith("ecgbench.") else _ORIGINS[name]


def model_class(name: str) -> type[Model]:
    _load_all()
    if name not in _MODELS:
        raise EcgbenchError(f"unknown model {name!r}; known models: {', '.join(model_names())}")
    return _MODELS[name]


def build(name: str, n_classes: int, seed: int = 0, **params) -> Model:
    """Instantiate a registered model with its defaults overridden by ``params``."""
    return model_class(name)(n_classes=n_classes, seed=seed, **params)
