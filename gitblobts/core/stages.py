"""Core's implementation of every stage hook, registered as a plugin like any other.

Each produces the stage's result from what the store records (the blob's codec, cipher and
layout) and notes it in ``blob._produced``: the pipeline accepts from a hook call only the
very object core produced, so that plugins observe, annotate or refuse a stage but never
change its bytes or path (:mod:`gitblobts.core.hookspecs`). Registered last-called, so that
plugins' implementations run first and wrappers see core's result.
"""

from __future__ import annotations

from gitblobts.core.contexts import BlobContext
from gitblobts.core.hookspecs import hookimpl


class CoreStages:
    """Core's implementation of every stage."""

    @hookimpl(trylast=True)
    def gitblobts_encode(self, blob: BlobContext, data: bytes) -> bytes:
        blob._produced = data
        return data

    @hookimpl(trylast=True)
    def gitblobts_compress(self, blob: BlobContext, data: bytes) -> bytes:
        blob._produced = compressed = blob.codec.encode(data)
        return compressed

    @hookimpl(trylast=True)
    def gitblobts_encrypt(self, blob: BlobContext, data: bytes) -> bytes:
        if blob.cipher is not None:
            data = blob.cipher.encrypt(data, blob.name.identity.encode("ascii"))
        blob._produced = data
        return data

    @hookimpl(trylast=True)
    def gitblobts_place(self, blob: BlobContext) -> str:
        blob._produced = path = blob.layout.path(blob.timestamp_ns, str(blob.name))
        return path

    @hookimpl(trylast=True)
    def gitblobts_decrypt(self, blob: BlobContext, data: bytes) -> bytes:
        if blob.cipher is not None:
            data = blob.cipher.decrypt(data, blob.name.identity.encode("ascii"))
        blob._produced = data
        return data

    @hookimpl(trylast=True)
    def gitblobts_decompress(self, blob: BlobContext, data: bytes) -> bytes:
        blob._produced = decoded = blob.codec.decode(data, max_size=blob.max_size)
        return decoded

    @hookimpl(trylast=True)
    def gitblobts_decode(self, blob: BlobContext, data: bytes) -> bytes:
        blob._produced = data
        return data


CORE_STAGES = CoreStages()
"""The instance every plugin manager registers."""
