"""Core's implementation of every stage hook, registered as a plugin like any other.

Each produces the stage's result from what the store records (the blob's codec, cipher and
layout) and, when the pipeline asks (a plugin takes part in the stage), notes it in
``blob._produced``: the pipeline accepts from a hook call only the very object core
produced, so that plugins observe, annotate or refuse a stage but never change its bytes or
path (:mod:`gitblobts.core.hookspecs`). Registered last-called, so that plugins'
implementations run first and wrappers see core's result.
"""

from __future__ import annotations

from typing import TypeVar

from gitblobts.core.contexts import BlobContext
from gitblobts.core.hookspecs import hookimpl


class CoreStages:
    """Core's implementation of every stage."""

    @hookimpl(trylast=True)
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> bytes:
        return _produced(blob, data)

    @hookimpl(trylast=True)
    def gitblobts_compress(self, blob: BlobContext, data: bytes) -> bytes:
        return _produced(blob, blob.codec.encode(data))

    @hookimpl(trylast=True)
    def gitblobts_encrypt(self, blob: BlobContext, data: bytes) -> bytes:
        if blob.cipher is not None:
            data = blob.cipher.encrypt(data, blob.cipher_context)
        return _produced(blob, data)

    @hookimpl(trylast=True)
    def gitblobts_place(self, blob: BlobContext) -> str:
        path = blob.layout.path(blob.timestamp_ns, str(blob.name))
        return _produced(blob, f"{blob.root}/{path}" if blob.root else path)

    @hookimpl(trylast=True)
    def gitblobts_decrypt(self, blob: BlobContext, data: bytes) -> bytes:
        if blob.cipher is not None:
            data = blob.cipher.decrypt(data, blob.cipher_context)
        return _produced(blob, data)

    @hookimpl(trylast=True)
    def gitblobts_decompress(self, blob: BlobContext, data: bytes) -> bytes:
        return _produced(blob, blob.codec.decode(data, max_size=blob.max_size))

    @hookimpl(trylast=True)
    def gitblobts_decode(self, blob: BlobContext, data: bytes) -> bytes:
        return _produced(blob, data)


T = TypeVar("T")


def _produced(blob: BlobContext, result: T) -> T:
    """Note ``result`` on ``blob`` if the pipeline asked (``blob._produced`` is not None)."""
    if blob._produced is not None:
        blob._produced = result
    return result


CORE_STAGES = CoreStages()
"""The instance every plugin manager registers."""
