"""The package's shape, as issue 14 wants it: no import cycle among its modules (imports
under ``TYPE_CHECKING`` count), no module over 600 lines and ``core/store.py`` at most 410,
core naming no plugin, and tests that import helpers, not ``conftest``."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "gitblobts"
TESTS = ROOT / "tests"
MAX_LINES = 600
MAX_STORE_LINES = 410


def module_name(path: Path) -> str:
    """``gitblobts/core/store.py`` -> ``gitblobts.core.store``; a package by its folder."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(source: str, package: str) -> Iterator[str]:
    """Every module ``source`` (a module of ``package``) imports, anywhere in it (functions
    and ``TYPE_CHECKING`` blocks too), as absolute names; ``from a import b`` names both
    ``a`` and ``a.b``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def imported(path: Path) -> Iterator[str]:
    """Every module the package's module at ``path`` imports (see :func:`imports_of`)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_of(path.read_text(), package)


def import_graph() -> dict[str, set[str]]:
    """Each of the package's modules, and which of the package's modules it imports."""
    return {
        name: {other for other in imported(path) if other in MODULES and other != name}
        for name, path in MODULES.items()
    }


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The graph's strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_cycles_finds_a_cycle_through_a_package_and_its_module() -> None:
    graph = {"p": {"p.a"}, "p.a": {"p.b"}, "p.b": {"p"}, "q": {"p"}}

    assert cycles(graph) == [["p", "p.a", "p.b"]]


def test_imports_under_type_checking_in_functions_and_relative_ones_count() -> None:
    source = """
from typing import TYPE_CHECKING
if TYPE_CHECKING:
    from ..core import errors
def run() -> None:
    from . import parser
"""

    names = set(imports_of(source, "gitblobts.cli"))

    assert {"gitblobts.core.errors", "gitblobts.cli.parser"} <= names


def part_of(name: str) -> str:
    """The subpackage ``name`` belongs to (``gitblobts.core``), or ``gitblobts``."""
    part = ".".join(name.split(".")[:2])
    return part if part in MODULES and MODULES[part].name == "__init__.py" else "gitblobts"


PARTS = sorted({part_of(name) for name in MODULES})


@pytest.mark.parametrize("part", PARTS)
def test_no_import_cycle_goes_through_the_part(part: str) -> None:
    through = [
        cycle for cycle in cycles(import_graph()) if any(part_of(name) == part for name in cycle)
    ]

    assert through == []


def lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def test_core_store_is_at_most_410_lines() -> None:
    assert lines(PACKAGE / "core" / "store.py") <= MAX_STORE_LINES


@pytest.mark.parametrize(
    "path",
    list(MODULES.values()),
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_no_module_is_over_600_lines(path: Path) -> None:
    assert lines(path) <= MAX_LINES


def test_core_imports_no_plugin_by_name() -> None:
    named = {
        f"{module_name(path)} imports {other}"
        for path in sorted((PACKAGE / "core").rglob("*.py"))
        for other in imported(path)
        if other == "gitblobts.plugins" or other.startswith("gitblobts.plugins.")
    }

    assert named == set()


def test_no_test_imports_from_conftest() -> None:
    importing = {
        str(path.relative_to(ROOT))
        for path in sorted(TESTS.rglob("*.py"))
        for name in imports_of(path.read_text(), module_name(path).rpartition(".")[0])
        if "conftest" in name.split(".")
    }

    assert importing == set()
