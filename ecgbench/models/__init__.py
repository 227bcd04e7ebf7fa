"""The model registry: in-tree models join with ``@register`` in any module of this package (a module that calls
``register`` is found and imported when the registry is first read: no list to edit), external packages through the
entry-point group ``ecgbench.models`` (the entry point names a module or a :class:`Model` subclass; importing it is
enough).

    from ecgbench.models import Model, register

    @register("my-model")
    class MyModel(Model):
        default_params = {"C": 1.0}
        def _fit(self, X, y, X_val, y_val): ...  # Model.fit validates the input, then calls it
        def _predict_proba(self, X): ...        # Model.predict_proba validates, calls it, checks the output
"""

from __future__ import annotations

import functools
import importlib
import logging
import types
from importlib.metadata import entry_points

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.registry import (
    Registry,
    describe_plugin,
    entry_point_info,
    listing_rank,
    registering_modules,
)
from ecgbench.models.base import Model

__all__ = [
    "Model",
    "MODELS",
    "register",
    "build",
    "model_class",
    "model_names",
    "model_origin",
    "model_plugin",
    "ENTRY_POINT_GROUP",
]

ENTRY_POINT_GROUP = "ecgbench.models"

log = logging.getLogger(__name__)
_ORIGINS: dict[str, str] = {}
# The models that entry points brought in: name -> {"distribution", "version", "entry_point"}.
_PLUGINS: dict[str, dict] = {}


@functools.cache
def builtin_modules() -> list[str]:
    """The modules of this package that register models (they call ``register``), by name."""
    return registering_modules(__name__, "register")


def _load_builtin_models():
    """Import the built-in models, then every entry point of the group.

    A name that is already taken (by a built-in model or by another plugin) is refused: the built-in would win
    silently and ``--model NAME`` would not run what the plugin's author meant. An entry point that cannot be
    imported, or that names neither a Model subclass nor a module that registers one, is warned about by name and
    skipped, so that one broken plugin does not take the whole suite down.
    """
    for module in builtin_modules():
        importlib.import_module(module)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        info = entry_point_info(ep)
        before = set(MODELS._entries)
        try:
            obj = ep.load()
        except EcgbenchError as exc:  # a module whose @register takes a name already registered
            raise EcgbenchError(
                f"plugin {describe_plugin(info)}: entry point {ep.name!r} could not be registered: {exc}"
            ) from None
        except Exception as exc:  # a broken plugin must not take the whole suite down
            log.warning(
                "plugin %r (%s, from %s) could not be loaded, skipped: %s: %s",
                ep.name,
                ep.value,
                describe_plugin(info),
                type(exc).__name__,
                exc,
            )
            continue
        if isinstance(obj, type) and issubclass(obj, Model):
            taken = MODELS._entries.get(ep.name)
            if taken is not None and taken is not obj:
                origin = _ORIGINS.get(ep.name, taken.__module__)
                owner = (
                    f"plugin {describe_plugin(_PLUGINS[ep.name])}"
                    if ep.name in _PLUGINS
                    else f"a built-in model ({origin})"
                    if origin.startswith("ecgbench.")
                    else f"the model registered by module {origin}"
                )
                raise EcgbenchError(
                    f"plugin {describe_plugin(info)}: its entry point {ep.name!r} takes the name of "
                    f"{owner}; rename the entry point or uninstall the plugin"
                )
            if taken is obj and ep.name not in _PLUGINS:  # an entry point to a built-in model: it stays built-in
                continue
            if taken is None:
                register(ep.name)(obj)
            names = [ep.name]
        elif isinstance(obj, types.ModuleType):  # a module whose import registered its models with @register
            # what its import registered, or, imported before, what its classes registered then
            names = sorted(
                name
                for name, cls in MODELS._entries.items()
                if (name not in before or cls.__module__ == obj.__name__) and not cls.__module__.startswith("ecgbench.")
            )
            if not names:
                log.warning(
                    "plugin %r (%s, from %s) registers no model, skipped: the module defines no "
                    "@register'ed Model subclass",
                    ep.name,
                    ep.value,
                    describe_plugin(info),
                )
                continue
        else:
            log.warning(
                "plugin %r (%s, from %s) is not a subclass of ecgbench.models.Model (it is %s), skipped",
                ep.name,
                ep.value,
                describe_plugin(info),
                _what(obj),
            )
            continue
        for name in names:
            _PLUGINS[name] = info
            _ORIGINS[name] = f"plugin {describe_plugin(info)}"


def _what(obj) -> str:
    if isinstance(obj, type):
        return f"the class {obj.__module__}.{obj.__qualname__}"
    return f"{type(obj).__name__} {obj!r}"[:80]


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
    """Built-in models in their modules' listing order (:func:`ecgbench.core.registry.listing_rank`; in a module, in
    the order it registers them), then plugins; the same whatever was imported first."""
    names = MODELS.names()  # imports the modules, whose LISTED_AT the rank reads
    rank = listing_rank(builtin_modules())
    return sorted(names, key=lambda name: rank.get(MODELS.get(name).__module__, len(rank)))


def model_origin(name: str) -> str:
    """``built-in``, ``plugin DISTRIBUTION VERSION`` (an entry point), or the module that registered the model."""
    MODELS.get(name)
    return "built-in" if _ORIGINS[name].startswith("ecgbench.") else _ORIGINS[name]


def model_plugin(name: str) -> dict | None:
    """Where a model that an entry point brought in comes from: ``{"distribution", "version", "entry_point"}``;
    None for a built-in model or one registered with ``@register`` outside an entry point."""
    MODELS.get(name)
    return dict(_PLUGINS[name]) if name in _PLUGINS else None


def model_class(name: str) -> type[Model]:
    return MODELS.get(name)


def build(name: str, n_classes: int, seed: int = 0, **params) -> Model:
    """Instantiate a registered model with its defaults overridden by ``params``."""
    return model_class(name)(n_classes=n_classes, seed=seed, **params)


def plugin_record(names) -> dict:
    """What a run's manifest records of the models ``names`` that do not come with ecgbench: per model its
    distribution, version and entry point (a model registered with ``@register`` outside an entry point: its
    module, no distribution). Built-in models are left out: ecgbench's own version and commit cover them."""
    record = {}
    for name in names:
        if model_origin(name) == "built-in":
            continue
        record[name] = model_plugin(name) or {
            "distribution": None,
            "version": None,
            "module": model_class(name).__module__,
        }
    return record


def check_plugins_unchanged(recorded: dict | None, names, where: str) -> None:
    """Refuse to resume a run (``where``) whose plugin models now come from another distribution or version than
    the run was started with (``recorded``: its manifest's ``plugins``; None in runs that predate the record).
    Finished cells would otherwise stand beside cells of another model under the same name."""
    if recorded is None:
        return
    now = plugin_record(names)
    for name in names:
        before, after = recorded.get(name), now.get(name)
        key = ("distribution", "version")
        if (before and {k: before.get(k) for k in key}) != (after and {k: after.get(k) for k in key}):
            raise EcgbenchError(
                f"{where}: model {name!r} was run from {_source(before)} and now comes from {_source(after)}; "
                "resuming would mix two versions of it in one run: install the version the run started with, or "
                "choose another --run-id"
            )


def _source(info: dict | None) -> str:
    if info is None:
        return "ecgbench (built-in)"
    if info.get("distribution"):
        return f"plugin {info['distribution']} {info['version']}"
    return f"module {info.get('module') or info.get('entry_point')} (no distribution)"
