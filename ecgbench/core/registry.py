"""One registry shape for everything found by name (models, datasets): ``register`` refuses a duplicate name,
``get`` names the known ones when a name is unknown. :func:`registering_modules` finds the built-in modules that
fill a registry, by a rule rather than a hand-kept list."""

from __future__ import annotations

import importlib.util
import pkgutil
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Generic, TypeVar

from ecgbench.core.errors import EcgbenchError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str, load_builtins: Callable[[], None] = lambda: None):
        self.kind = kind  # "model", "dataset": used in messages
        self._entries: dict[str, T] = {}
        self._load_builtins = load_builtins
        self._loading = False
        self._loaded = False

    def register(self, name: str, entry: T) -> T:
        if name in self._entries:
            raise EcgbenchError(f"{self.kind} {name!r} is registered twice ({self._entries[name]!r} and {entry!r})")
        self._entries[name] = entry
        return entry

    def remove(self, name: str) -> None:
        """Take ``name`` out again (tests that register a throw-away entry)."""
        self._entries.pop(name, None)

    def _ensure_loaded(self) -> None:
        # Importing the built-in modules runs their register calls; the flag guards against re-entry from them.
        if not self._loaded and not self._loading:
            self._loading = True
            try:
                self._load_builtins()
            finally:
                self._loading = False
            self._loaded = True

    def get(self, name: str) -> T:
        self._ensure_loaded()
        if name not in self._entries:
            raise EcgbenchError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(sorted(self._entries))}")
        return self._entries[name]

    def names(self) -> list[str]:
        self._ensure_loaded()
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())


def registering_modules(package: str, function: str) -> list[str]:
    """The modules of ``package`` (not of its subpackages) that call ``function`` by its bare name, as a decorator
    (``@register("rocket")``) or a plain call (``register_dataset(...)(load)``): the modules that register
    something. In the order of their names.

    The source is read, not imported, so that the package's other modules (saving, checks, downloads...) and what
    they import stay unloaded until something asks for them."""
    call = re.compile(rf"(?<![\w.]){re.escape(function)}\(")  # not registry.register(...), not other_register(...)
    folders = importlib.util.find_spec(package).submodule_search_locations
    found = []
    for module in pkgutil.iter_modules(folders):
        source = Path(module.module_finder.path) / f"{module.name}.py"
        if not module.ispkg and source.is_file() and call.search(source.read_text(encoding="utf-8")):
            found.append(f"{package}.{module.name}")
    return sorted(found)


def entry_point_info(entry_point) -> dict:
    """What a run records of a plugin: ``{"distribution", "version", "entry_point"}``."""
    dist = getattr(entry_point, "dist", None)
    return {
        "distribution": dist.name if dist else None,
        "version": dist.version if dist else None,
        "entry_point": f"{entry_point.name} = {entry_point.value}",
    }


def describe_plugin(info: dict) -> str:
    """``centroid-plugin 0.1``, or the entry point where no distribution is known."""
    if info["distribution"]:
        return f"{info['distribution']} {info['version']}"
    return f"entry point {info['entry_point']!r}"


def listing_rank(modules: list[str]) -> dict[str, int]:
    """Where ``list`` and ``run --all`` put each (imported) module's entries: by the module's ``LISTED_AT`` where
    it has one, the others after them by name. ``run --all`` records the models and datasets in this order, so a
    new order would change the fingerprint of every ``--all`` run made before it."""
    order = sorted(modules, key=lambda module: (getattr(sys.modules.get(module), "LISTED_AT", float("inf")), module))
    return {module: i for i, module in enumerate(order)}
