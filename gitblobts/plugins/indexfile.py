"""Deprecated alias of :mod:`gitblobts.gitfiles.index`."""

import warnings

from gitblobts._moved import forward
from gitblobts.gitfiles import index as _new

warnings.warn(f"{__name__} moved to {_new.__name__}", DeprecationWarning, stacklevel=2)
__getattr__ = forward(_new)
