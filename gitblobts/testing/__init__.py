"""A conformance kit for plugin authors: pytest base classes that check a plugin's classes
against the contracts of :mod:`gitblobts.core`.

Subclass one per class you provide, in your own test file, and point it at your class::

    from gitblobts.testing import CodecContract

    class TestMyCodec(CodecContract):
        codec_class = MyCodec

pytest then runs every inherited test on it. The kit needs only pytest and hypothesis
(``pip install 'gitblobts[testing]'``); the backend contract needs the ``git`` command too.
Some contracts have class attributes to declare what your class does not promise, such as
``binds_context = False`` for a cipher that cannot authenticate the blob's identity.
"""

from __future__ import annotations

from gitblobts.testing.backend import BackendContract
from gitblobts.testing.cipher import CipherContract
from gitblobts.testing.codec import CodecContract
from gitblobts.testing.layout import LayoutContract
from gitblobts.testing.time_parser import TimeParserContract

__all__ = [
    "BackendContract",
    "CipherContract",
    "CodecContract",
    "LayoutContract",
    "TimeParserContract",
]
