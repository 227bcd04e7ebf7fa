"""The model registry: in-tree models join with ``@register``, external packages through the entry-point group
``ecgbench.models`` (the entry point names a module or a :class:`Model` subclass; importing it is enough).

    from ecgbench.models import Model, register

    @register("my-model")
    class MyModel(Model):
        default_params = {"C": 1.0}
        def _fit(self, X, y, X_val, y_val): ...  # Model.fit validates the input, then calls it
        def _predict_proba(self, X): ...        # Model.predict_proba validates, calls it, checks the output
"""

from __future__ import annotations

import importlib
import logging
from importlib.metadata import entry_points

from ecgbench.models.base import Model
from ecgbench.registry import Registry

__all__ = ["Model", "MODELS", "register", "build", "model_class", "model_names", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "ecgbench.models"
BUILTIN_MODULES = ("ecgbench.models.features", "ecgbench.models.rocket", "ecgbench.models.deep")

log = logging.getLogger(__name__)
_ORIGINS: dict[str, str] = {}


def _load_builtin_models():
    for module in BUILTIN_MODULES:
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not take the whole suite down
            log.warning("plugin %r (%s) could not be loaded: %s", ep.name, ep.value, exc)
            continue
        if isinstance(obj, type) and issubclass(obj, Model) and ep.name not in MODELS._entries:
            register(ep.name)(obj)
        if ep.name in MODELS._entries:
            _ORIGINS[ep.name] = f"plugin {ep.dist.name if ep.dist else ep.value}"


MODELS: Registry[type[Model]] = Registry("model", _load_builtin_models)


def register(name: str):
    """Class decorator: add a :class:`Model` subclass to the registry under ``name`` (a taken name is refused)."""

    def decorate(cls):
        if not (isinstance(cls, type) and issubclass(cls, Model)):
            raise TypeError(f"@register({name!r}) expects a subclass of ecgbench.models.Model")
        MODELS.register(name, cls)
        cls.name = name
        _ORIGINS.setdefault(name, cls.__module__)
        return cls

    return decorate


def model_names() -> list[str]:
    """Built-in models in the order of ``BUILTIN_MODULES``, then plugins; the same whatever was imported first."""
    rank = {module: i for i, module in enumerate(BUILTIN_MODULES)}
    return sorted(MODELS.names(), key=lambda name: rank.get(MODELS.get(name).__module__, len(rank)))


def model_origin(name: str) -> str:
    MODELS.get(name)
    return "built-in" if _ORIGINS[name].startswith("ecgbench.") else _ORIGINS[name]


def model_class(name: str) -> type[Model]:
    return MODELS.get(name)


def build(name: str, n_classes: int, seed: int = 0, **params) -> Model:
    """Instantiate a registered model with its defaults overridden by ``params``."""
    return model_class(name)(n_classes=n_classes, seed=seed, **params)
