"""Deprecated alias of :mod:`gitblobts.core.formats.v1.migrating`."""

import warnings

from gitblobts._moved import forward
from gitblobts.core.formats.v1 import migrating as _new

warnings.warn(f"{__name__} moved to {_new.__name__}", DeprecationWarning, stacklevel=2)
__getattr__ = forward(_new)
