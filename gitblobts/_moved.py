"""Old module paths that still import: each forwards every name to the module it moved to."""

from collections.abc import Callable
from types import ModuleType
from typing import Any


def forward(module: ModuleType) -> Callable[[str], Any]:
    """A module ``__getattr__`` that looks every name up in ``module``."""

    def __getattr__(name: str) -> Any:  # noqa: N807 (a module's __getattr__ by contract)
        return getattr(module, name)

    return __getattr__
