"""A family's search space: the parameters of its schema declared with ``search=`` or ``search_choices=``
(``ecgbench.core.params``), how a study's manifest describes them, and how a trial draws them."""

from __future__ import annotations

from ecgbench.core.errors import EcgbenchError
from ecgbench.core.params import Param, show


def search_space(model_name: str) -> dict[str, Param]:
    """The searched parameters of a model (empty where it declares none)."""
    from ecgbench.models import model_class

    return {name: p for name, p in model_class(model_name).schema().items() if p.searched}


def describe_space(param: Param) -> str:
    if param.search_choices is not None:
        return "one of " + ", ".join(map(show, param.search_choices))
    low, high = param.search
    return f"{param.resolved_kind()} in [{show(low)}, {show(high)}]" + (", log scale" if param.log else "")


def suggest(trial, name: str, param: Param):
    if param.search_choices is not None:
        return trial.suggest_categorical(name, list(param.search_choices))
    low, high = param.search
    if param.resolved_kind() == "int":
        return trial.suggest_int(name, int(low), int(high), log=param.log)
    return trial.suggest_float(name, float(low), float(high), log=param.log)


def require_spaces(models: list[str]) -> None:
    from ecgbench.models import model_class

    for name in models:
        model_class(name)  # an unknown model is refused by name here
        if not search_space(name):
            raise EcgbenchError(
                f"model {name!r} declares no search space (no Param with search= or "
                "search_choices= in its default_params), so tune cannot give it a budget; declare "
                "one (docs/tuning.md) or leave it out of the suite"
            )


def declared_spaces(models: list[str]) -> dict[str, dict[str, str]]:
    """Each model's searched parameters as described in a study's manifest: what a resumed study and a worker from
    another checkout are checked against."""
    return {m: {n: describe_space(p) for n, p in search_space(m).items()} for m in models}
