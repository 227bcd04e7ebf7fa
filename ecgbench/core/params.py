"""Parameter schemas: the type and range of every number (and flag, name, list) a suite or the command line sets.

A :class:`Param` sits next to its default: a model's ``default_params`` may hold ``Param(default, ...)`` entries
(``Model`` keeps the plain defaults in ``default_params`` and the schema in ``param_schema``), a dataset loader
passes ``params={...}`` to ``register_dataset`` (the defaults come from the loader's signature), and the suite's
``[split]`` table is :data:`ecgbench.run.suite.SPLIT_PARAMS`. The type comes from ``kind`` or else from the default:

- ``"int"``: an integer, strictly (not ``3.0``, not ``true``); ``"float"``: a finite number (integers too);
- ``"bool"``: ``true`` or ``false``, strictly (not 0 or 1); ``"str"``: a string;
- ``"list"``: a list (each item checked by ``items``, itself a Param, where given).

``low``/``high`` bound it inclusively, ``above``/``below`` strictly; ``choices`` lists the allowed values; a list
may need ``min_items`` items and ``unique`` ones (no value twice);
``optional`` lets ``None`` through (a default that TOML cannot spell); ``check`` is a last ``value -> problem or
None`` for what the rest cannot say. ``search=(low, high)`` (with ``log=True`` for a log scale) or
``search_choices=(...)`` declare the range ``python -m ecgbench tune`` searches (:mod:`ecgbench.tuning`); a
parameter without either keeps its value during tuning. :func:`check_params` refuses, in one line, the first
value that does not fit::

    model 'cnn': epochs = -5: must be an integer >= 1
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from ecgbench.core.errors import EcgbenchError

KINDS = ("int", "float", "bool", "str", "list")


@dataclass(frozen=True)
class Param:
    default: object = None
    low: float | None = None  # value >= low
    high: float | None = None  # value <= high
    above: float | None = None  # value > above
    below: float | None = None  # value < below
    choices: tuple | None = None
    kind: str | None = None  # one of KINDS; None: the default's type
    optional: bool = False  # None is allowed
    items: Param | None = None  # for lists: what each item must be
    unique: bool = False  # for lists: no value twice (12 and 12.0 are one value)
    min_items: int | None = None  # for lists: at least this many items
    check: Callable[[object], str | None] | None = None  # a further problem, or None
    search: tuple | None = None  # (low, high): the range `tune` searches, of the Param's kind (int or float)
    log: bool = False  # search on a log scale
    search_choices: tuple | None = None  # or: the values `tune` chooses among

    def __post_init__(self):
        if self.resolved_kind() not in (*KINDS, None):
            raise ValueError(f"Param kind must be one of {KINDS}, got {self.kind!r}")
        if self.search is not None and self.search_choices is not None:
            raise ValueError("give a Param search=(low, high) or search_choices=(...), not both")
        searched = tuple(self.search) if self.search is not None else tuple(self.search_choices or ())
        if self.search is not None and (
            len(searched) != 2
            or self.resolved_kind() not in ("int", "float")
            or not searched[0] < searched[1]
            or (self.log and searched[0] <= 0)
        ):
            raise ValueError(
                f"Param search must be (low, high) with low < high for an int or float "
                f"(and low > 0 with log), got {self.search!r}"
            )
        bad = [v for v in searched if self.problem(v)]
        if bad:
            raise ValueError(f"Param search range or choices {bad} outside the parameter's own range")

    @property
    def searched(self) -> bool:
        """Whether `tune` searches this parameter."""
        return self.search is not None or self.search_choices is not None

    def resolved_kind(self) -> str | None:
        return self.kind or kind_of(self.default)

    def describe(self) -> str:
        """What the value must be, as the end of 'must be ...'."""
        kind = self.resolved_kind()
        if self.choices is not None:
            text = "one of " + ", ".join(map(show, self.choices))
        else:
            text = {
                "int": "an integer",
                "float": "a number",
                "bool": "true or false",
                "str": "a string",
                "list": "a list",
                None: "any value",
            }[kind]
            bounds = [
                f"{op} {show(bound)}"
                for op, bound in ((">=", self.low), (">", self.above), ("<=", self.high), ("<", self.below))
                if bound is not None
            ]
            text += " " + " and ".join(bounds) if bounds else ""
        if kind == "list" and self.min_items:
            text = text.replace("a list", f"a list of at least {self.min_items} item{'s' * (self.min_items > 1)}", 1)
        if kind == "list" and self.items is not None:
            text += ", each " + self.items.describe()
        if kind == "list" and self.unique:
            text += ", no value twice"
        return text + (" (or left out)" if self.optional else "")

    def problem(self, value) -> str | None:
        """None where ``value`` fits, else 'must be ...'."""
        if value is None and self.optional:
            return None
        if not self._fits(value):
            return f"must be {self.describe()}"
        return self.check(value) if self.check else None

    def _fits(self, value) -> bool:
        kind = self.resolved_kind()
        if kind is not None and not is_kind(value, kind):
            return False
        if self.choices is not None and value not in self.choices:
            return False
        if kind == "list" and self.items is not None and any(self.items.problem(v) for v in value):
            return False
        if kind == "list" and self.min_items is not None and len(value) < self.min_items:
            return False
        if kind == "list" and self.unique and _has_repeats(value):
            return False
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return (
                (self.low is None or value >= self.low)
                and (self.high is None or value <= self.high)
                and (self.above is None or value > self.above)
                and (self.below is None or value < self.below)
            )
        return True


def _has_repeats(values) -> bool:
    """Whether a value comes twice: == on numbers (12 and 12.0 are one SNR), but a bool never equals a number."""
    seen: list = []
    for value in values:
        if any(value == other and isinstance(value, bool) == isinstance(other, bool) for other in seen):
            return True
        seen.append(value)
    return False


def kind_of(default) -> str | None:
    for kind, types in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", (list, tuple))):
        if isinstance(default, types):
            return kind
    return None


def is_kind(value, kind: str) -> bool:
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if kind == "str":
        return isinstance(value, str)
    return isinstance(value, (list, tuple))


def show(value) -> str:
    """A value as a suite file spells it (``"holdout"``, ``true``, ``[1, 2]``)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def check_params(schema: dict[str, Param], params: dict, where: str) -> None:
    """Refuse the first of ``params`` that its ``schema`` entry refuses; names without one are not checked.
    ``where`` starts the message: ``model 'cnn'``, or a table such as ``suite file x.toml: [model_params.cnn]``."""
    for name, value in params.items():
        problem = schema[name].problem(value) if name in schema else None
        if problem:
            raise EcgbenchError(f"{where}{' ' if where.endswith(']') else ': '}{name} = {show(value)}: {problem}")


def split_schema(declared: dict) -> tuple[dict, dict[str, Param]]:
    """``(defaults, schema)`` of a dict whose values are defaults or :class:`Param` entries."""
    defaults = {k: v.default if isinstance(v, Param) else v for k, v in declared.items()}
    return defaults, {k: v for k, v in declared.items() if isinstance(v, Param)}


def typed_by_default(defaults: dict) -> dict[str, Param]:
    """The schema of undeclared parameters: the type of the default alone (any value where it is None)."""
    return {name: Param(default) for name, default in defaults.items()}
