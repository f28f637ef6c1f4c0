"""What the package's extras install is what their users need."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11 on

ROOT = Path(__file__).resolve().parents[2]


def _extras() -> dict[str, list[str]]:
    with open(ROOT / "pyproject.toml", "rb") as file:
        extras: dict[str, list[str]] = tomllib.load(file)["project"]["optional-dependencies"]
    return extras


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0] for requirement in requirements}


def test_the_docs_extra_installs_what_autodoc_of_the_testing_kit_imports() -> None:
    extras = _extras()

    assert "automodule:: gitblobts.testing" in (ROOT / "docs" / "plugins.rst").read_text()
    assert _names(extras["testing"]) <= _names(extras["docs"])
