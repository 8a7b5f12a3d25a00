"""No two modules import each other, directly or around a loop, in the packages where
features and commands are wired (issue 13): app/window, app/document and engine/cli. Every
import counts, also one inside a function or under TYPE_CHECKING: a loop read by a person
is a loop whatever the interpreter does with it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.graph import strongly_connected

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("app/window", "app/document", "engine/cli")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``path`` imports (``from a import b`` counts as a.b
    when a.b is a module, else as a)."""
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (the engine's Tarjan,
    the one that names a network's cycles)."""
    nodes = sorted(graph)
    comps = strongly_connected(nodes, {k: sorted(v) for k, v in graph.items()})
    return sorted(sorted(c) for c in comps if len(c) > 1)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_loops(package):
    files = sorted((ROOT / package).rglob("*.py"))
    known = {module_name(p) for p in files}
    graph = {module_name(p): imports_of(p, known) for p in files}
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_loop():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_engine_never_imports_the_app():
    for path in sorted((ROOT / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n == "app" or n.startswith("app.") for n in names), path
