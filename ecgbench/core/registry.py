"""One registry shape for everything found by name (models, datasets): ``register`` refuses a duplicate name,
``get`` names the known ones when a name is unknown."""

from __future__ import annotations

from collections.abc import Callable, Iterator
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
            raise EcgbenchError(f"unknown {self.kind} {name!r}; known {self.kind}s: {', '.join(self._entries)}")
        return self._entries[name]

    def names(self) -> list[str]:
        self._ensure_loaded()
        return list(self._entries)

    def __contains__(self, name: str) -> bool:
        self._ensure_loaded()
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
