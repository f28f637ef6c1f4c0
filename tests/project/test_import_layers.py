"""The bottom of the package's import graph: modules that others import, and that import
nothing back (an import cycle makes import order matter and hides the real dependencies)."""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path


def package_imports(module: str) -> set[str]:
    """The ``gitblobts`` modules ``module`` imports, under ``TYPE_CHECKING`` too."""
    spec = importlib.util.find_spec(module)
    assert spec is not None
    assert spec.origin is not None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "gitblobts"}


def test_errors_import_nothing_from_the_package() -> None:
    assert package_imports("gitblobts.core.errors") == set()


BOTTOM = ("blob", "errors", "naming", "formats.v1.names", "timestamps")


def test_blobs_errors_names_and_times_import_each_other_without_a_cycle() -> None:
    modules = {f"gitblobts.core.{name}" for name in BOTTOM}
    graph = {
        module: {
            imported if imported in modules else imported.rsplit(".", 1)[0]
            for imported in package_imports(module)
        }
        & modules
        for module in modules
    }
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, f"import cycle: {' -> '.join((*path, module))}"
        if module not in done:
            for imported in graph[module]:
                visit(imported, (*path, module))
            done.add(module)

    for module in sorted(modules):
        visit(module, ())
