"""The package's layers (docs/architecture.md): a module imports only from its own layer or the ones below it, and
no two modules import each other, directly or around a longer loop. Imports inside functions count too: a deferred
import hides a cycle, it does not remove it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ecgbench"

# lowest first; a module may import from its own layer and every layer before it
LAYERS = ["core", "data", "models", "run", "reports", "tuning", "delivery", "workflow", "cli"]


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imported(path: Path, known: set[str]) -> set[str]:
    """The ecgbench modules a file imports, anywhere in it (``from ecgbench.x import y`` counts module ``x.y`` where
    that is a module, else ``x``)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in known else node.module)
    return {name for name in found if name in known}


def layer(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "core"  # ecgbench/__init__.py: the version
    if parts[1] == "__main__":
        return "cli"
    return parts[1]


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imported(path, set(known)) - {name} for name, path in known.items()}


def test_every_module_sits_in_a_known_layer():
    assert {layer(m) for m in modules()} <= set(LAYERS)


@pytest.mark.parametrize("module", sorted(modules()))
def test_imports_go_down_the_layers(module):
    known = modules()
    upward = sorted(
        target
        for target in imported(known[module], set(known)) - {module}  # its row of graph(), without parsing the rest
        if LAYERS.index(layer(target)) > LAYERS.index(layer(module)) and target != "ecgbench"
    )
    assert not upward, f"{module} ({layer(module)}) imports from a higher layer: {upward}"


def find_cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, as the modules around it, or None."""
    done: set[str] = set()
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        if node in stack:
            return stack[stack.index(node) :] + [node]
        if node in done:
            return None
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if cycle := visit(target):
                return cycle
        stack.pop()
        done.add(node)
        return None

    for module in sorted(edges):
        if cycle := visit(module):
            return cycle
    return None


def test_no_import_cycle():
    # a package imports its own modules (re-exports); that edge is not part of a cycle between concepts
    edges = {m: {t for t in targets if not t.startswith(m + ".")} for m, targets in graph().items()}
    cycle = find_cycle(edges)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_a_planted_cycle_is_found(tmp_path):
    """The checks are not vacuous: a deferred import that closes a loop is seen, and the loop is found."""
    (tmp_path / "a.py").write_text("from ecgbench.b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from ecgbench.c import y\n")
    (tmp_path / "c.py").write_text("import ecgbench.a\n")
    known = {"ecgbench.a", "ecgbench.b", "ecgbench.c"}
    edges = {f"ecgbench.{n}": imported(tmp_path / f"{n}.py", known) for n in "abc"}
    assert edges["ecgbench.b"] == {"ecgbench.c"}
    assert find_cycle(edges) == ["ecgbench.a", "ecgbench.b", "ecgbench.c", "ecgbench.a"]
    assert find_cycle({"ecgbench.a": {"ecgbench.b"}, "ecgbench.b": set()}) is None
