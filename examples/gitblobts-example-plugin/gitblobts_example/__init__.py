"""An example gitblobts plugin: the ``deflate-raw`` codec and the ``daily`` layout.

This module is what the entry point names; gitblobts calls its hook implementations.
"""

from __future__ import annotations

from collections.abc import Callable

import gitblobts
from gitblobts.core.codec import Codec
from gitblobts.core.layout import Layout
from gitblobts_example.codec import DeflateRawCodec
from gitblobts_example.layout import DailyLayout

__all__ = ["DailyLayout", "DeflateRawCodec"]


@gitblobts.hookimpl
def gitblobts_register_codecs(register: Callable[[type[Codec]], None]) -> None:
    """Provide the ``deflate-raw`` codec."""
    register(DeflateRawCodec)


@gitblobts.hookimpl
def gitblobts_register_layouts(register: Callable[[type[Layout]], None]) -> None:
    """Provide the ``daily`` layout."""
    register(DailyLayout)
