"""The package layout: no import cycle anywhere in ``symderive/``.

Imports inside functions count too: a lazy import that closes a cycle is still a cycle,
only hidden until the function runs.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

import symderive

ROOT = Path(symderive.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph() -> dict[str, set[str]]:
    """module -> the symderive modules it imports (statically, at any depth)."""
    files = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                if t in files and t != name:
                    graph[name].add(t)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, as the list of modules along it, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str] | None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    graph["symderive.check.verdict"].add("symderive.check.dispatch")
    cycle = find_cycle(graph)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"symderive.check.verdict", "symderive.check.dispatch"} <= set(cycle)


def test_the_graph_sees_lazy_and_relative_imports():
    graph = import_graph()
    assert "symderive.check.prove" in graph["symderive.check.equality"]
    assert "symderive.latex.cli" in graph["symderive.cli"]


def test_the_session_cache_is_a_temporary_folder(isolated_cache):
    from symderive.config import cache_dir

    assert cache_dir() == isolated_cache
    assert os.environ["SYMDERIVE_CACHE"] == str(isolated_cache)
    assert "pytest" in str(isolated_cache)


def test_every_subpackage_is_installed_by_pip_install_dot():
    """``pip install .`` (not editable) ships only the packages pyproject.toml lists: a
    subpackage left out imports fine from a checkout and fails once installed
    (``symderive.check.allsizes`` and ``symderive.repair`` once were)."""
    import tomllib

    pyproject = ROOT.parent / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("pyproject.toml is not beside the package: this is an installed copy")
    listed = set(tomllib.loads(pyproject.read_text())["tool"]["setuptools"]["packages"])
    found = {_module_name(p) for p in ROOT.rglob("__init__.py")}
    assert found - listed == set(), "subpackages missing from pyproject.toml's packages"
